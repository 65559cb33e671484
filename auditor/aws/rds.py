"""RDS: DB instances, DB clusters (Aurora and Multi-AZ), DB and cluster snapshots, and retained or
cross-Region replicated automated backups.

Tags come inside each description (TagList), so no per-resource tag call is needed. AWS Backup's
own DB snapshots are only listed when asked for by SnapshotType=awsbackup (the default listing is
automated + manual), hence two DB-snapshot listings per region. The `awsbackup` type "does not apply
to Aurora" (RDS API reference, DescribeDBSnapshots SnapshotType) and DescribeDBClusterSnapshots
documents no such type: AWS Backup's Aurora snapshots come from the vault listing (aws/backup.py),
which the inventory merges with any native row of the same ARN.

Aurora sizes: "For Aurora, AllocatedStorage always returns 1, because Aurora DB cluster storage
size isn't fixed" (RDS API reference, DBCluster.AllocatedStorage and DBInstance.AllocatedStorage),
and Aurora cluster snapshots report 0 or 1. A cluster's size is CloudWatch's VolumeBytesUsed where
CloudWatch has it (aws/cloudwatch.py), else unknown: `size_basis` says which.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from auditor.aws import cloudwatch, protection
from auditor.aws.context import Context
from auditor.aws.items import for_each, record_malformed

GIB = 1024**3

SNAPSHOT_STATUS = {
    "available": "COMPLETED",
    "creating": "CREATING",
    "copying": "CREATING",
    "pending": "CREATING",
    "deleting": "DELETING",
    "failed": "FAILED",
    "error": "FAILED",
    "incompatible-restore": "COMPLETED",
}
CREATED_BY = {"automated": "automated", "manual": "user", "awsbackup": "aws-backup"}
# Engines the RDS API also lists that are other services (AWS Backup's DocumentDB and Neptune types).
OTHER_SERVICES = {"docdb", "neptune"}
SIZE_ALLOCATED = "AllocatedStorage"
SIZE_VOLUME_BYTES = "VolumeBytesUsed"
SIZE_UNKNOWN = "unknown"
# Automated backups replicated from another Region (system snapshots and transaction logs).
AUTOMATED_BACKUP = "rds-automated-backup"


@dataclass(frozen=True)
class DbKind:
    """Where the two kinds of RDS database (instance, cluster) keep the same facts."""

    resource_type: str
    arn_key: str
    id_key: str
    created_key: str
    status_key: str
    arn_prefix: str  # ARN resource prefix: db:NAME or cluster:NAME
    replica_key: str


INSTANCE = DbKind(
    "rds-instance",
    "DBInstanceArn",
    "DBInstanceIdentifier",
    "InstanceCreateTime",
    "DBInstanceStatus",
    "db",
    "ReadReplicaSourceDBInstanceIdentifier",
)
CLUSTER = DbKind(
    "rds-cluster",
    "DBClusterArn",
    "DBClusterIdentifier",
    "ClusterCreateTime",
    "Status",
    "cluster",
    "ReplicationSourceIdentifier",
)


@dataclass(frozen=True)
class SnapKind:
    """Where DB snapshots and DB cluster snapshots keep the same facts."""

    owner: DbKind
    backup_type: str
    arn_key: str
    id_key: str
    arn_prefix: str  # snapshot:NAME or cluster-snapshot:NAME
    source_key: str
    encrypted_key: str
    operation: str


DB_SNAPSHOT = SnapKind(
    INSTANCE,
    "rds-snapshot",
    "DBSnapshotArn",
    "DBSnapshotIdentifier",
    "snapshot",
    "SourceDBSnapshotIdentifier",
    "Encrypted",
    "DescribeDBSnapshots",
)
CLUSTER_SNAPSHOT = SnapKind(
    CLUSTER,
    "rds-cluster-snapshot",
    "DBClusterSnapshotArn",
    "DBClusterSnapshotIdentifier",
    "cluster-snapshot",
    "SourceDBClusterSnapshotArn",
    "StorageEncrypted",
    "DescribeDBClusterSnapshots",
)


def is_aurora(engine: Any) -> bool:
    """Aurora engines are named aurora, aurora-mysql, aurora-postgresql."""
    return str(engine or "").startswith("aurora")


def _native_schedule(retention: int | None) -> dict:
    if retention:
        return {
            "native_schedule": "rds-automated",
            "native_frequency_hours": 24.0,
            "native_retention_days": int(retention),
        }
    return {}


def _db_size(item: dict, kind: DbKind, volume_bytes: dict[str, int]) -> tuple[int | None, str]:
    if is_aurora(item.get("Engine")):
        used = volume_bytes.get(item.get(kind.id_key, "")) if kind is CLUSTER else None
        return (used, SIZE_VOLUME_BYTES) if used is not None else (None, SIZE_UNKNOWN)
    if item.get("AllocatedStorage") is not None:
        return int(item["AllocatedStorage"]) * GIB, SIZE_ALLOCATED
    return None, SIZE_UNKNOWN


def db_row(ctx: Context, item: dict, kind: DbKind, volume_bytes: dict[str, int]) -> dict[str, Any]:
    """The `resources` row of one instance or cluster description (raises on a malformed one)."""
    ident = item[kind.id_key]
    cluster = item.get("DBClusterIdentifier") if kind is INSTANCE else None
    retention = item.get("BackupRetentionPeriod") or 0
    size, basis = _db_size(item, kind, volume_bytes)
    return {
        "resource_type": kind.resource_type,
        "resource_arn": item.get(kind.arn_key) or ctx.arn("rds", f"{kind.arn_prefix}:{ident}"),
        "resource_id": ident,
        "name": ident,
        "created_at": item.get(kind.created_key),
        "size_bytes": size,
        "size_basis": basis,
        "encrypted": item.get("StorageEncrypted"),
        "kms_key_id": item.get("KmsKeyId"),
        "state": item.get(kind.status_key),
        "engine": item.get("Engine"),
        "parent_arn": ctx.arn("rds", f"cluster:{cluster}") if cluster else None,
        # Point-in-time restore of automated backups reaches LatestRestorableTime and goes back
        # BackupRetentionPeriod days (RDS user guide, "Restoring a DB instance to a specified
        # time"); a cluster member's automated backups are the cluster's.
        "latest_restorable_at": item.get("LatestRestorableTime"),
        "continuous_window_days": int(retention) if retention and not cluster else None,
        "read_replica_source": item.get(kind.replica_key),
        "deletion_protection": item.get("DeletionProtection"),
        "copy_tags_to_snapshot": item.get("CopyTagsToSnapshot"),
        **({} if cluster else _native_schedule(retention)),
    }


def _creator(snapshot_type: str | None, identifier: str) -> str:
    if identifier.startswith("awsbackup:"):
        return "aws-backup"
    return CREATED_BY.get(snapshot_type or "", "user")


def _snapshot_size(snap: dict) -> tuple[int | None, str | None, bool]:
    if snap.get("FullSnapshotSizeInBytes") is not None:
        return snap["FullSnapshotSizeInBytes"], "FullSnapshotSizeInBytes", True
    # An Aurora snapshot's AllocatedStorage is 0 or 1 (see the module docstring): no size at all.
    if snap.get("AllocatedStorage") is not None and not is_aurora(snap.get("Engine")):
        return snap["AllocatedStorage"] * GIB, "AllocatedStorage(upper-bound)", False
    return None, None, False


def _delete_at(snap: dict, created, creator: str, retention: dict[str, int], owner: str | None):
    # Automated snapshots expire after the instance's retention; manual ones are kept until deleted.
    if creator != "automated" or created is None:
        return None
    days = snap.get("BackupRetentionPeriod") or retention.get(owner or "")
    return created + timedelta(days=int(days)) if days else None


def _arn_parts(arn: str) -> tuple[str, str] | None:
    """(region, account) of an ARN, or None when `arn` is not one."""
    parts = arn.split(":", 5)
    if len(parts) == 6 and parts[0] == "arn" and parts[3] and parts[4]:
        return parts[3], parts[4]
    return None


def _source(ctx: Context, snap: dict, kind: SnapKind) -> tuple[str | None, str, str]:
    """(source snapshot ARN, region, account) of the database a snapshot belongs to.

    A cross-Region or cross-account copy names its source by ARN (SourceDBSnapshotIdentifier:
    "It only has a value in the case of a cross-account or cross-Region copy"; cluster snapshots:
    SourceDBClusterSnapshotArn) and SourceRegion says where the DB snapshot "was created in or copied
    from" (RDS API reference, DBSnapshot, DBClusterSnapshot). The copy keeps the source's
    DBInstanceIdentifier, so the database is that identifier in the source's region and account.
    """
    source = snap.get(kind.source_key)
    region, account = snap.get("SourceRegion") or ctx.region, ctx.account_id
    if not source:
        return None, region, account
    parsed = _arn_parts(source)
    if parsed:
        region, account = parsed
    else:  # a same-region copy may name its source by identifier
        source = ctx.arn("rds", f"{kind.arn_prefix}:{source}", region=region)
    return source, region, account


def snapshot_row(
    ctx: Context, snap: dict, kind: SnapKind, retention: dict[str, int]
) -> dict[str, Any]:
    """The `recovery_points` row of one DB or cluster snapshot (raises on a malformed one)."""
    ident = snap[kind.id_key]
    arn = snap.get(kind.arn_key)
    if not arn:
        # Older snapshots come without their ARN; RDS ARNs are arn:PARTITION:rds:REGION:ACCOUNT:
        # snapshot:NAME / cluster-snapshot:NAME (Service Authorization Reference, "Actions,
        # resources, and condition keys for Amazon RDS", resource types snapshot and
        # cluster-snapshot), and a listing only returns this region's and account's own.
        arn = ctx.arn("rds", f"{kind.arn_prefix}:{ident}")
        record_malformed(
            ctx,
            "rds",
            kind.operation,
            ident,
            f"no {kind.arn_key}; ARN derived as {arn}",
            kind.backup_type,
        )
    owner = snap.get(kind.owner.id_key)
    creator = _creator(snap.get("SnapshotType"), ident)
    size, basis, exact = _snapshot_size(snap)
    created = snap.get("SnapshotCreateTime")
    source, region, account = _source(ctx, snap, kind)
    prefix = kind.owner.arn_prefix
    return {
        "recovery_point_arn": arn,
        "resource_arn": ctx.arn("rds", f"{prefix}:{owner}", region=region, account=account)
        if owner
        else None,
        "resource_type": kind.owner.resource_type,
        "backup_type": kind.backup_type,
        "source": "aws-backup" if creator == "aws-backup" else "native",
        "created_by": creator,
        "status": SNAPSHOT_STATUS.get(snap.get("Status", ""), "FAILED"),
        "created_at": created,
        "completed_at": created if snap.get("Status") == "available" else None,
        "size_bytes": size,
        "size_basis": basis,
        "storage_class": "warm",  # RDS keeps snapshots in one storage class
        "delete_at": _delete_at(snap, created, creator, retention, owner),
        "encrypted": snap.get(kind.encrypted_key),
        "kms_key_arn": snap.get("KmsKeyId"),
        "copy_source_arn": source,
        # "Specifies the time of the CreateDBSnapshot operation ... Doesn't change when the
        # snapshot is copied" (RDS API reference, DBSnapshot.OriginalSnapshotCreateTime).
        "source_created_at": snap.get("OriginalSnapshotCreateTime") if source else None,
        "_size_exact": exact,
    }


def _collect_databases(ctx: Context, retention: dict[str, int]) -> None:
    clusters = ctx.paginate("rds", "describe_db_clusters", "DBClusters", affects=("rds-cluster",))
    aurora = [
        c["DBClusterIdentifier"]
        for c in clusters or ()
        if isinstance(c, dict) and is_aurora(c.get("Engine")) and c.get("DBClusterIdentifier")
    ]
    volume_bytes = cloudwatch.aurora_volume_bytes(ctx, aurora) if aurora else {}

    def add(kind: DbKind):
        def build(item: dict) -> None:
            if item.get("Engine") in OTHER_SERVICES:
                return
            row = db_row(ctx, item, kind, volume_bytes)
            retention[row["resource_id"]] = item.get("BackupRetentionPeriod") or 0
            ctx.add("resources", **row)
            ctx.add_tags(row["resource_arn"], item.get("TagList"))

        return build

    for_each(
        ctx,
        clusters,
        add(CLUSTER),
        service="rds",
        operation="DescribeDBClusters",
        ident_key="DBClusterIdentifier",
        affects="rds-cluster",
    )
    instances = ctx.paginate(
        "rds", "describe_db_instances", "DBInstances", affects=("rds-instance",)
    )
    for_each(
        ctx,
        instances,
        add(INSTANCE),
        service="rds",
        operation="DescribeDBInstances",
        ident_key="DBInstanceIdentifier",
        affects="rds-instance",
    )


def _collect_snapshots(ctx: Context, retention: dict[str, int]) -> None:
    seen: set[str] = set()
    manual: list[tuple[str, str, str | None]] = []  # whose sharing is checked (aws/protection.py)

    def add(kind: SnapKind):
        def build(snap: dict) -> None:
            if snap.get("Engine") in OTHER_SERVICES:
                return
            row = snapshot_row(ctx, snap, kind, retention)
            if row["recovery_point_arn"] in seen:
                return
            seen.add(row["recovery_point_arn"])
            if snap.get("SnapshotType") == "manual":
                manual.append((kind.backup_type, snap[kind.id_key], row["resource_arn"]))
            ctx.add("recovery_points", **row)
            ctx.add_tags(row["recovery_point_arn"], snap.get("TagList"))

        return build

    def listing(kind: SnapKind, method: str, key: str, affects: str, **params: Any) -> None:
        """One snapshot listing, page by page; a failed one leaves `seen` and `manual` as before."""
        seen_before, manual_before = set(seen), len(manual)
        build = add(kind)
        if not ctx.each_page(
            "rds",
            method,
            key,
            lambda page: for_each(
                ctx,
                page,
                build,
                service="rds",
                operation=kind.operation,
                ident_key=kind.id_key,
                affects=affects,
            ),
            affects=(affects,),
            **params,
        ):
            seen.intersection_update(seen_before)
            del manual[manual_before:]

    for params in ({}, {"SnapshotType": "awsbackup"}):
        listing(DB_SNAPSHOT, "describe_db_snapshots", "DBSnapshots", "rds-instance", **params)
    listing(CLUSTER_SNAPSHOT, "describe_db_cluster_snapshots", "DBClusterSnapshots", "rds-cluster")
    protection.spawn_rds_sharing_checks(ctx, manual)


def replicated_backup_row(ctx: Context, backup: dict) -> dict[str, Any]:
    """The `recovery_points` row of automated backups replicated into this Region from another.

    They are the source instance's continuous backup kept in a second Region, restorable up to
    RestoreWindow.LatestTime: a cross-Region copy of that instance, newest at LatestTime.
    """
    arn = backup["DBInstanceAutomatedBackupsArn"]
    window = backup.get("RestoreWindow") or {}
    latest = window.get("LatestTime")
    ident = backup["DBInstanceIdentifier"]
    source = backup.get("DBInstanceArn") or ctx.arn("rds", f"db:{ident}", region=backup["Region"])
    days = backup.get("BackupRetentionPeriod")
    retained = backup.get("Status") == "retained"
    storage = backup.get("AllocatedStorage")
    return {
        "recovery_point_arn": arn,
        "resource_arn": source,
        "resource_type": "rds-instance",
        "backup_type": AUTOMATED_BACKUP,
        "source": "native",
        "created_by": "automated",
        "status": "CREATING" if backup.get("Status") == "creating" else "COMPLETED",
        "created_at": latest,
        "completed_at": latest,
        "size_bytes": storage * GIB if storage is not None else None,
        "size_basis": "AllocatedStorage(upper-bound)" if storage is not None else None,
        "storage_class": "warm",
        # Retained backups "live as long their last system snapshot would have done" (RDS user
        # guide, "Retaining automated backups"); replicating ones roll forward.
        "delete_at": latest + timedelta(days=int(days)) if retained and latest and days else None,
        "encrypted": backup.get("Encrypted"),
        "kms_key_arn": backup.get("KmsKeyId"),
        "copy_source_arn": source,
        "source_created_at": latest,
        "_size_exact": False,
    }


def _collect_automated_backups(ctx: Context, retention: dict[str, int]) -> None:
    """Retained automated backups (of deleted instances; still billed) and ones replicated here.

    A retained backup's system snapshots stay listed as automated DB snapshots (RDS user guide,
    "Viewing retained backups"); this listing gives them the deleted instance's retention period,
    hence their expiry. Backups replicated from another Region are recovery points of their own.
    """
    backups = ctx.paginate(
        "rds",
        "describe_db_instance_automated_backups",
        "DBInstanceAutomatedBackups",
        affects=("rds-instance",),
    )

    def build(backup: dict) -> None:
        if backup.get("Engine") in OTHER_SERVICES:
            return
        if backup.get("Region") and backup["Region"] != ctx.region:
            ctx.add("recovery_points", **replicated_backup_row(ctx, backup))
        elif backup.get("Status") == "retained" and backup.get("BackupRetentionPeriod"):
            retention.setdefault(backup["DBInstanceIdentifier"], backup["BackupRetentionPeriod"])

    for_each(
        ctx,
        backups,
        build,
        service="rds",
        operation="DescribeDBInstanceAutomatedBackups",
        ident_key="DBInstanceIdentifier",
        affects="rds-instance",
    )


def collect(ctx: Context) -> None:
    """Instances and clusters (resources, tags), their snapshots and replicated automated backups
    (recovery points)."""
    retention: dict[str, int] = {}
    _collect_databases(ctx, retention)
    _collect_automated_backups(ctx, retention)
    _collect_snapshots(ctx, retention)
