"""FSx file systems and backups, DocumentDB and Neptune clusters and snapshots, through real boto3
calls against moto with the sandbox's additions.

What is asserted is AWS's documented behaviour: FSx's DescribeBackups returns every backup the
account owns with its Type (AUTOMATIC, USER_INITIATED, AWS_BACKUP) and the file system's metadata;
AutomaticBackupRetentionDays is the file system's daily schedule (0: off); DocumentDB and Neptune
clusters have RDS cluster ARNs and are told apart by their engine only.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import boto3
import pandas as pd
import pytest

from auditor.sandbox.moto_ext import fsx as fsx_ext

ACCOUNT = "123456789012"
R = "us-east-1"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/backup"
GIB = 1024**3
SUBNET = "subnet-0123456789abcdef0"


def _one(df: pd.DataFrame, **eq):
    mask = pd.Series(True, index=df.index)
    for k, v in eq.items():
        mask &= df[k] == v
    rows = df[mask]
    assert len(rows) == 1, (eq, rows)
    return rows.iloc[0]


def _tags(inv, arn):
    t = inv.tables["tags"]
    rows = t[t["arn"] == arn]
    return dict(zip(rows["key"], rows["value"]))


def _file_system(fsx, fs_type: str, config_key: str, retention: int, **extra):
    config = {"AutomaticBackupRetentionDays": retention, **extra}
    return fsx.create_file_system(
        FileSystemType=fs_type,
        StorageCapacity=1200,
        SubnetIds=[SUBNET],
        Tags=[{"Key": "backup", "Value": "gold"}, {"Key": "Name", "Value": fs_type.lower()}],
        **{config_key: config},
    )["FileSystem"]


def test_fsx_file_systems_of_every_kind_with_their_automatic_schedule(aws, collect):
    fsx = boto3.client("fsx", R)
    win = _file_system(fsx, "WINDOWS", "WindowsConfiguration", 7, ThroughputCapacity=32)
    lustre = _file_system(fsx, "LUSTRE", "LustreConfiguration", 0, DeploymentType="PERSISTENT_2")
    ontap = _file_system(
        fsx, "ONTAP", "OntapConfiguration", 30, DeploymentType="MULTI_AZ_1", ThroughputCapacity=128
    )
    zfs = _file_system(
        fsx,
        "OPENZFS",
        "OpenZFSConfiguration",
        35,
        DeploymentType="SINGLE_AZ_2",
        ThroughputCapacity=160,
    )

    inv = collect()
    assert inv.errors.empty, inv.errors
    res = inv.resources.set_index("resource_id")
    for fs, kind, days in ((win, "WINDOWS", 7), (ontap, "ONTAP", 30), (zfs, "OPENZFS", 35)):
        row = res.loc[fs["FileSystemId"]]
        assert row["resource_type"] == "fsx-filesystem"
        assert row["resource_arn"] == fs["ResourceARN"]
        assert row["engine"] == kind
        assert row["size_bytes"] == 1200 * GIB  # StorageCapacity is in GiB
        assert row["encrypted"]  # FSx encrypts every file system at rest
        assert row["native_schedule"] == "fsx-automatic"
        assert (row["native_frequency_hours"], row["native_retention_days"]) == (24, days)
        assert row["name"] == kind.lower()
        assert _tags(inv, fs["ResourceARN"]) == {"backup": "gold", "Name": kind.lower()}
    # AutomaticBackupRetentionDays 0 turns automatic backups off: no native schedule
    assert pd.isna(res.loc[lustre["FileSystemId"], "native_schedule"])


def test_fsx_backups_by_type_with_expiry_copies_and_orphans(aws, collect):
    fsx = boto3.client("fsx", R)
    fs = _file_system(fsx, "WINDOWS", "WindowsConfiguration", 10, ThroughputCapacity=32)
    user = fsx.create_backup(FileSystemId=fs["FileSystemId"])["Backup"]
    meta = fsx_ext.file_system_metadata(
        fsx_ext.fsx_backend(ACCOUNT, R).file_systems[fs["FileSystemId"]]
    )
    t = datetime(2026, 11, 25, 5, 10, tzinfo=UTC)
    auto_arn = fsx_ext.add_backup(
        ACCOUNT, R, meta, backup_type="AUTOMATIC", created=t, backup_id="backup-0auto"
    )
    # a copy from another Region names its source backup and Region
    copy_arn = fsx_ext.add_backup(
        ACCOUNT,
        R,
        {**meta, "ResourceARN": meta["ResourceARN"].replace(R, "eu-west-1")},
        backup_type="USER_INITIATED",
        created=t,
        backup_id="backup-0copy",
        source=("backup-0source", "eu-west-1"),
    )
    # the file system of a user-initiated backup is gone: its metadata stays with the backup
    gone = {
        "FileSystemId": "fs-0gone",
        "FileSystemType": "LUSTRE",
        "ResourceARN": f"arn:aws:fsx:{R}:{ACCOUNT}:file-system/fs-0gone",
    }
    orphan_arn = fsx_ext.add_backup(
        ACCOUNT, R, gone, backup_type="USER_INITIATED", created=t, backup_id="backup-0orphan"
    )

    inv = collect()
    assert inv.errors.empty, inv.errors
    rps = inv.recovery_points
    assert set(rps["backup_type"]) == {"fsx-backup"}
    made = _one(rps, recovery_point_arn=user["ResourceARN"])
    assert (made["created_by"], made["source"], made["status"]) == ("user", "native", "COMPLETED")
    assert made["resource_arn"] == fs["ResourceARN"] and made["resource_type"] == "fsx-filesystem"
    assert pd.isna(made["delete_at"])  # user-initiated backups are kept until deleted
    auto = _one(rps, recovery_point_arn=auto_arn)
    assert auto["created_by"] == "automated"
    assert auto["delete_at"] - auto["created_at"] == timedelta(days=10)
    copy = _one(rps, recovery_point_arn=copy_arn)
    assert copy["copy_source_arn"] == f"arn:aws:fsx:eu-west-1:{ACCOUNT}:backup/backup-0source"
    orphan = _one(rps, recovery_point_arn=orphan_arn)
    assert orphan["resource_arn"] == gone["ResourceARN"]


def test_aws_backup_fsx_recovery_point_is_one_row_billed_by_fsx(aws, collect):
    fsx = boto3.client("fsx", R)
    fs = _file_system(
        fsx,
        "OPENZFS",
        "OpenZFSConfiguration",
        0,
        DeploymentType="SINGLE_AZ_2",
        ThroughputCapacity=160,
    )
    backup = boto3.client("backup", R)
    backup.create_backup_vault(BackupVaultName="v")
    job = backup.start_backup_job(
        BackupVaultName="v", ResourceArn=fs["ResourceARN"], IamRoleArn=ROLE
    )
    # AWS Backup's FSx recovery point is an FSx backup of Type AWS_BACKUP
    assert job["RecoveryPointArn"].startswith(f"arn:aws:fsx:{R}:{ACCOUNT}:backup/")
    listed = fsx.describe_backups(Filters=[{"Name": "backup-type", "Values": ["AWS_BACKUP"]}])
    assert [b["ResourceARN"] for b in listed["Backups"]] == [job["RecoveryPointArn"]]

    inv = collect()
    assert inv.errors.empty, inv.errors
    row = _one(inv.recovery_points, recovery_point_arn=job["RecoveryPointArn"])
    assert (row["source"], row["created_by"], row["vault_name"]) == (
        "aws-backup",
        "aws-backup",
        "v",
    )
    assert (row["resource_type"], row["backup_type"]) == ("fsx-filesystem", "fsx-backup")


def _clusters():
    rds = boto3.client("rds", R)
    boto3.client("docdb", R).create_db_cluster(
        DBClusterIdentifier="docs",
        Engine="docdb",
        MasterUsername="admin",
        MasterUserPassword="not-a-secret-123",
        StorageEncrypted=True,
        BackupRetentionPeriod=7,
        Tags=[{"Key": "backup", "Value": "gold"}],
    )
    boto3.client("neptune", R).create_db_cluster(
        DBClusterIdentifier="graph",
        Engine="neptune",
        BackupRetentionPeriod=3,
        Tags=[{"Key": "backup", "Value": "silver"}],
    )
    rds.create_db_cluster(
        DBClusterIdentifier="aurora",
        Engine="aurora-postgresql",
        MasterUsername="admin",
        MasterUserPassword="not-a-secret-123",
        BackupRetentionPeriod=5,
    )
    boto3.client("docdb", R).create_db_cluster_snapshot(
        DBClusterIdentifier="docs", DBClusterSnapshotIdentifier="docs-manual"
    )
    return rds


def test_docdb_and_neptune_clusters_are_typed_by_engine_not_as_aurora(aws, collect):
    _clusters()
    inv = collect()
    assert inv.errors.empty, inv.errors
    res = inv.resources.set_index("resource_id")
    assert res.loc["docs", "resource_type"] == "docdb-cluster"
    assert res.loc["graph", "resource_type"] == "neptune-cluster"
    assert res.loc["aurora", "resource_type"] == "rds-cluster"
    assert (res["resource_type"] == "rds-cluster").sum() == 1
    docs = res.loc["docs"]
    assert docs["resource_arn"] == f"arn:aws:rds:{R}:{ACCOUNT}:cluster:docs"
    assert docs["engine"] == "docdb" and bool(docs["encrypted"])
    assert (docs["native_schedule"], docs["native_retention_days"]) == ("docdb-automated", 7)
    assert docs["continuous_window_days"] == 7
    assert res.loc["graph", "native_retention_days"] == 3
    assert _tags(inv, docs["resource_arn"]) == {"backup": "gold"}

    rps = inv.recovery_points
    manual = _one(rps, recovery_point_arn=f"arn:aws:rds:{R}:{ACCOUNT}:cluster-snapshot:docs-manual")
    assert (manual["backup_type"], manual["resource_type"], manual["created_by"]) == (
        "docdb-cluster-snapshot",
        "docdb-cluster",
        "user",
    )
    graph = rps[rps["resource_arn"] == f"arn:aws:rds:{R}:{ACCOUNT}:cluster:graph"]
    assert set(graph["backup_type"]) == {"neptune-cluster-snapshot"}
    automated = graph[graph["created_by"] == "automated"]
    assert len(automated) >= 1
    assert (automated["delete_at"] - automated["created_at"]).dt.days.eq(3).all()
    # no DocumentDB or Neptune snapshot is counted as Aurora's
    aurora_kind = rps[rps["backup_type"] == "rds-cluster-snapshot"]
    assert set(aurora_kind["resource_arn"]) == {f"arn:aws:rds:{R}:{ACCOUNT}:cluster:aurora"}


@pytest.mark.parametrize(
    ("cluster", "rtype"), [("docs", "docdb-cluster"), ("graph", "neptune-cluster")]
)
def test_aws_backup_recovery_points_of_docdb_and_neptune(aws, collect, cluster, rtype):
    _clusters()
    backup = boto3.client("backup", R)
    backup.create_backup_vault(BackupVaultName="v")
    arn = f"arn:aws:rds:{R}:{ACCOUNT}:cluster:{cluster}"
    job = backup.start_backup_job(BackupVaultName="v", ResourceArn=arn, IamRoleArn=ROLE)
    listed = backup.list_recovery_points_by_backup_vault(BackupVaultName="v")["RecoveryPoints"]
    assert {p["ResourceType"] for p in listed} == {
        {"docdb-cluster": "DocumentDB", "neptune-cluster": "Neptune"}[rtype]
    }

    inv = collect()
    assert inv.errors.empty, inv.errors
    row = _one(inv.recovery_points, recovery_point_arn=job["RecoveryPointArn"])
    assert (row["resource_type"], row["backup_type"]) == (rtype, f"{rtype}-snapshot")
    assert (row["source"], row["vault_name"]) == ("aws-backup", "v")


def test_listings_ask_rds_for_the_engine_and_page(aws, collect, hooks):
    _clusters()
    collect(session_factory=hooks, services=("docdb", "neptune"))
    # the serialized query of every RDS request the two collectors made
    sent = [(op, p["body"]) for s, op, p in hooks.params if s == "rds"]
    assert sorted(op for op, _ in sent) == [
        "DescribeDBClusterSnapshots",
        "DescribeDBClusterSnapshots",
        "DescribeDBClusters",
        "DescribeDBClusters",
    ]
    assert sorted(body["Filters.Filter.1.Values.Value.1"] for _, body in sent) == [
        "docdb",
        "docdb",
        "neptune",
        "neptune",
    ]
    for _, body in sent:
        assert body["Filters.Filter.1.Name"] == "engine" and "Filters.Filter.2.Name" not in body
        assert body["MaxRecords"] == 100
