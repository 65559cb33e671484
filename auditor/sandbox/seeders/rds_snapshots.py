"""Snapshots every seeder of an RDS-API cluster or instance makes alike: AWS Backup's recovery point
(a snapshot named after its backup or copy job) and a cluster's automated and manual snapshots."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any

from auditor.sandbox.moto_ext import native
from auditor.sandbox.seeders.base import Artifact, naive, utc

if TYPE_CHECKING:
    from auditor.sandbox.seed import _Region


def awsbackup_snapshot(reg: _Region, r: dict[str, Any], made: Artifact) -> str:
    """AWS Backup's recovery point of an RDS-API resource: a snapshot named after its job."""
    prefix = "awsbackup:copyjob-" if made.copy else "awsbackup:job-"
    return native.add_rds_snapshot(
        reg.acct,
        made.region,
        r["obj"],
        snapshot_id=f"{prefix}{made.job_id.lower()}",
        snapshot_type="awsbackup",
        created=naive(made.created),
        backend=reg.backends(made.region)["rds"],
    )


def cluster_snapshots(
    reg: _Region, r: dict[str, Any], kind: str, retention: int, hour: int
) -> None:
    """A cluster's daily automated snapshots (at `hour`) kept `retention` days, and up to two
    manual ones. The APIs give no cluster snapshot's size, so none is recorded."""
    end = r.get("deleted_at") or reg.as_of
    start = utc(r["created_at"])
    for d in range(retention):
        t = (end - timedelta(days=d + 1)).replace(
            hour=hour, minute=reg.rng.randint(0, 59), second=0, microsecond=0
        )
        if t < start:
            break
        arn = native.add_rds_snapshot(
            reg.acct,
            reg.region,
            r["obj"],
            snapshot_id=f"rds:{r['resource_id']}-{t:%Y-%m-%d-%H-%M}",
            snapshot_type="automated",
            created=naive(t),
        )
        reg.native_row(
            r,
            arn,
            kind,
            "automated",
            t,
            None,
            r["encrypted"],
            delete_at=t + timedelta(days=retention),
        )
    for k in range(reg.rng.choice((0, 1, 2))):
        t = (end - timedelta(days=reg.rng.uniform(1, 150))).replace(microsecond=0)
        if t < start:
            continue
        arn = native.add_rds_snapshot(
            reg.acct,
            reg.region,
            r["obj"],
            snapshot_id=f"manual-{r['resource_id']}-{k}",
            snapshot_type="manual",
            created=naive(t),
        )
        reg.native_row(r, arn, kind, "user", t, None, r["encrypted"])
