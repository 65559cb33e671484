"""S3 ListBuckets as AWS pages it: MaxBuckets, ContinuationToken, BucketRegion.

moto filters by `bucket-region` but cuts the list at `max-buckets` without a continuation token
(the rest is lost) and leaves `BucketRegion` out of each bucket. AWS answers at most MaxBuckets
buckets (1..10000) with a ContinuationToken for the rest, and each bucket with its BucketRegion
("ListBuckets", Amazon S3 API Reference,
https://docs.aws.amazon.com/AmazonS3/latest/API/API_ListBuckets.html).
"""

from __future__ import annotations

from typing import Any

from moto.core.responses import ActionResult

from auditor.sandbox.moto_ext.paging import page

_MAX_BUCKETS = 10000


def _bad_token(message: str) -> Exception:
    from moto.s3.exceptions import InvalidArgumentError

    return InvalidArgumentError(message, "continuation-token", "")


def all_buckets(self: Any) -> Any:
    """ListBuckets: the region's buckets (when asked), a page at a time."""
    self.data["Action"] = "ListAllMyBuckets"
    self._authenticate_and_authorize_s3_action()
    prefix = self._get_param("prefix")
    region = self._get_param("bucket-region")
    buckets = self.backend.list_buckets(prefix=prefix, bucket_region=region, max_buckets=None)
    chunk, token = page(
        sorted(buckets, key=lambda b: b.name),
        self._get_param("continuation-token"),
        self._get_param("max-buckets"),
        default=_MAX_BUCKETS,
        maximum=_MAX_BUCKETS,
        scope=f"{prefix}|{region}",
        bad_token=_bad_token,
    )
    body: dict[str, Any] = {
        "Owner": {"ID": "bcaf1ffd86f41161ca5fb16fd081034f", "DisplayName": "webfile"},
        "Buckets": [
            {
                "Name": b.name,
                "CreationDate": b.creation_date_ISO8601,
                "BucketRegion": b.region_name,
            }
            for b in chunk
        ],
    }
    if token:
        body["ContinuationToken"] = token
    if prefix:
        body["Prefix"] = prefix
    self.data["Action"] = "ListBuckets"
    return self.serialized(ActionResult(body))


def install() -> None:
    """Replace moto's ListBuckets handler (idempotent)."""
    from moto.s3.responses import S3Response

    S3Response.all_buckets = all_buckets  # type: ignore[method-assign]
