"""Native backups (EBS snapshots, RDS snapshots, DynamoDB backups) written straight into moto's
backends, marked the way AWS marks the ones AWS Backup creates.

How AWS marks a native backup that AWS Backup made (what the collectors rely on):
- EBS: description "This snapshot is created by the AWS Backup service." and the tag
  `aws:backup:source-resource` = the source volume id (snapshots AWS Backup made cannot be deleted
  through EC2). Sources: aws-nuke filters AWS Backup snapshots by `tag:aws:backup:source-resource`
  (rebuy-de/aws-nuke PR #348, ekristen/aws-nuke issue #364). The recovery point ARN AWS Backup lists
  for it is `arn:aws:ec2:REGION::snapshot/snap-...` (no account id in an EC2 snapshot ARN).
- RDS: a DB snapshot whose identifier is `awsbackup:job-<backup job id>` and whose SnapshotType is
  `awsbackup` (botocore's RDS model documents the `awsbackup` SnapshotType; aws-nuke issue #364
  filters RDS snapshots by identifier `awsbackup*`). Its ARN `arn:aws:rds:REGION:ACCT:snapshot:
  awsbackup:job-...` is the recovery point ARN.
- DynamoDB (without advanced features): a backup with BackupType `AWS_BACKUP`; its ARN
  `arn:aws:dynamodb:REGION:ACCT:table/T/backup/ID` is the recovery point ARN. With advanced
  features (or for EFS, fully managed by AWS Backup) the recovery point ARN is
  `arn:aws:backup:REGION:ACCT:recovery-point:ID` and no native backup exists.
- Storage Gateway volumes: their snapshots are EBS snapshots (listed and deleted through EC2, per
  the Storage Gateway API reference for CreateSnapshot) whose VolumeId is the gateway volume id in
  lower case (the API reference's introduction: "Storage Gateway resource IDs are in uppercase. When
  you use these resource IDs with the Amazon EC2 API, EC2 expects resource IDs in lowercase").
"""

from __future__ import annotations

import random
import uuid
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

AWS_BACKUP_EBS_DESCRIPTION = "This snapshot is created by the AWS Backup service."
GIB = 1024**3


def _rand_hex(rng: random.Random | None, n: int) -> str:
    return f"{(rng or random).getrandbits(4 * n):0{n}x}"


def ec2_backend(account_id: str, region: str):
    from moto.ec2.models import ec2_backends

    return ec2_backends[account_id][region]


def rds_backend(account_id: str, region: str):
    from moto.rds.models import rds_backends

    return rds_backends[account_id][region]


def dynamodb_backend(account_id: str, region: str):
    from moto.dynamodb.models import dynamodb_backends

    return dynamodb_backends[account_id][region]


def efs_backend(account_id: str, region: str):
    from moto.efs.models import efs_backends

    return efs_backends[account_id][region]


def add_ebs_snapshot(
    account_id: str,
    region: str,
    *,
    volume_id: str,
    volume_size_gib: int,
    created: datetime,
    description: str = "",
    encrypted: bool = False,
    kms_key_id: str | None = None,
    tags: dict[str, str] | None = None,
    full_size_bytes: int | None = None,
    storage_tier: str = "standard",
    completed: datetime | None = None,
    snapshot_id: str | None = None,
    rng: random.Random | None = None,
    backend: Any = None,
) -> str:
    """Insert one completed EBS snapshot; the volume may be gone (orphan) or a SGW volume."""
    from moto.ec2.models.elastic_block_store import Snapshot

    backend = backend or ec2_backend(account_id, region)
    volume = backend.volumes.get(volume_id) or SimpleNamespace(id=volume_id, size=volume_size_gib)
    sid = snapshot_id or f"snap-{_rand_hex(rng, 17)}"
    snap = Snapshot(backend, sid, volume, description, encrypted=encrypted, kms_key_id=kms_key_id)
    snap.start_time = created
    # Sandbox-only fields (moto's Snapshot does not declare them); the patched
    # DescribeSnapshots response reads them.
    snap.completion_time = completed or created  # type: ignore[attr-defined]
    snap.storage_tier = storage_tier
    if full_size_bytes is not None:
        snap.full_snapshot_size_in_bytes = int(full_size_bytes)  # type: ignore[attr-defined]
    backend.snapshots[sid] = snap
    if tags:
        backend.tags[sid].update(tags)
    return sid


def ebs_snapshot_arn(region: str, snapshot_id: str) -> str:
    """The ARN AWS Backup lists for an EBS snapshot (no account id)."""
    return f"arn:aws:ec2:{region}::snapshot/{snapshot_id}"


def add_rds_snapshot(
    account_id: str,
    region: str,
    source: Any,
    *,
    snapshot_id: str,
    snapshot_type: str,
    created: datetime,
    tags: list[dict[str, str]] | None = None,
    allocated_storage: int | None = None,
    backend: Any = None,
) -> str:
    """Insert a snapshot (manual | automated | awsbackup) of a DB instance or cluster; its ARN.

    `source` is a moto DBInstance or DBCluster: a cluster gets a DB cluster snapshot, an instance
    a DB snapshot.
    """
    from moto.rds.models import DBCluster, DBClusterSnapshot, DBSnapshot

    backend = backend or rds_backend(account_id, region)
    if isinstance(source, DBCluster):
        cluster_snap = DBClusterSnapshot(
            backend, source, snapshot_id, snapshot_type=snapshot_type, tags=tags or []
        )
        cluster_snap.created = created
        if allocated_storage is not None:
            cluster_snap.allocated_storage = allocated_storage
        backend.cluster_snapshots[cluster_snap.db_cluster_snapshot_identifier] = cluster_snap
        return cluster_snap.arn
    snap = DBSnapshot(backend, source, snapshot_id, snapshot_type=snapshot_type, tags=tags or [])
    snap.created = created
    snap.original_snapshot_create_time = created
    if allocated_storage is not None:
        snap.allocated_storage = allocated_storage
    backend.database_snapshots[snap.db_snapshot_identifier] = snap
    return snap.arn


def cloudwatch_backend(account_id: str, region: str):
    from moto.cloudwatch.models import cloudwatch_backends

    return cloudwatch_backends[account_id][region]


def add_aurora_volume_bytes(
    account_id: str, region: str, cluster_id: str, value: int, at: datetime
) -> None:
    """Record the `AWS/RDS` `VolumeBytesUsed` datapoint Aurora publishes for a cluster.

    Written into moto's CloudWatch backend directly: PutMetricData refuses namespaces starting with
    "AWS/" (CloudWatch API reference, PutMetricData), which only AWS services publish to.
    """
    from moto.cloudwatch.models import MetricDatum

    cloudwatch_backend(account_id, region).metric_data.append(
        MetricDatum(
            namespace="AWS/RDS",
            name="VolumeBytesUsed",
            value=float(value),
            dimensions=[{"Name": "DBClusterIdentifier", "Value": cluster_id}],
            timestamp=utc(at).replace(tzinfo=None),
            unit="Bytes",
        )
    )


def add_replicated_automated_backup(
    account_id: str,
    source_region: str,
    instance_id: str,
    dest_region: str,
    *,
    retention_days: int,
    earliest: datetime,
    latest: datetime,
    status: str = "active",
) -> str:
    """Replicate an instance's automated backups into `dest_region` (what
    StartDBInstanceAutomatedBackupsReplication does); returns the replicated backups' ARN.

    The destination lists them with the source's Region, instance ARN and identifier; the source
    instance's automated backups name the replica in DBInstanceAutomatedBackupsReplications (RDS
    API reference, DBInstanceAutomatedBackup; RDS user guide, "Replicating automated backups to
    another AWS Region").
    """
    from auditor.sandbox.moto_ext.services import automated_backups_arn

    src = rds_backend(account_id, source_region)
    dest = rds_backend(account_id, dest_region)
    db = src.databases[instance_id]
    arn = automated_backups_arn(dest_region, account_id, db.db_instance_arn)
    if not hasattr(dest, "auditor_replicated_backups"):
        dest.auditor_replicated_backups = {}
    dest.auditor_replicated_backups[arn] = {
        "DBInstanceArn": db.db_instance_arn,
        "DbiResourceId": db.dbi_resource_id,
        "Region": source_region,
        "DBInstanceIdentifier": instance_id,
        "RestoreWindow": {"EarliestTime": utc(earliest), "LatestTime": utc(latest)},
        "AllocatedStorage": db.allocated_storage,
        "Status": status,
        "Engine": db.engine,
        "Encrypted": bool(db.storage_encrypted),
        "BackupRetentionPeriod": retention_days,
        "DBInstanceAutomatedBackupsArn": arn,
    }
    if not hasattr(src, "auditor_replications"):
        src.auditor_replications = {}
    src.auditor_replications.setdefault(db.db_instance_arn, []).append(arn)
    return arn


def add_dynamodb_backup(
    account_id: str,
    region: str,
    table: Any,
    *,
    name: str,
    backup_type: str,
    created: datetime,
    size_bytes: int,
    expiry: datetime | None = None,
    status: str = "AVAILABLE",
    rng: random.Random | None = None,
    backend: Any = None,
) -> str:
    """Insert a DynamoDB backup (USER | SYSTEM | AWS_BACKUP) without copying the table; its ARN."""
    from auditor.sandbox.moto_ext.services import LightBackup

    backend = backend or dynamodb_backend(account_id, region)
    ident = f"{int(created.timestamp() * 1000):014d}-{_rand_hex(rng, 8)}"
    backup = LightBackup(
        account_id, region, name, table, backup_type, created, size_bytes, ident, expiry, status
    )
    backend.backups[backup.arn] = backup
    return backup.arn


def resource_size_bytes(account_id: str, region: str, resource_arn: str) -> int | None:
    """Size of an existing resource (None when it does not exist); for StartBackupJob."""
    parts = resource_arn.split(":", 5)
    service, rest = parts[2], parts[5] if len(parts) > 5 else ""
    if service == "ec2" and rest.startswith("volume/"):
        vol = ec2_backend(account_id, region).volumes.get(rest.split("/", 1)[1])
        return None if vol is None else vol.size * GIB
    if service == "rds":
        backend = rds_backend(account_id, region)
        kind, _, ident = rest.partition(":")
        obj = (backend.databases if kind == "db" else backend.clusters).get(ident)
        if obj is None:
            return None
        # An Aurora cluster's AllocatedStorage is always 1 (RDS API reference, DBCluster): its
        # backups are the size of the cluster volume the seeder gave it.
        volume = getattr(obj, "_sandbox_volume_bytes", None)
        return int(volume) if volume else int(obj.allocated_storage or 1) * GIB
    if service == "dynamodb":
        table = dynamodb_backend(account_id, region).tables.get(rest.split("/", 1)[1])
        return None if table is None else int(getattr(table, "_sandbox_size", 0) or 0)
    if service == "elasticfilesystem":
        fs = efs_backend(account_id, region).file_systems_by_id.get(rest.split("/", 1)[1])
        return None if fs is None else int(fs._size_value)
    if service == "storagegateway":
        from auditor.sandbox.moto_ext.storagegateway.models import storagegateway_backends

        vol = storagegateway_backends[account_id][region].volumes.get(resource_arn)
        return None if vol is None else int(vol["VolumeSizeInBytes"])
    if service == "fsx" and rest.startswith("file-system/"):
        from auditor.sandbox.moto_ext import fsx

        fs = fsx.fsx_backend(account_id, region).file_systems.get(rest.split("/", 1)[1])
        return None if fs is None else int(fs.storage_capacity or 1) * GIB
    return None


def resource_encrypted(account_id: str, region: str, resource_arn: str) -> bool:
    """Whether an existing resource is encrypted at rest (True for types always encrypted)."""
    parts = resource_arn.split(":", 5)
    service, rest = parts[2], parts[5] if len(parts) > 5 else ""
    if service == "ec2" and rest.startswith("volume/"):
        vol = ec2_backend(account_id, region).volumes.get(rest.split("/", 1)[1])
        return bool(vol is not None and vol.encrypted)
    if service == "rds":
        backend = rds_backend(account_id, region)
        kind, _, ident = rest.partition(":")
        obj = (backend.databases if kind == "db" else backend.clusters).get(ident)
        return bool(obj is not None and getattr(obj, "storage_encrypted", False))
    # DynamoDB tables, EFS file systems and gateway volumes are always encrypted at rest.
    return True


def create_backup_artifact(
    account_id: str,
    region: str,
    resource_arn: str,
    *,
    job_id: str,
    created: datetime,
    size_bytes: int,
    managed: bool,
    encrypted: bool,
    kms_key_id: str | None = None,
    rng: random.Random | None = None,
) -> str:
    """Create what AWS Backup leaves behind for one backup of `resource_arn`; its recovery point ARN.

    `managed` is whether AWS Backup fully manages the type in this region (DynamoDB advanced
    features); EFS is always managed.
    """
    parts = resource_arn.split(":", 5)
    service, rest = parts[2], parts[5] if len(parts) > 5 else ""
    if service == "ec2" and rest.startswith("volume/"):
        vol_id = rest.split("/", 1)[1]
        vol = ec2_backend(account_id, region).volumes.get(vol_id)
        sid = add_ebs_snapshot(
            account_id,
            region,
            volume_id=vol_id,
            volume_size_gib=vol.size if vol else max(1, size_bytes // GIB),
            created=created,
            description=AWS_BACKUP_EBS_DESCRIPTION,
            encrypted=encrypted,
            kms_key_id=kms_key_id,
            tags={"aws:backup:source-resource": vol_id},
            full_size_bytes=size_bytes,
            rng=rng,
        )
        return ebs_snapshot_arn(region, sid)
    if service == "storagegateway" and "/volume/" in rest:
        from auditor.sandbox.moto_ext.storagegateway.models import storagegateway_backends

        vol = storagegateway_backends[account_id][region].volumes.get(resource_arn)
        vol_id = resource_arn.rsplit("/", 1)[1].lower()  # EC2 writes gateway ids in lower case
        gib = int(vol["VolumeSizeInBytes"]) // GIB if vol else max(1, size_bytes // GIB)
        sid = add_ebs_snapshot(
            account_id,
            region,
            volume_id=vol_id,
            volume_size_gib=gib,
            created=created,
            description=AWS_BACKUP_EBS_DESCRIPTION,
            encrypted=encrypted,
            kms_key_id=kms_key_id,
            tags={"aws:backup:source-resource": vol_id},
            full_size_bytes=size_bytes,
            rng=rng,
        )
        return ebs_snapshot_arn(region, sid)
    if service == "rds" and rest.startswith("db:"):
        backend = rds_backend(account_id, region)
        db = backend.databases.get(rest[3:])
        if db is not None:
            return add_rds_snapshot(
                account_id,
                region,
                db,
                snapshot_id=f"awsbackup:job-{job_id.lower()}",
                snapshot_type="awsbackup",
                created=created,
            )
    if service == "rds" and rest.startswith("cluster:"):
        backend = rds_backend(account_id, region)
        cluster = backend.clusters.get(rest[8:])
        if cluster is not None:
            return add_rds_snapshot(
                account_id,
                region,
                cluster,
                snapshot_id=f"awsbackup:job-{job_id.lower()}",
                snapshot_type="awsbackup",
                created=created,
            )
    if service == "fsx" and rest.startswith("file-system/"):
        # AWS Backup's FSx recovery point is an FSx backup of Type AWS_BACKUP (FSx API
        # reference, Backup.Type); see moto_ext/fsx.py.
        from auditor.sandbox.moto_ext import fsx

        fs = fsx.fsx_backend(account_id, region).file_systems.get(rest.split("/", 1)[1])
        if fs is not None:
            return fsx.add_backup(
                account_id,
                region,
                fsx.file_system_metadata(fs),
                backup_type="AWS_BACKUP",
                created=created,
                backup_id=f"backup-{_rand_hex(rng, 17)}",
                size_bytes=size_bytes,
            )
    if service == "dynamodb" and not managed:
        table = dynamodb_backend(account_id, region).tables.get(rest.split("/", 1)[1])
        if table is not None:
            return add_dynamodb_backup(
                account_id,
                region,
                table,
                name=f"AwsBackup-{job_id.lower()}",
                backup_type="AWS_BACKUP",
                created=created,
                size_bytes=size_bytes,
                rng=rng,
            )
    rp_id = (
        str(uuid.UUID(int=(rng or random).getrandbits(128), version=4)).upper()
        if rng
        else str(uuid.uuid4()).upper()
    )
    return f"arn:aws:backup:{region}:{account_id}:recovery-point:{rp_id}"


def utc(dt: datetime) -> datetime:
    """`dt` as an aware UTC datetime."""
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)
