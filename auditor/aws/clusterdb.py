"""DocumentDB and Neptune clusters and their cluster snapshots, through the RDS API by engine.

Both services manage clusters with RDS's API: DocumentDB's DescribeDBClusters "returns information
about provisioned Amazon DocumentDB clusters ... Use the filterName=engine,Values=docdb filter
parameter to return only Amazon DocumentDB clusters" (Amazon DocumentDB API reference), Neptune's
"can also return information for Amazon RDS clusters and Amazon DocDB clusters" and filters by
`engine` (Neptune API reference, DescribeDBClusters), and RDS's own DescribeDBClusters "can also
return information for Amazon Neptune DB instances and Amazon DocumentDB instances" with an `engine`
filter on both DescribeDBClusters and DescribeDBClusterSnapshots (RDS API reference). The RDS
client is used, with that filter: its DBCluster and DBClusterSnapshot shapes carry `TagList`, which
the DocumentDB and Neptune API models leave out, so tags come with the listing and no per-cluster
ListTagsForResource is needed. The IAM actions are RDS's (rds:DescribeDBClusters,
rds:DescribeDBClusterSnapshots) whichever client calls them.

Their cluster ARNs are RDS's (`arn:aws:rds:REGION:ACCOUNT:cluster:NAME`, "Amazon DocumentDB ARNs",
https://docs.aws.amazon.com/documentdb/latest/developerguide/documentdb-arns.html): only the engine
says which service a cluster belongs to, so aws/rds.py skips these engines and this module types
them.

Backups: both keep continuous backups for the cluster's BackupRetentionPeriod (1 to 35 days),
restorable to any point up to LatestRestorableTime, plus a daily automated cluster snapshot kept for
that period; manual snapshots are kept until deleted ("Backing up and restoring in Amazon
DocumentDB", https://docs.aws.amazon.com/documentdb/latest/developerguide/backup_restore.html ;
"Backing up and restoring an Amazon Neptune DB cluster",
https://docs.aws.amazon.com/neptune/latest/userguide/backup-restore.html). A snapshot's size is the
cluster volume's size when it was taken ("Understanding backup storage usage", DocumentDB developer
guide; Neptune's "CloudWatch metrics that are useful for managing Neptune backup storage"), which
neither API returns, so snapshot sizes are unknown here. Their storage is billed by the service
itself (product codes AmazonDocDB and AmazonNeptune).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from auditor.aws.context import Context
from auditor.aws.items import for_each
from auditor.aws.rds import CLUSTER, DbKind, SnapKind, snapshot_row


@dataclass(frozen=True)
class ClusterEngine:
    """One RDS-compatible cluster service: its engine name and the inventory's names for it."""

    engine: str  # the RDS API's Engine value
    resource_type: str
    backup_type: str
    native_schedule: str  # name of its automated backups in resources.native_schedule

    @property
    def cluster_kind(self) -> DbKind:
        """RDS's DB cluster fields, typed as this service's clusters."""
        return DbKind(
            self.resource_type,
            CLUSTER.arn_key,
            CLUSTER.id_key,
            CLUSTER.created_key,
            CLUSTER.status_key,
            CLUSTER.arn_prefix,
            CLUSTER.replica_key,
        )

    @property
    def snapshot_kind(self) -> SnapKind:
        """RDS's DB cluster snapshot fields, typed as this service's cluster snapshots."""
        return SnapKind(
            self.cluster_kind,
            self.backup_type,
            "DBClusterSnapshotArn",
            "DBClusterSnapshotIdentifier",
            "cluster-snapshot",
            "SourceDBClusterSnapshotArn",
            "StorageEncrypted",
            "DescribeDBClusterSnapshots",
        )


DOCDB = ClusterEngine("docdb", "docdb-cluster", "docdb-cluster-snapshot", "docdb-automated")
NEPTUNE = ClusterEngine(
    "neptune", "neptune-cluster", "neptune-cluster-snapshot", "neptune-automated"
)


def cluster_row(ctx: Context, item: dict[str, Any], service: ClusterEngine) -> dict[str, Any]:
    """The `resources` row of one DocumentDB or Neptune cluster (raises on a malformed one)."""
    ident = item["DBClusterIdentifier"]
    retention = int(item.get("BackupRetentionPeriod") or 0)
    row: dict[str, Any] = {
        "resource_type": service.resource_type,
        "resource_arn": item.get("DBClusterArn") or ctx.arn("rds", f"cluster:{ident}"),
        "resource_id": ident,
        "name": ident,
        "created_at": item.get("ClusterCreateTime"),
        # the cluster volume grows with use and no listing field gives its size
        "size_bytes": None,
        "size_basis": "unknown",
        "encrypted": item.get("StorageEncrypted"),
        "kms_key_id": item.get("KmsKeyId"),
        "state": item.get("Status"),
        "engine": item.get("Engine"),
        "latest_restorable_at": item.get("LatestRestorableTime"),
        "continuous_window_days": retention or None,
        "deletion_protection": item.get("DeletionProtection"),
        "copy_tags_to_snapshot": item.get("CopyTagsToSnapshot"),
    }
    if retention:
        row.update(
            native_schedule=service.native_schedule,
            native_frequency_hours=24.0,
            native_retention_days=retention,
        )
    return row


def collect_engine(ctx: Context, service: ClusterEngine) -> None:
    """Clusters of one engine (resources, tags) and their cluster snapshots (recovery points)."""
    by_engine = [{"Name": "engine", "Values": [service.engine]}]
    affects = (service.resource_type,)
    clusters = ctx.paginate(
        "rds", "describe_db_clusters", "DBClusters", affects=affects, Filters=by_engine
    )
    retention: dict[str, int] = {}

    def add_cluster(item: dict[str, Any]) -> None:
        if item.get("Engine") != service.engine:  # the filter is the API's; keep to it anyway
            return
        row = cluster_row(ctx, item, service)
        retention[row["resource_id"]] = int(item.get("BackupRetentionPeriod") or 0)
        ctx.add("resources", **row)
        ctx.add_tags(row["resource_arn"], item.get("TagList"))

    for_each(
        ctx,
        clusters,
        add_cluster,
        service="rds",
        operation="DescribeDBClusters",
        ident_key="DBClusterIdentifier",
        affects=service.resource_type,
    )
    kind = service.snapshot_kind

    def add_snapshot(snap: dict[str, Any]) -> None:
        if snap.get("Engine") != service.engine:
            return
        row = snapshot_row(ctx, snap, kind, retention)
        row.update(size_bytes=None, size_basis=None, _size_exact=False)  # see module docstring
        ctx.add("recovery_points", **row)
        ctx.add_tags(row["recovery_point_arn"], snap.get("TagList"))

    ctx.each_page(
        "rds",
        "describe_db_cluster_snapshots",
        "DBClusterSnapshots",
        lambda page: for_each(
            ctx,
            page,
            add_snapshot,
            service="rds",
            operation="DescribeDBClusterSnapshots",
            ident_key="DBClusterSnapshotIdentifier",
            affects=service.resource_type,
        ),
        affects=affects,
        Filters=by_engine,
    )
