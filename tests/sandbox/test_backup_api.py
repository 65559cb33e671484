"""AWS Backup operations the sandbox adds, called through real boto3 clients in-process."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

ROLE = "arn:aws:iam::123456789012:role/service-role/AWSBackupDefaultServiceRole"


def _plan(backup, name="p", vault="v1"):
    return backup.create_backup_plan(
        BackupPlan={
            "BackupPlanName": name,
            "Rules": [
                {
                    "RuleName": "daily",
                    "TargetBackupVaultName": vault,
                    "ScheduleExpression": "cron(0 5 ? * * *)",
                }
            ],
        }
    )["BackupPlanId"]


def test_selection_create_get_list_delete(aws):
    backup = aws("backup")
    backup.create_backup_vault(BackupVaultName="v1")
    plan_id = _plan(backup)
    created = backup.create_backup_selection(
        BackupPlanId=plan_id,
        BackupSelection={
            "SelectionName": "by-tags",
            "IamRoleArn": ROLE,
            "Resources": ["arn:aws:ec2:*:*:volume/*"],
            "NotResources": ["arn:aws:ec2:us-east-1:123456789012:volume/vol-0123456789abcdef0"],
            "ListOfTags": [
                {
                    "ConditionType": "STRINGEQUALS",
                    "ConditionKey": "backup",
                    "ConditionValue": "gold",
                }
            ],
            "Conditions": {
                "StringLike": [{"ConditionKey": "aws:ResourceTag/team", "ConditionValue": "pay*"}]
            },
        },
    )
    assert created["BackupPlanId"] == plan_id
    assert created["CreationDate"].year >= 2024

    got = backup.get_backup_selection(BackupPlanId=plan_id, SelectionId=created["SelectionId"])
    sel = got["BackupSelection"]
    assert sel["SelectionName"] == "by-tags"
    assert sel["Resources"] == ["arn:aws:ec2:*:*:volume/*"]
    assert sel["NotResources"] == [
        "arn:aws:ec2:us-east-1:123456789012:volume/vol-0123456789abcdef0"
    ]
    assert sel["ListOfTags"][0]["ConditionValue"] == "gold"
    assert sel["Conditions"]["StringLike"] == [
        {"ConditionKey": "aws:ResourceTag/team", "ConditionValue": "pay*"}
    ]
    assert sel["Conditions"]["StringEquals"] == []

    listed = backup.list_backup_selections(BackupPlanId=plan_id)["BackupSelectionsList"]
    assert [s["SelectionId"] for s in listed] == [created["SelectionId"]]
    assert listed[0]["IamRoleArn"] == ROLE

    backup.delete_backup_selection(BackupPlanId=plan_id, SelectionId=created["SelectionId"])
    assert backup.list_backup_selections(BackupPlanId=plan_id)["BackupSelectionsList"] == []
    with pytest.raises(ClientError) as err:
        backup.get_backup_selection(BackupPlanId=plan_id, SelectionId=created["SelectionId"])
    assert err.value.response["Error"]["Code"] == "ResourceNotFoundException"


def test_selection_on_missing_plan_is_not_found(aws):
    backup = aws("backup")
    with pytest.raises(ClientError) as err:
        backup.list_backup_selections(BackupPlanId="00000000-0000-0000-0000-000000000000")
    assert err.value.response["Error"]["Code"] == "ResourceNotFoundException"


def test_start_backup_job_leaves_a_marked_snapshot_and_a_recovery_point(aws):
    backup, ec2 = aws("backup"), aws("ec2")
    backup.create_backup_vault(BackupVaultName="v1")
    vol = ec2.create_volume(Size=10, AvailabilityZone="us-east-1a")
    arn = f"arn:aws:ec2:us-east-1:123456789012:volume/{vol['VolumeId']}"
    job = backup.start_backup_job(
        BackupVaultName="v1", ResourceArn=arn, IamRoleArn=ROLE, Lifecycle={"DeleteAfterDays": 7}
    )
    rp_arn = job["RecoveryPointArn"]
    assert rp_arn.startswith("arn:aws:ec2:us-east-1::snapshot/snap-")

    described = backup.describe_backup_job(BackupJobId=job["BackupJobId"])
    assert described["State"] == "COMPLETED"
    assert described["RecoveryPointArn"] == rp_arn
    assert described["ResourceType"] == "EBS"

    rp = backup.describe_recovery_point(BackupVaultName="v1", RecoveryPointArn=rp_arn)
    assert rp["Status"] == "COMPLETED" and rp["StorageClass"] == "WARM"
    assert rp["BackupSizeInBytes"] == 10 * 1024**3
    assert rp["CalculatedLifecycle"]["DeleteAt"] > rp["CreationDate"]

    snap = ec2.describe_snapshots(OwnerIds=["self"])["Snapshots"][0]
    assert "arn:aws:ec2:us-east-1::snapshot/" + snap["SnapshotId"] == rp_arn
    assert snap["Description"] == "This snapshot is created by the AWS Backup service."
    assert {"Key": "aws:backup:source-resource", "Value": vol["VolumeId"]} in snap["Tags"]

    by_resource = backup.list_recovery_points_by_resource(ResourceArn=arn)["RecoveryPoints"]
    assert [r["RecoveryPointArn"] for r in by_resource] == [rp_arn]
    assert by_resource[0]["BackupSizeBytes"] == 10 * 1024**3
    protected = backup.list_protected_resources()["Results"]
    assert protected[0]["ResourceArn"] == arn and protected[0]["LastRecoveryPointArn"] == rp_arn
    jobs = backup.list_backup_jobs(ByResourceArn=arn)["BackupJobs"]
    assert [j["BackupJobId"] for j in jobs] == [job["BackupJobId"]]
    assert backup.list_backup_jobs(ByState="FAILED")["BackupJobs"] == []


def test_start_backup_job_for_missing_vault_or_resource(aws):
    backup = aws("backup")
    backup.create_backup_vault(BackupVaultName="v1")
    with pytest.raises(ClientError) as err:
        backup.start_backup_job(
            BackupVaultName="nope",
            ResourceArn="arn:aws:ec2:us-east-1:123456789012:volume/vol-1",
            IamRoleArn=ROLE,
        )
    assert err.value.response["Error"]["Code"] == "ResourceNotFoundException"
    with pytest.raises(ClientError) as err:
        backup.start_backup_job(
            BackupVaultName="v1",
            ResourceArn="arn:aws:ec2:us-east-1:123456789012:volume/vol-1",
            IamRoleArn=ROLE,
        )
    assert err.value.response["Error"]["Code"] == "ResourceNotFoundException"


def test_missing_vault_is_resource_not_found(aws):
    backup = aws("backup")
    for call in (
        lambda: backup.list_recovery_points_by_backup_vault(BackupVaultName="missing"),
        lambda: backup.describe_backup_vault(BackupVaultName="missing"),
        lambda: backup.describe_recovery_point(
            BackupVaultName="missing",
            RecoveryPointArn="arn:aws:backup:us-east-1:123456789012:recovery-point:X",
        ),
    ):
        with pytest.raises(ClientError) as err:
            call()
        assert err.value.response["Error"]["Code"] == "ResourceNotFoundException"
        assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_vaults_report_key_count_and_lock(aws):
    backup = aws("backup")
    backup.create_backup_vault(BackupVaultName="plain")
    backup.create_backup_vault(
        BackupVaultName="cmk", EncryptionKeyArn="arn:aws:kms:us-east-1:123456789012:key/abc"
    )
    backup.put_backup_vault_lock_configuration(
        BackupVaultName="cmk", MinRetentionDays=7, MaxRetentionDays=365
    )
    vaults = {v["BackupVaultName"]: v for v in backup.list_backup_vaults()["BackupVaultList"]}
    assert vaults["plain"]["EncryptionKeyArn"].startswith("arn:aws:kms:us-east-1:123456789012:key/")
    assert vaults["cmk"]["EncryptionKeyArn"] == "arn:aws:kms:us-east-1:123456789012:key/abc"
    assert vaults["cmk"]["Locked"] is True and vaults["cmk"]["MinRetentionDays"] == 7
    assert vaults["plain"]["Locked"] is False and vaults["plain"]["NumberOfRecoveryPoints"] == 0
    described = backup.describe_backup_vault(BackupVaultName="cmk")
    assert described["MaxRetentionDays"] == 365


def test_region_settings_roundtrip(aws):
    backup = aws("backup")
    before = backup.describe_region_settings()
    assert before["ResourceTypeOptInPreference"]["EBS"] is True
    assert before["ResourceTypeManagementPreference"] == {"DynamoDB": False, "EFS": True}
    backup.update_region_settings(ResourceTypeManagementPreference={"DynamoDB": True})
    assert backup.describe_region_settings()["ResourceTypeManagementPreference"]["DynamoDB"] is True
    # Other regions keep their own settings.
    assert (
        aws("backup", "eu-west-1").describe_region_settings()["ResourceTypeManagementPreference"][
            "DynamoDB"
        ]
        is False
    )
    with pytest.raises(ClientError) as err:
        backup.update_region_settings(ResourceTypeManagementPreference={"EBS": True})
    assert err.value.response["Error"]["Code"] == "InvalidParameterValueException"


def test_delete_recovery_point_respects_vault_lock(aws):
    backup, ec2 = aws("backup"), aws("ec2")
    backup.create_backup_vault(BackupVaultName="open")
    backup.create_backup_vault(BackupVaultName="locked")
    backup.put_backup_vault_lock_configuration(BackupVaultName="locked", MinRetentionDays=7)
    vol = ec2.create_volume(Size=1, AvailabilityZone="us-east-1a")["VolumeId"]
    arn = f"arn:aws:ec2:us-east-1:123456789012:volume/{vol}"
    open_rp = backup.start_backup_job(BackupVaultName="open", ResourceArn=arn, IamRoleArn=ROLE)[
        "RecoveryPointArn"
    ]
    locked_rp = backup.start_backup_job(BackupVaultName="locked", ResourceArn=arn, IamRoleArn=ROLE)[
        "RecoveryPointArn"
    ]
    backup.delete_recovery_point(BackupVaultName="open", RecoveryPointArn=open_rp)
    with pytest.raises(ClientError) as err:
        backup.describe_recovery_point(BackupVaultName="open", RecoveryPointArn=open_rp)
    assert err.value.response["Error"]["Code"] == "ResourceNotFoundException"
    with pytest.raises(ClientError) as err:
        backup.delete_recovery_point(BackupVaultName="locked", RecoveryPointArn=locked_rp)
    assert err.value.response["Error"]["Code"] == "InvalidRequestException"
