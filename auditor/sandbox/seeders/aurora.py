"""Aurora DB clusters and their automated and manual cluster snapshots (no AWS Backup here)."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any

from auditor.sandbox.moto_ext import native
from auditor.sandbox.seeders.base import GIB, TypeSeeder, naive
from auditor.sandbox.seeders.rds_snapshots import cluster_snapshots

if TYPE_CHECKING:
    from auditor.sandbox.seed import _Region

AURORA_ENGINES = ("aurora-postgresql", "aurora-mysql")


class AuroraSeeder(TypeSeeder):
    """Aurora clusters, sized by CloudWatch's VolumeBytesUsed; backed up natively only."""

    type_id = "rds-cluster"
    base_count = 3
    uses_aws_backup = False

    def create(self, reg: _Region, n: int, *, deleted: bool = False) -> None:
        """Create `n` clusters (deleted clusters are not seeded)."""
        backend = native.rds_backend(reg.acct, reg.region)
        for i in range(n):
            engine = reg.rng.choice(AURORA_ENGINES)
            ident = f"aurora-{reg.region}-{i:04d}"
            tags = reg.tags("aurora", ident)
            encrypted = reg.rng.random() < 0.85
            size = reg.rng.choice((10, 50, 200, 800, 3000))
            retention = 7 if tags.get("env") == "prod" else 1
            created = reg.created_at()
            cluster = backend.create_db_cluster(
                dict(
                    db_cluster_identifier=ident,
                    engine=engine,
                    master_username="admin",
                    master_user_password="not-a-secret-123",
                    storage_encrypted=encrypted,
                    kms_key_id=reg.kms["data"] if encrypted else None,
                    backup_retention_period=retention,
                    tags=[{"Key": k, "Value": v} for k, v in tags.items()],
                )
            )
            # AWS reports AllocatedStorage 1 for every Aurora cluster (moto does too); the volume
            # size is CloudWatch's VolumeBytesUsed, published hourly (Aurora user guide, "Amazon
            # CloudWatch metrics for Amazon Aurora").
            cluster._sandbox_volume_bytes = size * GIB
            native.add_aurora_volume_bytes(
                reg.acct, reg.region, ident, size * GIB, reg.as_of - timedelta(hours=1)
            )
            cluster.created = cluster.cluster_create_time = naive(created)
            cluster._sandbox_latest_restorable = naive(reg.as_of - timedelta(minutes=5))
            for key in [
                k for k, s in backend.cluster_snapshots.items() if s.db_cluster_identifier == ident
            ]:
                del backend.cluster_snapshots[key]
            reg.add_resource(
                resource_type="rds-cluster",
                resource_arn=cluster.arn,
                resource_id=ident,
                name=ident,
                tags=tags,
                created_at=created,
                size_bytes=size * GIB,
                encrypted=encrypted,
                engine=engine,
                retention=retention,
                obj=cluster,
            )

    def native(self, reg: _Region, r: dict[str, Any]) -> None:
        """Daily automated cluster snapshots kept for the retention period, and a few manual ones
        (an Aurora cluster snapshot reports no size: AllocatedStorage 0 or 1)."""
        cluster_snapshots(reg, r, "rds-cluster-snapshot", r.get("retention", 1), hour=4)


SEEDER = AuroraSeeder()
