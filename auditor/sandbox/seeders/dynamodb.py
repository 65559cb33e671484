"""DynamoDB tables with point-in-time recovery on some, and their user backups."""

from __future__ import annotations

import math
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from auditor.sandbox.moto_ext import native
from auditor.sandbox.seeders.base import GIB, TEAMS, Artifact, TypeSeeder, naive, utc

if TYPE_CHECKING:
    from auditor.sandbox.seed import _Region


class DynamoDbSeeder(TypeSeeder):
    """Tables; AWS Backup holds their backups itself only where advanced features are on."""

    type_id = "dynamodb-table"
    base_count = 8
    deleted_divisor = 2
    backup_managed = None
    always_encrypted = True  # DynamoDB encrypts every table at rest

    def create(self, reg: _Region, n: int, *, deleted: bool = False) -> None:
        """Create `n` on-demand tables (a deleted one is created, then removed from the backend)."""
        backend = native.dynamodb_backend(reg.acct, reg.region)
        for i in range(n):
            name = f"{'old-' if deleted else ''}{reg.rng.choice(TEAMS)}-table-{reg.region}-{i:04d}"
            tags = reg.tags("ddb", name)
            created = reg.created_at()
            table = backend.create_table(
                name,
                schema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                throughput=None,
                attr=[{"AttributeName": "pk", "AttributeType": "S"}],
                global_indexes=None,
                indexes=None,
                streams=None,
                billing_mode="PAY_PER_REQUEST",
                sse_specification=None,
                tags=[{"Key": k, "Value": v} for k, v in tags.items()],
                deletion_protection_enabled=False,
                warm_throughput=None,
            )
            table.created_at = naive(created)
            size = int(math.exp(reg.rng.uniform(math.log(5e6), math.log(800 * GIB))))
            table._sandbox_size = size
            table._sandbox_items = max(1, size // 900)
            pitr = tags.get("env") == "prod" and reg.rng.random() < 0.6
            if pitr:
                earliest = max(utc(created), reg.as_of - timedelta(days=35))
                table.continuous_backups = {
                    "ContinuousBackupsStatus": "ENABLED",
                    "PointInTimeRecoveryDescription": {
                        "PointInTimeRecoveryStatus": "ENABLED",
                        "RecoveryPeriodInDays": 35,
                        "EarliestRestorableDateTime": earliest,
                        "LatestRestorableDateTime": reg.as_of - timedelta(minutes=5),
                    },
                }
            reg.add_resource(
                resource_type="dynamodb-table",
                resource_arn=table.table_arn,
                resource_id=name,
                name=name,
                tags=tags,
                created_at=created,
                size_bytes=size,
                encrypted=True,
                deleted=deleted,
                pitr=pitr,
                obj=table,
            )
            if deleted:
                backend.tables.pop(name)

    def artifact(self, reg: _Region, r: dict[str, Any], made: Artifact) -> str | None:
        """Without advanced features, AWS Backup's DynamoDB recovery point is a DynamoDB backup."""
        if made.managed:
            return None
        return native.add_dynamodb_backup(
            reg.acct,
            made.region,
            r["obj"],
            name=f"AwsBackup-{made.job_id.lower()}",
            backup_type="AWS_BACKUP",
            created=naive(made.created),
            size_bytes=made.size,
            rng=reg.rng,
            backend=reg.backends(made.region)["dynamodb"],
        )

    def native(self, reg: _Region, r: dict[str, Any]) -> None:
        """A few user backups (two for a deleted table)."""
        end = r.get("deleted_at") or reg.as_of
        start = utc(r["created_at"])
        n = reg.rng.choice((0, 0, 1, 2)) if not r["deleted"] else 2
        for k in range(n):
            t = (end - timedelta(days=reg.rng.uniform(0.1, 120))).replace(microsecond=0)
            if t < start:
                continue
            size = int(r["size_bytes"] * reg.rng.uniform(0.85, 1.0))
            arn = native.add_dynamodb_backup(
                reg.acct,
                reg.region,
                r["obj"],
                name=f"{r['resource_id']}-manual-{k}",
                backup_type="USER",
                created=naive(t),
                size_bytes=size,
                rng=reg.rng,
            )
            reg.native_row(r, arn, "dynamodb-backup", "user", t, size, True)


SEEDER = DynamoDbSeeder()
