"""Amazon Neptune clusters and cluster snapshots (through the RDS API: see aws/clusterdb.py)."""

from __future__ import annotations

from auditor.aws.clusterdb import NEPTUNE, collect_engine
from auditor.aws.context import Context

AFFECTS = (NEPTUNE.resource_type,)


def collect(ctx: Context) -> None:
    """Neptune clusters (resources, tags, automated backups) and their cluster snapshots."""
    collect_engine(ctx, NEPTUNE)
