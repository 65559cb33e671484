"""Each collector against moto + the sandbox's additions, through real boto3 calls."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import boto3
import pandas as pd

ACCOUNT = "123456789012"
R = "us-east-1"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/backup"
GIB = 1024**3


def _tags(inv, arn):
    t = inv.tables["tags"]
    rows = t[t["arn"] == arn]
    return dict(zip(rows["key"], rows["value"]))


def _one(df, **eq):
    mask = pd.Series(True, index=df.index)
    for k, v in eq.items():
        mask &= df[k] == v
    rows = df[mask]
    assert len(rows) == 1, (eq, rows)
    return rows.iloc[0]


def test_ebs_volumes_and_snapshots(aws, collect):
    ec2 = boto3.client("ec2", R)
    vol = ec2.create_volume(
        Size=100,
        AvailabilityZone=f"{R}a",
        Encrypted=True,
        TagSpecifications=[
            {
                "ResourceType": "volume",
                "Tags": [{"Key": "backup", "Value": "gold"}, {"Key": "Name", "Value": "data"}],
            }
        ],
    )
    snap = ec2.create_snapshot(
        VolumeId=vol["VolumeId"],
        TagSpecifications=[{"ResourceType": "snapshot", "Tags": [{"Key": "k", "Value": "v"}]}],
    )
    inv = collect()
    assert inv.errors.empty, inv.errors
    res = _one(inv.resources, resource_id=vol["VolumeId"])
    assert res["resource_type"] == "ebs-volume"
    assert res["resource_arn"] == f"arn:aws:ec2:{R}:{ACCOUNT}:volume/{vol['VolumeId']}"
    assert res["size_bytes"] == 100 * GIB and res["encrypted"] and res["name"] == "data"
    assert _tags(inv, res["resource_arn"]) == {"backup": "gold", "Name": "data"}
    rp = _one(
        inv.recovery_points, recovery_point_arn=f"arn:aws:ec2:{R}::snapshot/{snap['SnapshotId']}"
    )
    assert rp["resource_arn"] == res["resource_arn"]
    assert (rp["source"], rp["created_by"], rp["backup_type"]) == ("native", "user", "ebs-snapshot")
    assert rp["status"] == "COMPLETED" and rp["storage_class"] == "warm"
    assert rp["size_bytes"] == 100 * GIB and rp["size_basis"] in (
        "FullSnapshotSizeInBytes",
        "VolumeSize(upper-bound)",
    )
    assert rp["encrypted"]
    assert _tags(inv, rp["recovery_point_arn"]) == {"k": "v"}
    assert str(rp["created_at"].tz) == "UTC"


def test_rds_instances_clusters_and_snapshots(aws, collect):
    rds = boto3.client("rds", R)
    rds.create_db_instance(
        DBInstanceIdentifier="db1",
        DBInstanceClass="db.t3.micro",
        Engine="postgres",
        AllocatedStorage=50,
        BackupRetentionPeriod=7,
        StorageEncrypted=True,
        Tags=[{"Key": "env", "Value": "prod"}],
    )
    rds.create_db_instance(
        DBInstanceIdentifier="db0",
        DBInstanceClass="db.t3.micro",
        Engine="mysql",
        AllocatedStorage=20,
        BackupRetentionPeriod=0,
    )
    rds.create_db_cluster(
        DBClusterIdentifier="c1",
        Engine="aurora-postgresql",
        MasterUsername="admin",
        MasterUserPassword="password123",
        BackupRetentionPeriod=14,
        Tags=[{"Key": "backup", "Value": "gold"}],
    )
    rds.create_db_instance(
        DBInstanceIdentifier="c1-a",
        DBInstanceClass="db.r5.large",
        Engine="aurora-postgresql",
        DBClusterIdentifier="c1",
    )
    rds.create_db_snapshot(DBInstanceIdentifier="db1", DBSnapshotIdentifier="manual-1")
    rds.create_db_cluster_snapshot(
        DBClusterIdentifier="c1", DBClusterSnapshotIdentifier="cmanual-1"
    )
    backup = boto3.client("backup", R)
    backup.create_backup_vault(BackupVaultName="v")
    job = backup.start_backup_job(
        BackupVaultName="v", ResourceArn=f"arn:aws:rds:{R}:{ACCOUNT}:db:db1", IamRoleArn=ROLE
    )

    inv = collect()
    assert inv.errors.empty, inv.errors
    res = inv.resources.set_index("resource_id")
    assert (
        res.loc["db1", "resource_type"] == "rds-instance" and res.loc["db1", "engine"] == "postgres"
    )
    assert res.loc["db1", "native_schedule"] == "rds-automated"
    assert (
        res.loc["db1", "native_frequency_hours"] == 24
        and res.loc["db1", "native_retention_days"] == 7
    )
    assert pd.isna(res.loc["db0", "native_schedule"])  # retention 0: no automated backups
    assert (
        res.loc["c1", "resource_type"] == "rds-cluster"
        and res.loc["c1", "native_retention_days"] == 14
    )
    assert res.loc["c1-a", "parent_arn"] == f"arn:aws:rds:{R}:{ACCOUNT}:cluster:c1"
    assert pd.isna(
        res.loc["c1-a", "native_schedule"]
    )  # an Aurora member's backups are the cluster's
    assert _tags(inv, f"arn:aws:rds:{R}:{ACCOUNT}:cluster:c1") == {"backup": "gold"}

    rps = inv.recovery_points
    manual = _one(rps, recovery_point_arn=f"arn:aws:rds:{R}:{ACCOUNT}:snapshot:manual-1")
    assert (manual["created_by"], manual["backup_type"], manual["resource_type"]) == (
        "user",
        "rds-snapshot",
        "rds-instance",
    )
    assert pd.isna(manual["delete_at"])
    auto = rps[
        (rps["created_by"] == "automated")
        & (rps["resource_arn"] == f"arn:aws:rds:{R}:{ACCOUNT}:db:db1")
    ]
    assert len(auto) >= 1
    assert (auto["delete_at"] - auto["created_at"]).dt.days.eq(7).all()
    cman = _one(rps, recovery_point_arn=f"arn:aws:rds:{R}:{ACCOUNT}:cluster-snapshot:cmanual-1")
    assert cman["backup_type"] == "rds-cluster-snapshot" and cman["resource_type"] == "rds-cluster"
    # AWS Backup's DB snapshot: listed by RDS (SnapshotType=awsbackup) and in the vault -> one row.
    merged = _one(rps, recovery_point_arn=job["RecoveryPointArn"])
    assert (merged["source"], merged["created_by"], merged["vault_name"]) == (
        "aws-backup",
        "aws-backup",
        "v",
    )
    assert merged["backup_type"] == "rds-snapshot"


def test_dynamodb_tables_pitr_backups_and_bulk_tags(aws, collect):
    ddb = boto3.client("dynamodb", R)
    for name, tags in (("t1", [{"Key": "backup", "Value": "silver"}]), ("t2", [])):
        kwargs = {"Tags": tags} if tags else {}
        ddb.create_table(
            TableName=name,
            KeySchema=[{"AttributeName": "k", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "k", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
            **kwargs,
        )
    ddb.update_continuous_backups(
        TableName="t1", PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True}
    )
    b = ddb.create_backup(TableName="t2", BackupName="nightly")["BackupDetails"]
    inv = collect()
    assert inv.errors.empty, inv.errors
    res = inv.resources.set_index("name")
    t1 = f"arn:aws:dynamodb:{R}:{ACCOUNT}:table/t1"
    assert (
        res.loc["t1", "resource_arn"] == t1 and res.loc["t1", "native_schedule"] == "dynamodb-pitr"
    )
    assert res.loc["t1", "native_retention_days"] == 35
    assert pd.isna(res.loc["t2", "native_schedule"])
    assert _tags(inv, t1) == {"backup": "silver"}
    rp = _one(inv.recovery_points, recovery_point_arn=b["BackupArn"])
    assert rp["resource_arn"] == f"arn:aws:dynamodb:{R}:{ACCOUNT}:table/t2"
    assert (rp["backup_type"], rp["created_by"], rp["size_basis"]) == (
        "dynamodb-backup",
        "user",
        "BackupSizeBytes",
    )
    assert inv.manifest["api_calls"]["tag:GetResources"] >= 1


def test_efs_file_systems(aws, collect):
    efs = boto3.client("efs", R)
    fs = efs.create_file_system(
        CreationToken="tok",
        Encrypted=True,
        Tags=[{"Key": "Name", "Value": "home"}, {"Key": "backup", "Value": "gold"}],
    )
    inv = collect()
    assert inv.errors.empty, inv.errors
    res = _one(inv.resources, resource_id=fs["FileSystemId"])
    assert res["resource_type"] == "efs-filesystem" and res["name"] == "home" and res["encrypted"]
    assert res["resource_arn"].startswith(f"arn:aws:elasticfilesystem:{R}:{ACCOUNT}:file-system/")
    assert _tags(inv, res["resource_arn"])["backup"] == "gold"


def test_storage_gateway_volumes_and_their_snapshots(aws, collect):
    sgw = boto3.client("storagegateway", R)
    gw = sgw.activate_gateway(
        ActivationKey="AAAAA-BBBBB-CCCCC-DDDDD-EEEEE",
        GatewayName="gw",
        GatewayTimezone="GMT",
        GatewayRegion=R,
        GatewayType="CACHED",
    )["GatewayARN"]
    cached = sgw.create_cached_iscsi_volume(
        GatewayARN=gw,
        VolumeSizeInBytes=2 * 1024**4,
        TargetName="t1",
        NetworkInterfaceId="10.0.0.1",
        ClientToken="token-1",
        Tags=[{"Key": "backup", "Value": "gold"}],
    )["VolumeARN"]
    stored = sgw.create_stored_iscsi_volume(
        GatewayARN=gw,
        DiskId="disk-1",
        PreserveExistingData=False,
        TargetName="t2",
        NetworkInterfaceId="10.0.0.1",
    )["VolumeARN"]
    snap = sgw.create_snapshot(VolumeARN=cached, SnapshotDescription="nightly")["SnapshotId"]
    sgw.activate_gateway(
        ActivationKey="FFFFF-BBBBB-CCCCC-DDDDD-EEEEE",
        GatewayName="files",
        GatewayTimezone="GMT",
        GatewayRegion=R,
        GatewayType="FILE_S3",
    )
    inv = collect()
    assert inv.errors.empty, inv.errors
    assert (
        inv.manifest["api_calls"]["storagegateway:ListVolumes"] == 1
    )  # the file gateway has no volumes
    res = inv.resources.set_index("resource_arn")
    assert (
        res.loc[cached, "resource_type"] == "storagegateway-volume"
        and res.loc[cached, "parent_arn"] == gw
    )
    assert res.loc[cached, "size_bytes"] == 2 * 1024**4 and res.loc[cached, "name"] == "t1"
    assert stored in res.index and res.loc[stored, "state"] is not None
    assert _tags(inv, cached) == {"backup": "gold"}
    rp = _one(inv.recovery_points, recovery_point_arn=f"arn:aws:ec2:{R}::snapshot/{snap}")
    assert (rp["resource_arn"], rp["resource_type"]) == (cached, "storagegateway-volume")
    assert (rp["backup_type"], rp["created_by"], rp["source"]) == (
        "storagegateway-snapshot",
        "storage-gateway",
        "native",
    )


def test_backup_vaults_plans_selections_points_jobs_settings(aws, collect):
    ec2 = boto3.client("ec2", R)
    vol = ec2.create_volume(Size=8, AvailabilityZone=f"{R}a")["VolumeId"]
    vol_arn = f"arn:aws:ec2:{R}:{ACCOUNT}:volume/{vol}"
    efs = boto3.client("efs", R)
    fs = efs.create_file_system(CreationToken="x")
    fs_arn = fs["FileSystemArn"]
    bk = boto3.client("backup", R)
    bk.create_backup_vault(BackupVaultName="locked")
    bk.put_backup_vault_lock_configuration(
        BackupVaultName="locked", MinRetentionDays=7, MaxRetentionDays=400
    )
    bk.create_backup_vault(BackupVaultName="plain")
    plan = bk.create_backup_plan(
        BackupPlan={
            "BackupPlanName": "gold",
            "Rules": [
                {
                    "RuleName": "daily",
                    "TargetBackupVaultName": "locked",
                    "ScheduleExpression": "cron(0 5 ? * * *)",
                    "StartWindowMinutes": 60,
                    "CompletionWindowMinutes": 180,
                    "Lifecycle": {"MoveToColdStorageAfterDays": 30, "DeleteAfterDays": 365},
                    "CopyActions": [
                        {
                            "DestinationBackupVaultArn": f"arn:aws:backup:eu-west-1:{ACCOUNT}:backup-vault:dr",
                            "Lifecycle": {"DeleteAfterDays": 90},
                        }
                    ],
                }
            ],
        }
    )
    bk.create_backup_selection(
        BackupPlanId=plan["BackupPlanId"],
        BackupSelection={
            "SelectionName": "by-tag",
            "IamRoleArn": ROLE,
            "ListOfTags": [
                {
                    "ConditionType": "STRINGEQUALS",
                    "ConditionKey": "backup",
                    "ConditionValue": "gold",
                }
            ],
            "Conditions": {
                "StringEquals": [{"ConditionKey": "aws:ResourceTag/env", "ConditionValue": "prod"}]
            },
        },
    )
    ebs_job = bk.start_backup_job(
        BackupVaultName="locked",
        ResourceArn=vol_arn,
        IamRoleArn=ROLE,
        Lifecycle={"DeleteAfterDays": 35},
    )
    efs_job = bk.start_backup_job(BackupVaultName="plain", ResourceArn=fs_arn, IamRoleArn=ROLE)

    inv = collect()
    assert inv.errors.empty, inv.errors
    vaults = inv.tables["vaults"].set_index("vault_name")
    assert bool(vaults.loc["locked", "locked"]) and vaults.loc["locked", "min_retention_days"] == 7
    assert vaults.loc["locked", "max_retention_days"] == 400
    assert not bool(vaults.loc["plain", "locked"])
    plans = inv.tables["backup_plans"]
    assert list(plans["backup_plan_name"]) == ["gold"]
    rule = _one(inv.tables["backup_rules"], rule_name="daily")
    assert (
        rule["schedule_expression"] == "cron(0 5 ? * * *)" and rule["target_vault_name"] == "locked"
    )
    assert (rule["move_to_cold_after_days"], rule["delete_after_days"]) == (30, 365)
    assert (rule["start_window_minutes"], rule["completion_window_minutes"]) == (60, 180)
    copies = json.loads(rule["copy_actions"])
    assert copies == [
        {
            "destination_vault_arn": f"arn:aws:backup:eu-west-1:{ACCOUNT}:backup-vault:dr",
            "move_to_cold_after_days": None,
            "delete_after_days": 90,
        }
    ]
    sel = _one(inv.tables["backup_selections"], selection_name="by-tag")
    assert json.loads(sel["list_of_tags"])[0]["ConditionValue"] == "gold"
    assert json.loads(sel["conditions"])["StringEquals"][0]["ConditionKey"] == "aws:ResourceTag/env"
    assert sel["iam_role_arn"] == ROLE

    rps = inv.recovery_points
    # The EBS snapshot AWS Backup made: in EC2 and in the vault, one row.
    ebs = _one(rps, recovery_point_arn=ebs_job["RecoveryPointArn"])
    assert (ebs["source"], ebs["created_by"], ebs["vault_name"]) == (
        "aws-backup",
        "aws-backup",
        "locked",
    )
    assert (ebs["resource_arn"], ebs["resource_type"], ebs["backup_type"]) == (
        vol_arn,
        "ebs-volume",
        "ebs-snapshot",
    )
    assert ebs["size_bytes"] == 8 * GIB
    assert (ebs["delete_at"] - ebs["created_at"]).days == 35
    assert (
        len(
            rps[
                rps["recovery_point_arn"].str.endswith(
                    ebs_job["RecoveryPointArn"].rsplit("/", 1)[1]
                )
            ]
        )
        == 1
    )
    efs_rp = _one(rps, recovery_point_arn=efs_job["RecoveryPointArn"])
    assert (efs_rp["resource_type"], efs_rp["backup_type"], efs_rp["size_basis"]) == (
        "efs-filesystem",
        "efs-backup",
        "BackupSizeInBytes",
    )
    assert efs_rp["vault_name"] == "plain" and efs_rp["status"] == "COMPLETED"

    # Both jobs completed: their recovery points are the evidence, the jobs are not listed again.
    assert inv.tables["backup_jobs"].empty
    settings = inv.tables["region_settings"].set_index("service")
    assert bool(settings.loc["EBS", "opted_in"]) and bool(settings.loc["EFS", "full_management"])


def test_manifest_counts_calls_by_iam_action(aws, collect):
    inv = collect(regions=["us-east-1", "eu-west-1"])
    m = inv.manifest
    assert m["regions"] == ["us-east-1", "eu-west-1"] and m["accounts"] == [ACCOUNT]
    # as_of is the instant judged; collected_at the real clock when the calls were made
    assert m["as_of"] == "2026-11-26T12:00:00+00:00"
    collected = datetime.fromisoformat(m["collected_at"])
    assert abs((datetime.now(UTC) - collected).total_seconds()) < 3600
    assert (
        m["api_calls"]["ec2:DescribeVolumes"] == 2
        and m["api_calls"]["rds:DescribeDBSnapshots"] == 4
    )
    assert m["api_calls"]["elasticfilesystem:DescribeFileSystems"] == 2
    assert m["api_calls"]["sts:GetCallerIdentity"] == 1
    assert m["schema_version"] == 1 and m["duration_seconds"] >= 0
