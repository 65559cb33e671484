"""AWS Backup restore jobs and restore testing, which moto lacks, added to moto's backup backend.

Added operations (AWS Backup API reference pages of the same names):
StartRestoreJob, DescribeRestoreJob, ListRestoreJobs, ListRestoreJobsByProtectedResource,
PutRestoreValidationResult, CreateRestoreTestingPlan, GetRestoreTestingPlan,
ListRestoreTestingPlans, CreateRestoreTestingSelection, GetRestoreTestingSelection,
ListRestoreTestingSelections.

State lives on moto's `BackupBackend` (one per account and region, so moto's reset clears it),
created on first use:
- `restore_jobs`: {restore_job_id: dict in DescribeRestoreJob's shape}
- `restore_testing_plans`: {plan name: dict in GetRestoreTestingPlan's RestoreTestingPlan shape}
- `restore_testing_selections`: {plan name: {selection name: dict in GetRestoreTestingSelection's
  RestoreTestingSelection shape}}

A restore started here completes at once and does not create the restored resource (its
`CreatedResourceArn` names one that does not exist); the seeder records jobs with the durations
it wants through `record_restore_job`.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, cast

from moto.backup import urls as backup_urls
from moto.backup.exceptions import (
    InvalidParameterValueException,
    ResourceNotFoundException,
)
from moto.backup.models import BackupBackend
from moto.backup.responses import BackupResponse
from moto.core.responses import ActionResult, EmptyResult

from auditor.sandbox.moto_ext.backup import (
    _dump,
    _filter_by,
    _in_range,
    _now,
    _p,
    _paged,
    _result,
    _shaped,
    extended_backend,
    resource_type_of,
)

# RestoreJobStatus and RestoreValidationStatus (AWS Backup API reference, RestoreJobsListMember).
RESTORE_STATUSES = ("PENDING", "RUNNING", "COMPLETED", "ABORTED", "FAILED")
VALIDATION_STATUSES = ("FAILED", "SUCCESSFUL", "TIMED_OUT", "VALIDATING")


def _state(backend: BackupBackend) -> Any:
    """The backend with this module's state attached (created on first use)."""
    if not hasattr(backend, "restore_jobs"):
        backend.restore_jobs = {}  # type: ignore[attr-defined]
        backend.restore_testing_plans = {}  # type: ignore[attr-defined]
        backend.restore_testing_selections = {}  # type: ignore[attr-defined]
    return cast(Any, backend)


def _created_resource_arn(job_id: str, source_arn: str) -> str:
    """An ARN of the kind a restore of `source_arn` creates (a new resource beside the source)."""
    suffix = uuid.uuid5(uuid.NAMESPACE_URL, job_id).hex[:17]
    head, _, tail = source_arn.rpartition("/") if "/" in source_arn else source_arn.rpartition(":")
    sep = "/" if "/" in source_arn else ":"
    return f"{head}{sep}restored-{tail[:20]}-{suffix}" if head else f"restored-{suffix}"


def record_restore_job(
    backend: BackupBackend,
    recovery_point_arn: str,
    *,
    created: datetime,
    completed: datetime | None,
    status: str = "COMPLETED",
    status_message: str | None = None,
    iam_role_arn: str | None = None,
    restore_testing_plan_arn: str | None = None,
    validation_status: str | None = None,
    validation_message: str | None = None,
    job_id: str | None = None,
) -> dict[str, Any]:
    """Store a restore job of a recovery point of this backend (DescribeRestoreJob's shape).

    The job's source resource, vault, size and the recovery point's creation date come from the
    recovery point, as AWS fills them (AWS Backup API reference, DescribeRestoreJob).
    """
    self = _state(backend)
    if status not in RESTORE_STATUSES:
        raise InvalidParameterValueException(msg=f"Invalid restore job status {status}")
    rp = extended_backend(backend).recovery_points.get(recovery_point_arn)
    if rp is None:
        raise ResourceNotFoundException(msg=f"Recovery point {recovery_point_arn} was not found")
    job_id = job_id or uuid.uuid4().hex.upper()
    job: dict[str, Any] = {
        "AccountId": backend.account_id,
        "RestoreJobId": job_id,
        "RecoveryPointArn": recovery_point_arn,
        "SourceResourceArn": rp["ResourceArn"],
        "BackupVaultArn": rp.get("BackupVaultArn"),
        "CreationDate": created,
        "Status": status,
        "PercentDone": "100.00%" if status == "COMPLETED" else "0.00%",
        "BackupSizeInBytes": rp.get("BackupSizeInBytes"),
        "IamRoleArn": iam_role_arn
        or f"arn:aws:iam::{backend.account_id}:role/service-role/AWSBackupDefaultServiceRole",
        "ResourceType": rp.get("ResourceType") or resource_type_of(rp["ResourceArn"]),
        "RecoveryPointCreationDate": rp.get("CreationDate"),
        "IsParent": False,
        "CreatedBy": {},
    }
    if completed is not None:
        job["CompletionDate"] = completed
    if status == "COMPLETED":
        job["CreatedResourceArn"] = _created_resource_arn(job_id, rp["ResourceArn"])
        # ExpectedCompletionTimeMinutes: AWS's estimate; the sandbox reports the real duration.
        if completed is not None:
            job["ExpectedCompletionTimeMinutes"] = max(
                1, int((completed - created).total_seconds() // 60)
            )
    if status_message:
        job["StatusMessage"] = status_message
    if restore_testing_plan_arn:
        # RestoreJobCreator.RestoreTestingPlanArn: the restore testing plan that started the job.
        job["CreatedBy"] = {"RestoreTestingPlanArn": restore_testing_plan_arn}
        # AWS deletes a restore test's resource after its validation window (DeletionStatus).
        job["DeletionStatus"] = "SUCCESSFUL" if status == "COMPLETED" else None
    if validation_status:
        if validation_status not in VALIDATION_STATUSES:
            raise InvalidParameterValueException(
                msg=f"Invalid validation status {validation_status}"
            )
        job["ValidationStatus"] = validation_status
        if validation_message:
            job["ValidationStatusMessage"] = validation_message
    self.restore_jobs[job_id] = {k: v for k, v in job.items() if v is not None}
    return self.restore_jobs[job_id]


def r_start_restore_job(self: BackupResponse) -> ActionResult | str:
    """StartRestoreJob: the job completes at once (the restored resource is not created)."""
    p = _p(self)
    now = _now()
    job = record_restore_job(
        self.backup_backend,
        p["RecoveryPointArn"],
        created=now,
        completed=now,
        iam_role_arn=p.get("IamRoleArn"),
    )
    return ActionResult({"RestoreJobId": job["RestoreJobId"]})


def r_describe_restore_job(self: BackupResponse) -> ActionResult | str:
    job_id = _p(self).get("RestoreJobId") or self.path.rstrip("/").rsplit("/", 1)[-1]
    job = _state(self.backup_backend).restore_jobs.get(job_id)
    if job is None:
        raise ResourceNotFoundException(msg=f"Restore job {job_id} not found")
    return _dump(job)


# ListRestoreJobs equality filters as AWS documents them (AWS Backup API reference, ListRestoreJobs).
_RESTORE_JOB_FILTERS = {
    "ByAccountId": "AccountId",
    "ByResourceType": "ResourceType",
    "ByStatus": "Status",
    "ByRestoreTestingPlanArn": "CreatedBy.RestoreTestingPlanArn",
    "ByParentJobId": "ParentJobId",
}


def r_list_restore_jobs(self: BackupResponse) -> ActionResult | str:
    p = _p(self)
    jobs = _state(self.backup_backend).restore_jobs.values()
    rows = [
        job
        for job in _filter_by(jobs, p, _RESTORE_JOB_FILTERS)
        if _in_range(job["CreationDate"], p.get("ByCreatedAfter"), p.get("ByCreatedBefore"))
        and _in_range(
            job.get("CompletionDate"), p.get("ByCompleteAfter"), p.get("ByCompleteBefore")
        )
    ]
    chunk, token = _paged(p, rows)
    return _result({"RestoreJobs": _shaped(chunk, "RestoreJobsListMember")}, token)


def r_list_restore_jobs_by_protected_resource(self: BackupResponse) -> ActionResult | str:
    """ListRestoreJobsByProtectedResource: the restores of one source resource, filtered by status
    and by the restored recovery point's creation date."""
    p = _p(self)
    arn = p.get("ResourceArn")
    jobs = _state(self.backup_backend).restore_jobs.values()
    rows = [
        job
        for job in _filter_by(jobs, p, {"ByStatus": "Status"})
        if job["SourceResourceArn"] == arn
        and _in_range(
            job.get("RecoveryPointCreationDate"),
            p.get("ByRecoveryPointCreationDateAfter"),
            p.get("ByRecoveryPointCreationDateBefore"),
        )
    ]
    chunk, token = _paged(p, rows)
    return _result({"RestoreJobs": _shaped(chunk, "RestoreJobsListMember")}, token)


def r_put_restore_validation_result(self: BackupResponse) -> EmptyResult:
    p = _p(self)
    job = _state(self.backup_backend).restore_jobs.get(p["RestoreJobId"])
    if job is None:
        raise ResourceNotFoundException(msg=f"Restore job {p['RestoreJobId']} not found")
    job["ValidationStatus"] = p["ValidationStatus"]
    if p.get("ValidationStatusMessage"):
        job["ValidationStatusMessage"] = p["ValidationStatusMessage"]
    return EmptyResult()


def create_restore_testing_plan(
    backend: BackupResponse | BackupBackend, plan: dict[str, Any], created: datetime | None = None
) -> dict[str, Any]:
    """Store a restore testing plan (GetRestoreTestingPlan's RestoreTestingPlan shape)."""
    b = backend.backup_backend if isinstance(backend, BackupResponse) else backend
    self = _state(b)
    name = plan.get("RestoreTestingPlanName")
    if not name or not plan.get("ScheduleExpression") or not plan.get("RecoveryPointSelection"):
        raise InvalidParameterValueException(
            msg="RestoreTestingPlanName, ScheduleExpression and RecoveryPointSelection are required"
        )
    when = created or _now()
    # AWS appends an id to the plan's name in its ARN; here one derived from account, region, name.
    suffix = uuid.uuid5(uuid.NAMESPACE_URL, f"{b.account_id}/{b.region_name}/{name}")
    stored = {
        **plan,
        "RestoreTestingPlanArn": f"arn:aws:backup:{b.region_name}:{b.account_id}:"
        f"restore-testing-plan:{name}-{suffix}",
        "CreationTime": when,
        "LastUpdateTime": when,
        # AWS's default when the plan gives none (CreateRestoreTestingPlan: ScheduleExpressionTimezone).
        "ScheduleExpressionTimezone": plan.get("ScheduleExpressionTimezone") or "Etc/UTC",
        "StartWindowHours": plan.get("StartWindowHours") or 24,
    }
    self.restore_testing_plans[name] = stored
    return stored


def _plan_or_404(backend: BackupBackend, name: str) -> dict[str, Any]:
    plan = _state(backend).restore_testing_plans.get(name)
    if plan is None:
        raise ResourceNotFoundException(msg=f"Restore testing plan {name} not found")
    return plan


def r_create_restore_testing_plan(self: BackupResponse) -> ActionResult | str:
    p = _p(self)
    stored = create_restore_testing_plan(self, p["RestoreTestingPlan"])
    return ActionResult(
        {
            "CreationTime": stored["CreationTime"],
            "RestoreTestingPlanArn": stored["RestoreTestingPlanArn"],
            "RestoreTestingPlanName": stored["RestoreTestingPlanName"],
        }
    )


def r_get_restore_testing_plan(self: BackupResponse) -> ActionResult | str:
    name = _p(self)["RestoreTestingPlanName"]
    return _dump({"RestoreTestingPlan": _plan_or_404(self.backup_backend, name)})


def r_list_restore_testing_plans(self: BackupResponse) -> ActionResult | str:
    p = _p(self)
    plans = list(_state(self.backup_backend).restore_testing_plans.values())
    chunk, token = _paged(p, plans)
    return _result({"RestoreTestingPlans": _shaped(chunk, "RestoreTestingPlanForList")}, token)


def create_restore_testing_selection(
    backend: BackupResponse | BackupBackend,
    plan_name: str,
    selection: dict[str, Any],
    created: datetime | None = None,
) -> dict[str, Any]:
    """Store a selection of a restore testing plan (GetRestoreTestingSelection's shape)."""
    b = backend.backup_backend if isinstance(backend, BackupResponse) else backend
    plan = _plan_or_404(b, plan_name)
    name = selection.get("RestoreTestingSelectionName")
    if not name or not selection.get("IamRoleArn") or not selection.get("ProtectedResourceType"):
        raise InvalidParameterValueException(
            msg="RestoreTestingSelectionName, IamRoleArn and ProtectedResourceType are required"
        )
    stored = {
        **selection,
        "RestoreTestingPlanName": plan_name,
        "CreationTime": created or _now(),
        # CreateRestoreTestingSelection: ValidationWindowHours defaults to 0 (deleted at once).
        "ValidationWindowHours": selection.get("ValidationWindowHours") or 0,
    }
    _state(b).restore_testing_selections.setdefault(plan_name, {})[name] = stored
    plan["LastUpdateTime"] = stored["CreationTime"]
    return stored


def r_create_restore_testing_selection(self: BackupResponse) -> ActionResult | str:
    p = _p(self)
    stored = create_restore_testing_selection(
        self, p["RestoreTestingPlanName"], p["RestoreTestingSelection"]
    )
    plan = _plan_or_404(self.backup_backend, p["RestoreTestingPlanName"])
    return ActionResult(
        {
            "CreationTime": stored["CreationTime"],
            "RestoreTestingPlanArn": plan["RestoreTestingPlanArn"],
            "RestoreTestingPlanName": plan["RestoreTestingPlanName"],
            "RestoreTestingSelectionName": stored["RestoreTestingSelectionName"],
        }
    )


def r_get_restore_testing_selection(self: BackupResponse) -> ActionResult | str:
    p = _p(self)
    _plan_or_404(self.backup_backend, p["RestoreTestingPlanName"])
    found = (
        _state(self.backup_backend)
        .restore_testing_selections.get(p["RestoreTestingPlanName"], {})
        .get(p["RestoreTestingSelectionName"])
    )
    if found is None:
        raise ResourceNotFoundException(
            msg=f"Restore testing selection {p['RestoreTestingSelectionName']} not found"
        )
    return _dump({"RestoreTestingSelection": found})


def r_list_restore_testing_selections(self: BackupResponse) -> ActionResult | str:
    p = _p(self)
    _plan_or_404(self.backup_backend, p["RestoreTestingPlanName"])
    rows = list(
        _state(self.backup_backend)
        .restore_testing_selections.get(p["RestoreTestingPlanName"], {})
        .values()
    )
    chunk, token = _paged(p, rows)
    return _result(
        {"RestoreTestingSelections": _shaped(chunk, "RestoreTestingSelectionForList")}, token
    )


# The request paths of the operations above, exactly as AWS Backup's API reference writes them
# (a trailing slash only where the real path has one).
EXTRA_URL_PATHS = {
    "{0}/restore-jobs$": BackupResponse.dispatch,
    "{0}/restore-jobs/$": BackupResponse.dispatch,
    "{0}/restore-jobs/(?P<job>[^/]+)$": BackupResponse.dispatch,
    "{0}/restore-jobs/(?P<job>[^/]+)/validations$": BackupResponse.dispatch,
    "{0}/resources/(?P<arn>.+)/restore-jobs/$": BackupResponse.dispatch,
    "{0}/restore-testing/plans$": BackupResponse.dispatch,
    "{0}/restore-testing/plans/(?P<plan>[^/]+)$": BackupResponse.dispatch,
    "{0}/restore-testing/plans/(?P<plan>[^/]+)/selections$": BackupResponse.dispatch,
    "{0}/restore-testing/plans/(?P<plan>[^/]+)/selections/(?P<sel>[^/]+)$": BackupResponse.dispatch,
}

_HANDLERS = {
    "start_restore_job": r_start_restore_job,
    "describe_restore_job": r_describe_restore_job,
    "list_restore_jobs": r_list_restore_jobs,
    "list_restore_jobs_by_protected_resource": r_list_restore_jobs_by_protected_resource,
    "put_restore_validation_result": r_put_restore_validation_result,
    "create_restore_testing_plan": r_create_restore_testing_plan,
    "get_restore_testing_plan": r_get_restore_testing_plan,
    "list_restore_testing_plans": r_list_restore_testing_plans,
    "create_restore_testing_selection": r_create_restore_testing_selection,
    "get_restore_testing_selection": r_get_restore_testing_selection,
    "list_restore_testing_selections": r_list_restore_testing_selections,
}


def install() -> None:
    """Add the restore operations to moto's backup response class (idempotent)."""
    if getattr(BackupResponse, "_auditor_restores", False):
        return
    for name, fn in _HANDLERS.items():
        setattr(BackupResponse, name, fn)
    for pattern, handler in EXTRA_URL_PATHS.items():
        backup_urls.url_paths.setdefault(pattern, handler)
    BackupResponse._auditor_restores = True  # type: ignore[attr-defined]
