"""Every listing is paginated to the end, and calls grow with pages, not with resources."""

from __future__ import annotations

import math

import boto3

R = "us-east-1"
ACCOUNT = "123456789012"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/backup"


def _estate(
    n: int, *, tables: int = 2, vaults: int = 1, plans: int = 1, rds: int = 1, region: str = R
):
    R = region
    ec2 = boto3.client("ec2", R)
    for _ in range(n):
        vol = ec2.create_volume(
            Size=1,
            AvailabilityZone=f"{R}a",
            TagSpecifications=[
                {"ResourceType": "volume", "Tags": [{"Key": "backup", "Value": "gold"}]}
            ],
        )
        ec2.create_snapshot(VolumeId=vol["VolumeId"])
    client = boto3.client("rds", R)
    for i in range(rds):
        client.create_db_instance(
            DBInstanceIdentifier=f"db{i}",
            DBInstanceClass="db.t3.micro",
            Engine="postgres",
            AllocatedStorage=20,
            BackupRetentionPeriod=1,
        )
    efs = boto3.client("efs", R)
    for i in range(n):
        efs.create_file_system(CreationToken=f"fs{i}", Tags=[{"Key": "backup", "Value": "gold"}])
    ddb = boto3.client("dynamodb", R)
    for i in range(tables):
        ddb.create_table(
            TableName=f"table{i}",
            KeySchema=[{"AttributeName": "k", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "k", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
            Tags=[{"Key": "backup", "Value": "gold"}],
        )
    bk = boto3.client("backup", R)
    for i in range(vaults):
        bk.create_backup_vault(BackupVaultName=f"v{i}")
    for i in range(plans):
        bk.create_backup_plan(
            BackupPlan={
                "BackupPlanName": f"p{i}",
                "Rules": [
                    {
                        "RuleName": "r",
                        "TargetBackupVaultName": "v0",
                        "ScheduleExpression": "cron(0 5 ? * * *)",
                    }
                ],
            }
        )
    vol_arns = [
        f"arn:aws:ec2:{R}:{ACCOUNT}:volume/{v['VolumeId']}"
        for v in ec2.describe_volumes()["Volumes"]
    ]
    for arn in vol_arns if vaults else ():
        bk.start_backup_job(BackupVaultName="v0", ResourceArn=arn, IamRoleArn=ROLE)


def test_listings_beyond_one_page(aws, collect):
    n = 12
    _estate(n, tables=27, vaults=7)  # 27 tables: two spawned describe tasks (25 tables each)
    inv = collect(page_size=5)
    assert inv.errors.empty, inv.errors
    calls = inv.manifest["api_calls"]
    types = inv.resources["resource_type"].value_counts()
    assert types["ebs-volume"] == n and types["efs-filesystem"] == n
    assert types["dynamodb-table"] == 27
    assert len(inv.tables["vaults"]) == 7
    pages = math.ceil(n / 5)
    assert calls["ec2:DescribeVolumes"] == pages
    # n native + n AWS Backup snapshots, all in EC2's listing, and one page of the public ones
    # (RestorableByUserIds=all: none here)
    assert calls["ec2:DescribeSnapshots"] == math.ceil(2 * n / 5) + 1
    assert calls["elasticfilesystem:DescribeFileSystems"] >= pages
    assert calls["dynamodb:ListTables"] == math.ceil(27 / 5)
    assert calls["dynamodb:DescribeTable"] == calls["dynamodb:DescribeContinuousBackups"] == 27
    # two pages of own vaults, and one listing of the vaults shared with the account (ByShared)
    assert calls["backup:ListBackupVaults"] == 2 + 1
    assert calls["backup:GetBackupVaultAccessPolicy"] == 7  # one per vault: no bulk form
    # every backup job left a recovery point in v0: 12 of them, on 3 pages; 6 empty vaults: 1 each
    assert calls["backup:ListRecoveryPointsByBackupVault"] == pages + 6
    # completed jobs are their recovery points: one call per unsuccessful state, not pages of jobs
    assert calls["backup:ListBackupJobs"] == 4
    rps = inv.recovery_points
    assert (rps["vault_name"] == "v0").sum() == n and len(
        rps[rps["backup_type"] == "ebs-snapshot"]
    ) == 2 * n


def test_rds_listings_beyond_one_page(aws, collect):
    # RDS pages hold 20 to 100 records: 21 instances (each with its automated snapshot) need 2 pages.
    _estate(0, tables=0, vaults=0, plans=0, rds=21)
    inv = collect(page_size=5)
    assert inv.errors.empty, inv.errors[["operation", "message"]].to_string()
    assert (inv.resources["resource_type"] == "rds-instance").sum() == 21
    assert (inv.recovery_points["created_by"] == "automated").sum() == 21
    calls = inv.manifest["api_calls"]
    assert calls["rds:DescribeDBInstances"] == 2
    assert calls["rds:DescribeDBSnapshots"] == 3  # 2 pages of automated+manual, 1 of awsbackup


def _calls(collect, n, region, **kw):
    _estate(n, region=region, **kw)
    inv = collect(
        regions=[region], page_size=100
    )  # one page each; moto's own defaults differ from AWS's
    assert inv.errors.empty, inv.errors
    return inv.manifest["api_calls"]


# Per-item calls AWS offers no bulk form of, and what they are per.
PER_ITEM = {
    "dynamodb:DescribeTable": "table",
    "dynamodb:DescribeContinuousBackups": "table",
    "backup:GetBackupPlan": "plan",
    "backup:ListBackupSelections": "plan",
    "backup:ListRecoveryPointsByBackupVault": "vault",
}


def test_calls_do_not_grow_with_resources(aws, collect):
    small = _calls(collect, 3, "us-east-1", tables=2, vaults=1, plans=1)
    big = _calls(collect, 30, "us-west-2", tables=2, vaults=1, plans=1, rds=3)
    assert set(small) == set(big)
    for action in small:
        assert small[action] == big[action], (
            f"{action}: {small[action]} calls for 3 resources, {big[action]} for 30"
        )
    assert small["dynamodb:DescribeTable"] == 2 and small["backup:GetBackupPlan"] == 1
