"""Restore jobs and restore testing the sandbox adds, through real boto3 clients in-process.

Shapes and filters as the AWS Backup API reference describes StartRestoreJob, DescribeRestoreJob,
ListRestoreJobs (ByCreatedAfter/Before, ByStatus, ByRestoreTestingPlanArn; paginated),
ListRestoreJobsByProtectedResource, PutRestoreValidationResult and the restore testing plan and
selection operations.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from botocore.exceptions import ClientError

ROLE = "arn:aws:iam::123456789012:role/service-role/AWSBackupDefaultServiceRole"


@pytest.fixture
def point(aws):
    """(backup client, volume ARN, recovery point ARN) of one AWS Backup backup of a volume."""
    backup, ec2 = aws("backup"), aws("ec2")
    vol = ec2.create_volume(Size=4, AvailabilityZone="us-east-1a")["VolumeId"]
    arn = f"arn:aws:ec2:us-east-1:123456789012:volume/{vol}"
    backup.create_backup_vault(BackupVaultName="v")
    rp = backup.start_backup_job(BackupVaultName="v", ResourceArn=arn, IamRoleArn=ROLE)
    return backup, arn, rp["RecoveryPointArn"]


def test_start_describe_list(point):
    backup, arn, rp = point
    job_id = backup.start_restore_job(RecoveryPointArn=rp, Metadata={}, IamRoleArn=ROLE)[
        "RestoreJobId"
    ]
    job = backup.describe_restore_job(RestoreJobId=job_id)
    assert job["Status"] == "COMPLETED"
    assert job["SourceResourceArn"] == arn and job["RecoveryPointArn"] == rp
    assert job["ResourceType"] == "EBS"
    assert job["CompletionDate"] >= job["CreationDate"]
    assert job["CreatedResourceArn"].startswith("arn:aws:ec2:us-east-1:123456789012:volume/")
    listed = backup.list_restore_jobs()["RestoreJobs"]
    assert [j["RestoreJobId"] for j in listed] == [job_id]
    assert backup.list_restore_jobs(ByStatus="FAILED")["RestoreJobs"] == []
    later = job["CreationDate"] + timedelta(minutes=1)
    assert backup.list_restore_jobs(ByCreatedAfter=later)["RestoreJobs"] == []
    by_resource = backup.list_restore_jobs_by_protected_resource(ResourceArn=arn)["RestoreJobs"]
    assert [j["RestoreJobId"] for j in by_resource] == [job_id]
    with pytest.raises(ClientError) as err:
        backup.describe_restore_job(RestoreJobId="NOPE")
    assert err.value.response["Error"]["Code"] == "ResourceNotFoundException"


def test_pagination_and_validation(point):
    backup, _, rp = point
    ids = {
        backup.start_restore_job(RecoveryPointArn=rp, Metadata={}, IamRoleArn=ROLE)["RestoreJobId"]
        for _ in range(3)
    }
    pages = list(
        backup.get_paginator("list_restore_jobs").paginate(PaginationConfig={"PageSize": 2})
    )
    assert len(pages) == 2
    assert {j["RestoreJobId"] for p in pages for j in p["RestoreJobs"]} == ids
    first = sorted(ids)[0]
    backup.put_restore_validation_result(
        RestoreJobId=first, ValidationStatus="FAILED", ValidationStatusMessage="bad data"
    )
    job = backup.describe_restore_job(RestoreJobId=first)
    assert (job["ValidationStatus"], job["ValidationStatusMessage"]) == ("FAILED", "bad data")


def test_restore_testing_plans_and_selections(point):
    backup, _, rp = point
    created = backup.create_restore_testing_plan(
        RestoreTestingPlan={
            "RestoreTestingPlanName": "weekly",
            "ScheduleExpression": "cron(0 4 ? * 1 *)",
            "RecoveryPointSelection": {
                "Algorithm": "LATEST_WITHIN_WINDOW",
                "IncludeVaults": ["*"],
                "RecoveryPointTypes": ["SNAPSHOT"],
            },
        }
    )
    plan_arn = created["RestoreTestingPlanArn"]
    assert plan_arn.startswith("arn:aws:backup:us-east-1:123456789012:restore-testing-plan:weekly")
    backup.create_restore_testing_selection(
        RestoreTestingPlanName="weekly",
        RestoreTestingSelection={
            "RestoreTestingSelectionName": "vols",
            "IamRoleArn": ROLE,
            "ProtectedResourceType": "EBS",
            "ProtectedResourceArns": ["*"],
        },
    )
    plans = backup.list_restore_testing_plans()["RestoreTestingPlans"]
    assert [(p["RestoreTestingPlanName"], p["ScheduleExpression"]) for p in plans] == [
        ("weekly", "cron(0 4 ? * 1 *)")
    ]
    # The listing has the list shape only: no RecoveryPointSelection.
    assert "RecoveryPointSelection" not in plans[0]
    assert (
        backup.get_restore_testing_plan(RestoreTestingPlanName="weekly")["RestoreTestingPlan"][
            "RecoveryPointSelection"
        ]["Algorithm"]
        == "LATEST_WITHIN_WINDOW"
    )
    sels = backup.list_restore_testing_selections(RestoreTestingPlanName="weekly")
    assert [s["ProtectedResourceType"] for s in sels["RestoreTestingSelections"]] == ["EBS"]
    with pytest.raises(ClientError) as err:
        backup.list_restore_testing_selections(RestoreTestingPlanName="nope")
    assert err.value.response["Error"]["Code"] == "ResourceNotFoundException"
    # a restore test's job names its plan; ListRestoreJobs filters by it
    from moto.backup.models import backup_backends

    from auditor.sandbox.moto_ext.restores import record_restore_job

    be = backup_backends["123456789012"]["us-east-1"]
    job = backup.describe_restore_job(
        RestoreJobId=backup.start_restore_job(RecoveryPointArn=rp, Metadata={}, IamRoleArn=ROLE)[
            "RestoreJobId"
        ]
    )
    test = record_restore_job(
        be,
        rp,
        created=job["CreationDate"],
        completed=job["CreationDate"] + timedelta(minutes=30),
        restore_testing_plan_arn=plan_arn,
        validation_status="SUCCESSFUL",
    )
    by_plan = backup.list_restore_jobs(ByRestoreTestingPlanArn=plan_arn)["RestoreJobs"]
    assert [j["RestoreJobId"] for j in by_plan] == [test["RestoreJobId"]]
    assert by_plan[0]["CreatedBy"] == {"RestoreTestingPlanArn": plan_arn}
