"""DocumentDB and Neptune clusters (RDS-compatible engines) and their cluster snapshots.

Both keep a daily automated cluster snapshot for the cluster's BackupRetentionPeriod (1 to 35 days)
and manual snapshots until deleted; AWS Backup's recovery point of such a cluster is a cluster
snapshot AWS Backup made ("Backing up and restoring in Amazon DocumentDB",
https://docs.aws.amazon.com/documentdb/latest/developerguide/backup_restore.html ; "Backing up and
restoring an Amazon Neptune DB cluster",
https://docs.aws.amazon.com/neptune/latest/userguide/backup-restore.html). The estate has clusters
keeping a week or more (production) and a day (development), so a plan asking for a week of
daily backups passes on some and fails on others.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any

from auditor.sandbox.moto_ext import native
from auditor.sandbox.seeders.base import GIB, Artifact, TypeSeeder, naive
from auditor.sandbox.seeders.rds_snapshots import awsbackup_snapshot, cluster_snapshots

if TYPE_CHECKING:
    from auditor.sandbox.seed import _Region


class ClusterDbSeeder(TypeSeeder):
    """Clusters of one RDS-compatible engine; AWS Backup's recovery points are cluster snapshots."""

    engine = ""
    engine_version = ""
    prefix = ""  # cluster names start with it
    base_count = 2
    backup_managed = False

    def create(self, reg: _Region, n: int, *, deleted: bool = False) -> None:
        """Create `n` clusters (deleted clusters are not seeded)."""
        backend = native.rds_backend(reg.acct, reg.region)
        for i in range(n):
            ident = f"{self.prefix}-{reg.region}-{i:04d}"
            tags = reg.tags(self.prefix, ident)
            encrypted = reg.rng.random() < 0.85
            retention = reg.rng.choice((7, 14, 35)) if tags.get("env") == "prod" else 1
            created = reg.created_at()
            cluster = backend.create_db_cluster(
                dict(
                    db_cluster_identifier=ident,
                    engine=self.engine,
                    engine_version=self.engine_version,
                    master_username="admin",
                    master_user_password="not-a-secret-123",
                    storage_encrypted=encrypted,
                    kms_key_id=reg.kms["data"] if encrypted else None,
                    backup_retention_period=retention,
                    tags=[{"Key": k, "Value": v} for k, v in tags.items()],
                )
            )
            cluster.created = cluster.cluster_create_time = naive(created)
            cluster._sandbox_latest_restorable = naive(reg.as_of - timedelta(minutes=5))
            # moto makes one automated snapshot at creation; the estate makes its own history
            for key in [
                k for k, s in backend.cluster_snapshots.items() if s.db_cluster_identifier == ident
            ]:
                del backend.cluster_snapshots[key]
            reg.add_resource(
                resource_type=self.type_id,
                resource_arn=cluster.arn,
                resource_id=ident,
                name=ident,
                tags=tags,
                created_at=created,
                # the cluster volume grows with use and the API returns no size for it (the
                # inventory's is unknown); AWS Backup's recovery points are its size
                size_bytes=None,
                used_bytes=reg.rng.choice((10, 50, 200, 800)) * GIB,
                encrypted=encrypted,
                engine=self.engine,
                retention=retention,
                obj=cluster,
            )

    def artifact(self, reg: _Region, r: dict[str, Any], made: Artifact) -> str | None:
        """AWS Backup's recovery point is a cluster snapshot named after its backup or copy job."""
        return awsbackup_snapshot(reg, r, made)

    def native(self, reg: _Region, r: dict[str, Any]) -> None:
        """Daily automated cluster snapshots for the retention period, and a few manual ones."""
        cluster_snapshots(reg, r, f"{self.type_id}-snapshot", r["retention"], hour=2)
