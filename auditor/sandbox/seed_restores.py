"""Seed AWS Backup restore testing and restore jobs into one region of a seeded estate.

Deterministic for a given `rng`. Among the region's existing `backup: gold` resources that have
AWS Backup recovery points (in sorted type and ARN order):
- a restore testing plan `weekly-restore-tests` (Sundays 04:00 UTC) with a selection of EBS
  volumes, validated for 2 hours, as CreateRestoreTestingPlan/Selection store them;
- the first volumes are *tested*: a restore test (CreatedBy.RestoreTestingPlanArn) every week
  over the last 30 days, each taking 20-90 minutes, ValidationStatus SUCCESSFUL;
- the next volume *failed a test*: its restore test completed but its validation FAILED;
- the first other resource is *slow*: an on-demand restore 10 days ago that took 6.5 hours;
- the next one's restore FAILED outright, with AWS's kind of StatusMessage;
- the rest are never restored.
AWS Backup restore testing restores the latest recovery point within its selection window
(AWS Backup Developer Guide, "Restore testing"), so each job restores the newest point older
than the job.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from typing import Any

from moto.backup.models import BackupBackend

from auditor.sandbox.moto_ext.restores import (
    create_restore_testing_plan,
    create_restore_testing_selection,
    record_restore_job,
)

TEST_PLAN = "weekly-restore-tests"
TESTED = 3


def _points_by_resource(backend: Any) -> dict[str, list[dict[str, Any]]]:
    """Completed, non-copy recovery points per resource ARN, oldest first."""
    out: dict[str, list[dict[str, Any]]] = {}
    for rp in backend.recovery_points.values():
        if rp.get("Status") != "COMPLETED" or rp.get("SourceBackupVaultArn"):
            continue
        out.setdefault(rp["ResourceArn"], []).append(rp)
    for points in out.values():
        points.sort(key=lambda p: p["CreationDate"])
    return out


def _point_before(points: list[dict[str, Any]], when: datetime) -> dict[str, Any] | None:
    older = [p for p in points if p["CreationDate"] <= when]
    return older[-1] if older else None


def seed_restores(
    backend: BackupBackend,
    as_of: datetime,
    resources: list[dict[str, Any]],
    rng: random.Random,
) -> list[dict[str, Any]]:
    """Seed the restore testing plan and restore jobs of one region; return the jobs made."""
    role = f"arn:aws:iam::{backend.account_id}:role/service-role/AWSBackupDefaultServiceRole"
    plan = create_restore_testing_plan(
        backend,
        {
            "RestoreTestingPlanName": TEST_PLAN,
            "ScheduleExpression": "cron(0 4 ? * 1 *)",
            "RecoveryPointSelection": {
                "Algorithm": "LATEST_WITHIN_WINDOW",
                "IncludeVaults": ["*"],
                "RecoveryPointTypes": ["SNAPSHOT"],
                "SelectionWindowDays": 7,
            },
        },
        created=as_of - timedelta(days=60),
    )
    plan["LastExecutionTime"] = as_of - timedelta(days=(as_of.isoweekday() % 7) or 7)
    create_restore_testing_selection(
        backend,
        TEST_PLAN,
        {
            "RestoreTestingSelectionName": "gold_volumes",
            "IamRoleArn": role,
            "ProtectedResourceType": "EBS",
            "ProtectedResourceConditions": {
                "StringEquals": [{"Key": "aws:ResourceTag/backup", "Value": "gold"}]
            },
            "ValidationWindowHours": 2,
        },
        created=as_of - timedelta(days=60),
    )
    points = _points_by_resource(backend)
    gold = sorted(
        (r["resource_type"], r["resource_arn"])
        for r in resources
        if not r["deleted"]
        and (r.get("tags") or {}).get("backup") == "gold"
        and r["resource_arn"] in points
    )
    # The restore testing selection restores EBS volumes; on-demand restores are of other types.
    volumes = [arn for rtype, arn in gold if rtype == "ebs-volume"]
    others = [arn for rtype, arn in gold if rtype != "ebs-volume"]
    made: list[dict[str, Any]] = []

    def restore(arn: str, age: timedelta, took: timedelta | None, **kwargs: Any) -> None:
        start = as_of - age
        rp = _point_before(points[arn], start)
        if rp is None:
            return
        made.append(
            record_restore_job(
                backend,
                rp["RecoveryPointArn"],
                job_id=f"{rng.getrandbits(128):032X}",
                created=start,
                completed=start + took if took is not None else None,
                iam_role_arn=role,
                **kwargs,
            )
        )

    for arn in volumes[:TESTED]:
        for week in range(4):
            age = timedelta(days=2 + 7 * week, hours=rng.uniform(0, 6))
            restore(
                arn,
                age,
                timedelta(minutes=rng.uniform(20, 90)),
                restore_testing_plan_arn=plan["RestoreTestingPlanArn"],
                validation_status="SUCCESSFUL",
            )
    for arn in volumes[TESTED : TESTED + 1]:
        restore(
            arn,
            timedelta(days=3),
            timedelta(minutes=45),
            restore_testing_plan_arn=plan["RestoreTestingPlanArn"],
            validation_status="FAILED",
            validation_message="Validation Lambda: the restored volume has no file system",
        )
    for arn in others[:1]:
        restore(arn, timedelta(days=10), timedelta(hours=6, minutes=30))
    for arn in others[1:2]:
        restore(
            arn,
            timedelta(days=5),
            timedelta(minutes=3),
            status="FAILED",
            status_message="Insufficient permissions to restore: the role cannot use the KMS key",
        )
    return made
