"""EFS file systems; their backups exist only in AWS Backup."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from auditor.sandbox.moto_ext import native
from auditor.sandbox.seeders.base import GIB, TypeSeeder, utc

if TYPE_CHECKING:
    from auditor.sandbox.seed import _Region


class EfsSeeder(TypeSeeder):
    """File systems (most encrypted); AWS Backup always holds their recovery points itself."""

    type_id = "efs-filesystem"
    base_count = 4
    deleted_divisor = 2
    backup_managed = True
    always_encrypted = True  # AWS Backup encrypts EFS backups with the vault's key

    def create(self, reg: _Region, n: int, *, deleted: bool = False) -> None:
        """Create `n` file systems (deleted ones are recorded only)."""
        from moto.efs.models import FileSystem

        backend = native.efs_backend(reg.acct, reg.region)
        for i in range(n):
            fsid = f"fs-{reg.hex(17)}"
            name = f"{'old-' if deleted else ''}efs-{reg.region}-{i:04d}"
            tags = reg.tags("efs", name)
            encrypted = reg.rng.random() < 0.9
            created = reg.created_at()
            size = int(math.exp(reg.rng.uniform(math.log(2 * GIB), math.log(40 * 1024 * GIB))))
            arn = f"arn:aws:elasticfilesystem:{reg.region}:{reg.acct}:file-system/{fsid}"
            reg.add_resource(
                resource_type="efs-filesystem",
                resource_arn=arn,
                resource_id=fsid,
                name=name,
                tags=tags,
                created_at=created,
                size_bytes=size,
                encrypted=encrypted,
                deleted=deleted,
            )
            if deleted:
                continue
            # moto's own EFS responses build FileSystem the same way (its abstract CloudFormation
            # hooks and the Optional arguments are moto's typing gaps, not ours).
            fs = FileSystem(  # type: ignore[abstract]
                reg.acct,
                reg.region,
                f"token-{fsid}",
                fsid,
                context=backend,
                performance_mode="generalPurpose",
                encrypted=encrypted,
                kms_key_id=reg.kms["data"] if encrypted else None,  # type: ignore[arg-type]
                throughput_mode="bursting",
                provisioned_throughput_in_mibps=None,  # type: ignore[arg-type]
                availability_zone_name=None,  # type: ignore[arg-type]
                backup=False,
            )
            fs.creation_time = utc(created).timestamp()
            fs._size_value = size
            backend.file_systems_by_id[fsid] = fs
            backend.creation_tokens.add(f"token-{fsid}")
            backend.tagging_service.tag_resource(
                fsid, [{"Key": k, "Value": v} for k, v in tags.items()]
            )


SEEDER = EfsSeeder()
