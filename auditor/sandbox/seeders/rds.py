"""RDS DB instances of several engines, their automated and manual snapshots."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any

from auditor.sandbox.moto_ext import native
from auditor.sandbox.seeders.base import GIB, Artifact, TypeSeeder, naive, utc
from auditor.sandbox.seeders.rds_snapshots import awsbackup_snapshot

if TYPE_CHECKING:
    from auditor.sandbox.seed import _Region

RDS_ENGINES = {
    "postgres": "16.4",
    "mysql": "8.0.39",
    "mariadb": "10.11.9",
    "oracle-se2": "19.0.0.0.ru-2024-10.rur-2024-10.r1",
    "sqlserver-se": "16.00.4150.1.v1",
}


class RdsSeeder(TypeSeeder):
    """DB instances; AWS Backup's recovery points of them are RDS snapshots (awsbackup:job-...)."""

    type_id = "rds-instance"
    base_count = 5
    deleted_divisor = 2

    def create(self, reg: _Region, n: int, *, deleted: bool = False) -> None:
        """Create `n` DB instances (a deleted one is created, then removed from the backend)."""
        backend = native.rds_backend(reg.acct, reg.region)
        for i in range(n):
            engine = reg.rng.choice(sorted(RDS_ENGINES))
            ident = f"{'old-' if deleted else ''}db-{reg.region}-{i:04d}"
            tags = reg.tags("rds", ident)
            encrypted = reg.rng.random() < 0.8
            size = reg.rng.choice((20, 50, 100, 200, 500, 1000, 2000, 6000))
            retention = 0 if reg.rng.random() < 0.1 else (7 if tags.get("env") == "prod" else 1)
            created = reg.created_at()
            db = backend.create_db_instance(
                dict(
                    db_instance_identifier=ident,
                    engine=engine,
                    engine_version=RDS_ENGINES[engine],
                    db_instance_class="db.m6g.large",
                    allocated_storage=size,
                    storage_encrypted=encrypted,
                    kms_key_id=reg.kms["data"] if encrypted else None,
                    backup_retention_period=retention,
                    master_username="admin",
                    master_user_password="not-a-secret-123",
                    tags=[{"Key": k, "Value": v} for k, v in tags.items()],
                )
            )
            # moto reports instance_create_time, copied from the wall clock at creation.
            db.created = db.instance_create_time = naive(created)
            db._sandbox_latest_restorable = naive(reg.as_of - timedelta(minutes=5))
            # moto snapshots every new instance once; the seeder makes the real history below.
            for key in [
                k
                for k, s in backend.database_snapshots.items()
                if s.database.db_instance_identifier == ident
            ]:
                del backend.database_snapshots[key]
            reg.add_resource(
                resource_type="rds-instance",
                resource_arn=db.arn,
                resource_id=ident,
                name=ident,
                tags=tags,
                created_at=created,
                size_bytes=size * GIB,
                encrypted=encrypted,
                engine=engine,
                deleted=deleted,
                retention=retention,
                obj=db,
            )
            if deleted:
                backend.databases.pop(ident)

    def artifact(self, reg: _Region, r: dict[str, Any], made: Artifact) -> str | None:
        """AWS Backup's RDS recovery point is a DB snapshot named after its backup or copy job."""
        return awsbackup_snapshot(reg, r, made)

    def native(self, reg: _Region, r: dict[str, Any]) -> None:
        """Daily automated snapshots kept for the retention period, and a few manual ones."""
        end = r.get("deleted_at") or reg.as_of
        start = utc(r["created_at"])
        db = r["obj"]
        retention = r.get("retention", 0)
        if not r["deleted"]:
            for d in range(retention):
                t = (end - timedelta(days=d + 1)).replace(
                    hour=3, minute=reg.rng.randint(0, 59), second=0, microsecond=0
                )
                if t < start:
                    break
                ident = f"rds:{r['resource_id']}-{t:%Y-%m-%d-%H-%M}"
                arn = native.add_rds_snapshot(
                    reg.acct,
                    reg.region,
                    db,
                    snapshot_id=ident,
                    snapshot_type="automated",
                    created=naive(t),
                )
                reg.native_row(
                    r,
                    arn,
                    "rds-snapshot",
                    "automated",
                    t,
                    r["size_bytes"],
                    r["encrypted"],
                    delete_at=t + timedelta(days=retention),
                )
        n = reg.rng.choice((0, 0, 1, 2, 3)) if not r["deleted"] else 1
        for k in range(n):
            t = (
                end - timedelta(days=reg.rng.uniform(1, 200) if not r["deleted"] else 0.01)
            ).replace(microsecond=0)
            if t < start:
                continue
            ident = f"{'final' if r['deleted'] else 'manual'}-{r['resource_id']}-{k}"
            arn = native.add_rds_snapshot(
                reg.acct,
                reg.region,
                db,
                snapshot_id=ident,
                snapshot_type="manual",
                created=naive(t),
            )
            reg.native_row(r, arn, "rds-snapshot", "user", t, r["size_bytes"], r["encrypted"])


SEEDER = RdsSeeder()
