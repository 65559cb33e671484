"""RDS: DB instances, DB clusters (Aurora and Multi-AZ), DB and cluster snapshots.

Tags come inside each description (TagList), so no per-resource tag call is needed. AWS Backup's
own DB snapshots are only listed when asked for by SnapshotType=awsbackup (the default listing is
automated + manual), hence two DB-snapshot listings per region.
"""

from __future__ import annotations

from datetime import timedelta

from auditor.aws.context import Context

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


def _native_schedule(retention: int | None) -> dict:
    if retention:
        return {
            "native_schedule": "rds-automated",
            "native_frequency_hours": 24.0,
            "native_retention_days": int(retention),
        }
    return {}


def _creator(snapshot_type: str | None, identifier: str) -> str:
    if identifier.startswith("awsbackup:"):
        return "aws-backup"
    return CREATED_BY.get(snapshot_type or "", "user")


def _size(snap: dict) -> tuple[int | None, str | None, bool]:
    if snap.get("FullSnapshotSizeInBytes") is not None:
        return snap["FullSnapshotSizeInBytes"], "FullSnapshotSizeInBytes", True
    if snap.get("AllocatedStorage") is not None:
        return snap["AllocatedStorage"] * GIB, "AllocatedStorage(upper-bound)", False
    return None, None, False


def _delete_at(snap: dict, created, creator: str, retention: dict[str, int], owner: str | None):
    # Automated snapshots expire after the instance's retention; manual ones are kept until deleted.
    if creator != "automated" or created is None:
        return None
    days = snap.get("BackupRetentionPeriod") or retention.get(owner or "")
    return created + timedelta(days=int(days)) if days else None


def collect(ctx: Context) -> None:
    """Instances and clusters (resources, tags) and their snapshots (recovery points)."""
    retention: dict[str, int] = {}
    clusters = ctx.paginate("rds", "describe_db_clusters", "DBClusters", affects=("rds-cluster",))
    for c in clusters or ():
        if c.get("Engine") in OTHER_SERVICES:
            continue
        arn = c["DBClusterArn"]
        retention[c["DBClusterIdentifier"]] = c.get("BackupRetentionPeriod") or 0
        ctx.add(
            "resources",
            resource_type="rds-cluster",
            resource_arn=arn,
            resource_id=c["DBClusterIdentifier"],
            name=c["DBClusterIdentifier"],
            created_at=c.get("ClusterCreateTime"),
            size_bytes=c["AllocatedStorage"] * GIB
            if c.get("AllocatedStorage") is not None
            else None,
            encrypted=c.get("StorageEncrypted"),
            kms_key_id=c.get("KmsKeyId"),
            state=c.get("Status"),
            engine=c.get("Engine"),
            **_native_schedule(c.get("BackupRetentionPeriod")),
        )
        ctx.add_tags(arn, c.get("TagList"))

    instances = ctx.paginate(
        "rds", "describe_db_instances", "DBInstances", affects=("rds-instance",)
    )
    for i in instances or ():
        if i.get("Engine") in OTHER_SERVICES:
            continue
        arn = i["DBInstanceArn"]
        cluster = i.get("DBClusterIdentifier")
        retention[i["DBInstanceIdentifier"]] = i.get("BackupRetentionPeriod") or 0
        ctx.add(
            "resources",
            resource_type="rds-instance",
            resource_arn=arn,
            resource_id=i["DBInstanceIdentifier"],
            name=i["DBInstanceIdentifier"],
            created_at=i.get("InstanceCreateTime"),
            size_bytes=i["AllocatedStorage"] * GIB
            if i.get("AllocatedStorage") is not None
            else None,
            encrypted=i.get("StorageEncrypted"),
            kms_key_id=i.get("KmsKeyId"),
            state=i.get("DBInstanceStatus"),
            engine=i.get("Engine"),
            parent_arn=ctx.arn("rds", f"cluster:{cluster}") if cluster else None,
            # A cluster member's automated backups are the cluster's: the schedule sits on the cluster.
            **({} if cluster else _native_schedule(i.get("BackupRetentionPeriod"))),
        )
        ctx.add_tags(arn, i.get("TagList"))

    seen: set[str] = set()
    for params in ({}, {"SnapshotType": "awsbackup"}):
        snaps = ctx.paginate(
            "rds", "describe_db_snapshots", "DBSnapshots", affects=("rds-instance",), **params
        )
        for s in snaps or ():
            arn = s["DBSnapshotArn"]
            if arn in seen or s.get("Engine") in OTHER_SERVICES:
                continue
            seen.add(arn)
            _add_snapshot(
                ctx,
                s,
                arn,
                s["DBSnapshotIdentifier"],
                s.get("DBInstanceIdentifier"),
                "db",
                "rds-instance",
                "rds-snapshot",
                s.get("Encrypted"),
                retention,
            )

    csnaps = ctx.paginate(
        "rds", "describe_db_cluster_snapshots", "DBClusterSnapshots", affects=("rds-cluster",)
    )
    for s in csnaps or ():
        if s.get("Engine") in OTHER_SERVICES:
            continue
        arn = s["DBClusterSnapshotArn"]
        _add_snapshot(
            ctx,
            s,
            arn,
            s["DBClusterSnapshotIdentifier"],
            s.get("DBClusterIdentifier"),
            "cluster",
            "rds-cluster",
            "rds-cluster-snapshot",
            s.get("StorageEncrypted"),
            retention,
        )


def _add_snapshot(
    ctx: Context,
    s: dict,
    arn: str,
    ident: str,
    owner: str | None,
    kind: str,
    resource_type: str,
    backup_type: str,
    encrypted,
    retention: dict[str, int],
) -> None:
    creator = _creator(s.get("SnapshotType"), ident)
    size, basis, exact = _size(s)
    created = s.get("SnapshotCreateTime")
    source = s.get("SourceDBSnapshotIdentifier") or s.get("SourceDBClusterSnapshotArn")
    if source and not source.startswith("arn:"):
        source = ctx.arn("rds", f"snapshot:{source}")  # a same-region copy names its source by id
    ctx.add(
        "recovery_points",
        recovery_point_arn=arn,
        resource_arn=ctx.arn("rds", f"{kind}:{owner}") if owner else None,
        resource_type=resource_type,
        backup_type=backup_type,
        source="aws-backup" if creator == "aws-backup" else "native",
        created_by=creator,
        status=SNAPSHOT_STATUS.get(s.get("Status", ""), "FAILED"),
        created_at=created,
        completed_at=created if s.get("Status") == "available" else None,
        size_bytes=size,
        size_basis=basis,
        storage_class="warm",  # RDS keeps snapshots in one storage class (AWS Backup's cold tier does not apply)
        delete_at=_delete_at(s, created, creator, retention, owner),
        encrypted=encrypted,
        kms_key_arn=s.get("KmsKeyId"),
        copy_source_arn=source,
        _size_exact=exact,
    )
    ctx.add_tags(arn, s.get("TagList"))
