"""AWS Backup restores: restore jobs over the jobs window, restore testing plans and selections.

ListRestoreJobs is asked for the jobs created after the window's start (its ByCreatedAfter filter,
AWS Backup API reference, ListRestoreJobs), one paginated listing a region: a restore test's job
says which restore testing plan ran it (CreatedBy.RestoreTestingPlanArn) and how its validation
went (ValidationStatus), so no per-resource call (ListRestoreJobsByProtectedResource) is needed.
ListRestoreTestingSelections is per plan (AWS offers no bulk form), one spawned task a plan.
"""

from __future__ import annotations

from typing import Any

from auditor.aws.context import BACKUP_WIDE, Context


def collect(ctx: Context) -> None:
    """Restore jobs since `ctx.restore_jobs_since` and every restore testing plan with its selections."""
    _restore_jobs(ctx)
    plans = ctx.paginate(
        "backup", "list_restore_testing_plans", "RestoreTestingPlans", affects=BACKUP_WIDE
    )
    for plan in plans or ():
        ctx.add(
            "restore_testing_plans",
            plan_name=plan.get("RestoreTestingPlanName"),
            plan_arn=plan.get("RestoreTestingPlanArn"),
            schedule_expression=plan.get("ScheduleExpression"),
            schedule_timezone=plan.get("ScheduleExpressionTimezone"),
            start_window_hours=plan.get("StartWindowHours"),
            created_at=plan.get("CreationTime"),
            last_execution_at=plan.get("LastExecutionTime"),
        )
        ctx.spawn(list_selections, plan["RestoreTestingPlanName"])


def _restore_jobs(ctx: Context) -> None:
    params: dict[str, Any] = {}
    if ctx.restore_jobs_since is not None:
        params["ByCreatedAfter"] = ctx.restore_jobs_since
    jobs = ctx.paginate("backup", "list_restore_jobs", "RestoreJobs", affects=BACKUP_WIDE, **params)
    for job in jobs or ():
        creator = job.get("CreatedBy") or {}
        ctx.add(
            "restore_jobs",
            account_id=job.get("AccountId") or ctx.account_id,
            restore_job_id=job["RestoreJobId"],
            status=job.get("Status"),
            status_message=job.get("StatusMessage"),
            resource_arn=job.get("SourceResourceArn"),
            backup_resource_type=job.get("ResourceType"),
            recovery_point_arn=job.get("RecoveryPointArn"),
            recovery_point_created_at=job.get("RecoveryPointCreationDate"),
            vault_arn=job.get("BackupVaultArn"),
            created_at=job.get("CreationDate"),
            completed_at=job.get("CompletionDate"),
            created_resource_arn=job.get("CreatedResourceArn"),
            restore_testing_plan_arn=creator.get("RestoreTestingPlanArn"),
            validation_status=job.get("ValidationStatus"),
            validation_message=job.get("ValidationStatusMessage"),
            deletion_status=job.get("DeletionStatus"),
        )


def list_selections(ctx: Context, plan_name: str) -> None:
    """The selections of one restore testing plan (ListRestoreTestingSelections)."""
    selections = ctx.paginate(
        "backup",
        "list_restore_testing_selections",
        "RestoreTestingSelections",
        affects=BACKUP_WIDE,
        RestoreTestingPlanName=plan_name,
    )
    for sel in selections or ():
        ctx.add(
            "restore_testing_selections",
            plan_name=sel.get("RestoreTestingPlanName") or plan_name,
            selection_name=sel.get("RestoreTestingSelectionName"),
            protected_resource_type=sel.get("ProtectedResourceType"),
            validation_window_hours=sel.get("ValidationWindowHours"),
            iam_role_arn=sel.get("IamRoleArn"),
            created_at=sel.get("CreationTime"),
        )
