"""RDS, DynamoDB and EFS facts real accounts show, made through the emulator's API and collected.

The emulator behaves as AWS documents: Aurora's AllocatedStorage is 1 and its size is CloudWatch's
VolumeBytesUsed; cross-Region snapshot copies name their source; AWS Backup's Aurora snapshots are not
in the default cluster-snapshot listing; ListBackups(ALL) leaves AWS Backup's backups out; EFS tags
file systems whose automatic backups are on.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import boto3
import pandas as pd

from auditor.sandbox.moto_ext import native

ACCOUNT = "123456789012"
AS_OF = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
ROLE = f"arn:aws:iam::{ACCOUNT}:role/backup"
GIB = 1024**3


def _aurora(rds, ident: str) -> None:
    rds.create_db_cluster(
        DBClusterIdentifier=ident,
        Engine="aurora-mysql",
        MasterUsername="admin",
        MasterUserPassword="password123",
        BackupRetentionPeriod=3,
    )


def test_aurora_reports_allocated_storage_1_and_its_size_comes_from_cloudwatch(aws, collect):
    rds = boto3.client("rds", "us-east-1")
    _aurora(rds, "measured")
    _aurora(rds, "new")
    assert {c["AllocatedStorage"] for c in rds.describe_db_clusters()["DBClusters"]} == {1}
    native.add_aurora_volume_bytes(
        ACCOUNT, "us-east-1", "measured", 42 * GIB, AS_OF - timedelta(hours=1)
    )
    inv = collect(as_of=AS_OF)
    res = inv.resources.set_index("resource_id")
    assert (res.loc["measured", "size_bytes"], res.loc["measured", "size_basis"]) == (
        42 * GIB,
        "VolumeBytesUsed",
    )
    # No datapoint yet (a cluster created in the last hour): size unknown, not 1 GiB.
    assert pd.isna(res.loc["new", "size_bytes"]) and res.loc["new", "size_basis"] == "unknown"
    assert inv.errors.empty, inv.errors


def test_cross_region_copies_are_attributed_to_the_source_database(aws, collect):
    east1, east2 = boto3.client("rds", "us-east-1"), boto3.client("rds", "us-east-2")
    east1.create_db_instance(
        DBInstanceIdentifier="pay",
        DBInstanceClass="db.t3.micro",
        Engine="postgres",
        AllocatedStorage=50,
        BackupRetentionPeriod=0,
    )
    src = east1.create_db_snapshot(DBInstanceIdentifier="pay", DBSnapshotIdentifier="pay-1")
    src_arn = src["DBSnapshot"]["DBSnapshotArn"]
    copy = east2.copy_db_snapshot(
        SourceDBSnapshotIdentifier=src_arn, TargetDBSnapshotIdentifier="pay-1-copy"
    )["DBSnapshot"]
    assert (copy["SourceRegion"], copy["SourceDBSnapshotIdentifier"]) == ("us-east-1", src_arn)
    _aurora(east1, "cat")
    csrc = east1.create_db_cluster_snapshot(
        DBClusterIdentifier="cat", DBClusterSnapshotIdentifier="cat-1"
    )["DBClusterSnapshot"]["DBClusterSnapshotArn"]
    east2.copy_db_cluster_snapshot(
        SourceDBClusterSnapshotIdentifier=csrc, TargetDBClusterSnapshotIdentifier="cat-1-copy"
    )

    inv = collect(regions=("us-east-1", "us-east-2"), as_of=AS_OF)
    rps = inv.recovery_points.set_index("recovery_point_arn")
    row = rps.loc[copy["DBSnapshotArn"]]
    assert row["region"] == "us-east-2"
    assert row["resource_arn"] == f"arn:aws:rds:us-east-1:{ACCOUNT}:db:pay"
    assert row["copy_source_arn"] == src_arn
    assert row["source_created_at"] == rps.loc[src_arn, "created_at"]
    crow = rps.loc[f"arn:aws:rds:us-east-2:{ACCOUNT}:cluster-snapshot:cat-1-copy"]
    assert crow["resource_arn"] == f"arn:aws:rds:us-east-1:{ACCOUNT}:cluster:cat"
    assert crow["copy_source_arn"] == csrc
    assert inv.errors.empty, inv.errors


def test_aws_backup_aurora_snapshot_hidden_from_default_listing_is_still_inventoried(aws, collect):
    rds = boto3.client("rds", "us-east-1")
    _aurora(rds, "orders")
    backup = boto3.client("backup", "us-east-1")
    backup.create_backup_vault(BackupVaultName="v")
    job = backup.start_backup_job(
        BackupVaultName="v",
        ResourceArn=f"arn:aws:rds:us-east-1:{ACCOUNT}:cluster:orders",
        IamRoleArn=ROLE,
    )
    listed = {
        s["DBClusterSnapshotArn"] for s in rds.describe_db_cluster_snapshots()["DBClusterSnapshots"]
    }
    assert job["RecoveryPointArn"] not in listed
    inv = collect(as_of=AS_OF)
    rps = inv.recovery_points
    row = rps[rps["recovery_point_arn"] == job["RecoveryPointArn"]]
    assert len(row) == 1
    assert row[["source", "backup_type", "vault_name"]].values.tolist() == [
        ["aws-backup", "rds-cluster-snapshot", "v"]
    ]


def test_list_backups_all_leaves_aws_backup_out_and_the_collector_still_has_them(aws, collect):
    ddb = boto3.client("dynamodb", "us-east-1")
    ddb.create_table(
        TableName="t",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
        DeletionProtectionEnabled=True,
    )
    ddb.create_backup(TableName="t", BackupName="mine")
    backup = boto3.client("backup", "us-east-1")
    backup.create_backup_vault(BackupVaultName="v")
    job = backup.start_backup_job(
        BackupVaultName="v",
        ResourceArn=f"arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/t",
        IamRoleArn=ROLE,
    )
    every = {b["BackupType"] for b in ddb.list_backups(BackupType="ALL")["BackupSummaries"]}
    assert every == {"USER"}
    inv = collect(as_of=AS_OF)
    rps = inv.recovery_points
    assert set(rps["created_by"]) == {"user", "aws-backup"}
    assert (rps["recovery_point_arn"] == job["RecoveryPointArn"]).sum() == 1
    assert inv.resources.set_index("name").loc["t", "deletion_protection"]


def test_efs_automatic_backups_show_as_the_system_tag(aws, collect):
    efs = boto3.client("efs", "us-east-1")
    on = efs.create_file_system(CreationToken="on", Backup=True)["FileSystemId"]
    off = efs.create_file_system(CreationToken="off")["FileSystemId"]
    inv = collect(as_of=AS_OF)
    tags = inv.tables["tags"]
    tagged = tags[tags["key"] == "aws:elasticfilesystem:default-backup"]
    res = inv.resources.set_index("resource_id")
    assert tagged[["arn", "value"]].values.tolist() == [[res.loc[on, "resource_arn"], "enabled"]]
    assert off in res.index


def test_retained_automated_backups_give_the_deleted_instance_snapshots_an_expiry(aws, collect):
    rds = boto3.client("rds", "us-east-1")
    rds.create_db_instance(
        DBInstanceIdentifier="gone",
        DBInstanceClass="db.t3.micro",
        Engine="postgres",
        AllocatedStorage=20,
        BackupRetentionPeriod=5,
    )
    rds.delete_db_instance(
        DBInstanceIdentifier="gone", SkipFinalSnapshot=True, DeleteAutomatedBackups=False
    )
    listed = rds.describe_db_instance_automated_backups()["DBInstanceAutomatedBackups"]
    assert [
        (b["DBInstanceIdentifier"], b["Status"], b["BackupRetentionPeriod"]) for b in listed
    ] == [("gone", "retained", 5)]
    assert listed[0]["DBInstanceAutomatedBackupsArn"].startswith(
        f"arn:aws:rds:us-east-1:{ACCOUNT}:auto-backup:ab-"
    )
    inv = collect(as_of=AS_OF)
    rps = inv.recovery_points
    kept = rps[rps["resource_arn"] == f"arn:aws:rds:us-east-1:{ACCOUNT}:db:gone"]
    assert len(kept) >= 1 and set(kept["created_by"]) == {"automated"}
    # Still billed, and gone 5 days after it was taken (the deleted instance's retention).
    assert (kept["delete_at"] - kept["created_at"]).dt.days.eq(5).all()
    assert inv.errors.empty, inv.errors


def test_automated_backups_replicated_to_another_region_are_its_cross_region_copy(aws, collect):
    rds = boto3.client("rds", "us-east-1")
    rds.create_db_instance(
        DBInstanceIdentifier="orders",
        DBInstanceClass="db.t3.micro",
        Engine="postgres",
        AllocatedStorage=30,
        BackupRetentionPeriod=7,
    )
    arn = native.add_replicated_automated_backup(
        ACCOUNT,
        "us-east-1",
        "orders",
        "us-west-2",
        retention_days=7,
        earliest=AS_OF - timedelta(days=7),
        latest=AS_OF - timedelta(minutes=10),
    )
    source = rds.describe_db_instance_automated_backups()["DBInstanceAutomatedBackups"][0]
    assert source["DBInstanceAutomatedBackupsReplications"] == [
        {"DBInstanceAutomatedBackupsArn": arn}
    ]
    inv = collect(regions=("us-east-1", "us-west-2"), as_of=AS_OF)
    rps = inv.recovery_points.set_index("recovery_point_arn")
    row = rps.loc[arn]
    assert row["region"] == "us-west-2"
    assert row["resource_arn"] == f"arn:aws:rds:us-east-1:{ACCOUNT}:db:orders"
    assert row["backup_type"] == "rds-automated-backup"
    assert row["created_at"] == pd.Timestamp(AS_OF - timedelta(minutes=10))
    assert row["copy_source_arn"] == row["resource_arn"] and pd.isna(row["delete_at"])
    # The source Region's own active automated backups are the instance's schedule, no row.
    assert (inv.recovery_points["backup_type"] == "rds-automated-backup").sum() == 1
    assert inv.errors.empty, inv.errors
