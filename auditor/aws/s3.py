"""S3: the region's buckets, their tags and whether versioning is on.

ListBuckets with `BucketRegion` lists only the buckets of the region asked, a page at a time
("ListBuckets", Amazon S3 API Reference,
https://docs.aws.amazon.com/AmazonS3/latest/API/API_ListBuckets.html). S3 has no bulk form of a
bucket's tags or versioning state: GetBucketTagging and GetBucketVersioning are one call each per
bucket (bounded: two calls a bucket, never more), made in spawned tasks of BUCKETS_PER_TASK buckets
that the pool runs in parallel.

Versioning matters for backup: "You must enable S3 Versioning on your S3 bucket to use AWS Backup
for Amazon S3" ("Amazon S3 backups", AWS Backup Developer Guide,
https://docs.aws.amazon.com/aws-backup/latest/devguide/s3-backups.html). GetBucketVersioning
answers `Status` Enabled or Suspended, and no `Status` at all for a bucket whose versioning was
never enabled ("GetBucketVersioning",
https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetBucketVersioning.html): the inventory keeps
Enabled, Suspended or Disabled. The buckets' backups are AWS Backup recovery points, which
aws/backup.py collects from the vaults.
"""

from __future__ import annotations

from typing import Any

from auditor.aws.context import GONE, Context, not_found

AFFECTS = ("s3-bucket",)
BUCKETS_PER_TASK = 25
# GetBucketTagging answers NoSuchTagSet for a bucket without tags ("GetBucketTagging",
# https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetBucketTagging.html); NoSuchBucket means
# the bucket was deleted after the listing.
_NO_TAGS = not_found("NoSuchTagSet", "NoSuchBucket")
_BUCKET_GONE = not_found("NoSuchBucket")
NEVER_VERSIONED = "Disabled"


def collect(ctx: Context) -> None:
    """The region's buckets; their tags and versioning in parallel pieces."""
    buckets = ctx.paginate(
        "s3", "list_buckets", "Buckets", affects=AFFECTS, BucketRegion=ctx.region
    )
    buckets = buckets or []
    for start in range(0, len(buckets), BUCKETS_PER_TASK):
        ctx.spawn(describe_buckets, buckets[start : start + BUCKETS_PER_TASK])


def describe_buckets(ctx: Context, buckets: list[dict[str, Any]]) -> None:
    """Tags and versioning of each bucket (one GetBucketTagging, one GetBucketVersioning each)."""
    for bucket in buckets:
        name = bucket["Name"]
        versioning = ctx.call(
            "s3", "get_bucket_versioning", affects=AFFECTS, gone=_BUCKET_GONE, Bucket=name
        )
        if versioning is GONE:
            continue
        tagging = ctx.call("s3", "get_bucket_tagging", affects=AFFECTS, gone=_NO_TAGS, Bucket=name)
        # S3 bucket ARNs carry neither region nor account ("Actions, resources, and condition keys
        # for Amazon S3", Service Authorization Reference).
        arn = f"arn:{ctx.partition}:s3:::{name}"
        tags = (tagging or {}).get("TagSet") if tagging is not GONE else None
        ctx.add(
            "resources",
            resource_type="s3-bucket",
            resource_arn=arn,
            resource_id=name,
            name=name,
            created_at=bucket.get("CreationDate"),
            size_basis="unknown",
            # Every bucket has had server-side encryption (SSE-S3 at least) by default since
            # 5 January 2023 ("Setting default server-side encryption behavior for Amazon S3
            # buckets", https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucket-encryption.html).
            encrypted=True,
            versioning=None if versioning is None else versioning.get("Status") or NEVER_VERSIONED,
        )
        ctx.add_tags(arn, tags)
