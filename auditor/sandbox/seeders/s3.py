"""S3 buckets, most with versioning on; their backups are AWS Backup recovery points only."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from auditor.sandbox.seeders.base import GIB, TypeSeeder, utc

if TYPE_CHECKING:
    from auditor.sandbox.seed import _Region


class S3Seeder(TypeSeeder):
    """Buckets named after their account and region (bucket names are global)."""

    type_id = "s3-bucket"
    base_count = 4
    deleted_divisor = 2
    backup_managed = True  # S3 backups are AWS Backup's own ("Feature availability by resource")
    always_encrypted = True  # every bucket is encrypted (SSE-S3 at least) since January 2023

    def create(self, reg: _Region, n: int, *, deleted: bool = False) -> None:
        """Create `n` buckets; about one in five has versioning off (never enabled or suspended)."""
        from moto.s3.models import s3_backends

        backend = s3_backends[reg.acct]["aws"]
        for i in range(n):
            name = f"{'old-' if deleted else ''}data-{reg.acct}-{reg.region}-{i:03d}"
            tags = reg.tags("s3", name)
            created = reg.created_at()
            size = int(math.exp(reg.rng.uniform(math.log(GIB), math.log(20 * 1024 * GIB))))
            roll = reg.rng.random()
            versioning = "Enabled" if roll < 0.8 else ("Suspended" if roll < 0.9 else "Disabled")
            if reg.index == 0 and i == 1 and not deleted:
                # one gold bucket that was never versioned: AWS Backup cannot back it up
                versioning = "Disabled"
                tags["backup"] = "gold"
            reg.add_resource(
                resource_type="s3-bucket",
                resource_arn=f"arn:aws:s3:::{name}",
                resource_id=name,
                name=name,
                tags=tags,
                created_at=created,
                size_bytes=None,  # ListBuckets reports no size (CloudWatch's BucketSizeBytes does)
                encrypted=True,
                deleted=deleted,
                versioning=versioning,
                used_bytes=size,  # what its backups hold
            )
            if deleted:
                continue
            bucket = backend.create_bucket(name, reg.region)
            bucket.creation_date = utc(created)
            if versioning != "Disabled":
                bucket.versioning_status = versioning
            if tags:
                backend.put_bucket_tagging(name, tags)

    def backup_possible(self, r: dict[str, Any]) -> bool:
        """AWS Backup backs up only buckets with versioning enabled ("Amazon S3 backups")."""
        return r.get("versioning") == "Enabled"


SEEDER = S3Seeder()
