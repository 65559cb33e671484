"""Amazon DocumentDB clusters and cluster snapshots (through the RDS API: see aws/clusterdb.py)."""

from __future__ import annotations

from auditor.aws.clusterdb import DOCDB, collect_engine
from auditor.aws.context import Context

AFFECTS = (DOCDB.resource_type,)


def collect(ctx: Context) -> None:
    """DocumentDB clusters (resources, tags, automated backups) and their cluster snapshots."""
    collect_engine(ctx, DOCDB)
