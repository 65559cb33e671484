"""AWS Backup: vaults (with lock), plans, rules, selections, recovery points, jobs, region settings.

Every listing is paginated. The per-item calls are the ones AWS offers no bulk form for (each
run as spawned tasks the pool runs in parallel):
GetBackupPlan and ListBackupSelections per plan, GetBackupSelection per selection, and
ListRecoveryPointsByBackupVault per vault. A failure here makes Backup-wide data incomplete, so
errors carry `affects="*"`.
"""

from __future__ import annotations

import json
from typing import Any

from auditor.aws import protection, restores, shared_vaults
from auditor.aws.context import BACKUP_WIDE, Context

PLANS_PER_TASK = 10

RP_STATUS = {
    "COMPLETED": "COMPLETED",
    "AVAILABLE": "COMPLETED",
    "PARTIAL": "PARTIAL",
    "EXPIRED": "EXPIRED",
    "DELETING": "DELETING",
    "CREATING": "CREATING",
    # A stopped continuous backup still holds restorable data but no longer keeps up.
    "STOPPED": "PARTIAL",
}


def _vault_name(vault_arn: str | None) -> str | None:
    if not vault_arn or ":backup-vault:" not in vault_arn:
        return None
    return vault_arn.split(":backup-vault:", 1)[1]


def _dumps(value) -> str | None:
    return None if value is None else json.dumps(value, sort_keys=True, default=str)


def collect(ctx: Context) -> None:
    """Every AWS Backup record of one account and region."""
    _vaults_and_points(ctx)
    _plans(ctx)
    _jobs(ctx)
    # Restore jobs and restore testing: a task of their own (auditor.aws.restores).
    ctx.spawn(restores.collect)
    settings = ctx.call("backup", "describe_region_settings", affects=BACKUP_WIDE)
    if settings is not None:
        managed = settings.get("ResourceTypeManagementPreference") or {}
        for service, opted in (settings.get("ResourceTypeOptInPreference") or {}).items():
            ctx.add(
                "region_settings",
                service=service,
                opted_in=opted,
                full_management=managed.get(service),
            )


def vault_record(ctx: Context, v: dict, **where: Any) -> None:
    """One `vaults` row from a BackupVaultListMember (`where`: account_id/region when not ctx's)."""
    ctx.add(
        "vaults",
        **where,
        vault_name=v["BackupVaultName"],
        vault_arn=v.get("BackupVaultArn"),
        vault_type=v.get("VaultType"),
        encryption_key_arn=v.get("EncryptionKeyArn"),
        locked=v.get("Locked"),
        min_retention_days=v.get("MinRetentionDays"),
        max_retention_days=v.get("MaxRetentionDays"),
        lock_date=v.get("LockDate"),
        creation_date=v.get("CreationDate"),
        number_of_recovery_points=v.get("NumberOfRecoveryPoints"),
        # CREATING | AVAILABLE | FAILED: an air-gapped vault is usable once AVAILABLE
        vault_state=v.get("VaultState"),
    )


def _vaults_and_points(ctx: Context) -> None:
    vaults = ctx.paginate("backup", "list_backup_vaults", "BackupVaultList", affects=BACKUP_WIDE)
    for v in vaults or ():
        vault_record(ctx, v)
    for v in vaults or ():
        ctx.spawn(list_recovery_points, v["BackupVaultName"], v.get("BackupVaultArn"))
        ctx.spawn(protection.vault_access_policy, v["BackupVaultName"], v.get("BackupVaultArn"))
    if vaults is not None:  # refused once, the shared listing (same permission) would be too
        shared_vaults.collect(ctx)


def list_recovery_points(
    ctx: Context, vault_name: str, vault_arn: str | None, owner: str | None = None
) -> None:
    """Every recovery point of one vault (a task of its own: a vault can hold 100,000s).

    `owner`: the account of a vault another account shared with this one (its recovery points are
    stored, and recorded, in that account).
    """
    where = {"BackupVaultAccountId": owner} if owner else {}
    ctx.each_page(
        "backup",
        "list_recovery_points_by_backup_vault",
        "RecoveryPoints",
        lambda page: _add_points(ctx, page, vault_name, vault_arn, owner),
        affects=BACKUP_WIDE,
        BackupVaultName=vault_name,
        **where,
    )


def _add_points(
    ctx: Context, points: list[dict], vault_name: str, vault_arn: str | None, owner: str | None
) -> None:
    """The `recovery_points` rows of one page of a vault's listing."""
    for rp in points:
        life = rp.get("CalculatedLifecycle") or {}
        cold_at = life.get("MoveToColdStorageAt")
        creator = rp.get("CreatedBy") or {}
        size = rp.get("BackupSizeInBytes")
        ctx.add(
            "recovery_points",
            **({"account_id": owner} if owner else {}),
            recovery_point_arn=rp["RecoveryPointArn"],
            resource_arn=rp.get("ResourceArn"),
            source="aws-backup",
            created_by="aws-backup",
            status=RP_STATUS.get(rp.get("Status", ""), "FAILED"),
            created_at=rp.get("CreationDate"),
            completed_at=rp.get("CompletionDate"),
            size_bytes=size,
            size_basis="BackupSizeInBytes" if size is not None else None,
            # The listing has no StorageClass: the computed lifecycle says when it went cold.
            storage_class="cold"
            if cold_at is not None and ctx.as_of is not None and cold_at <= ctx.as_of
            else "warm",
            delete_at=life.get("DeleteAt"),
            move_to_cold_at=cold_at,
            encrypted=rp.get("IsEncrypted"),
            kms_key_arn=rp.get("EncryptionKeyArn"),
            vault_name=rp.get("BackupVaultName") or vault_name,
            vault_arn=rp.get("BackupVaultArn") or vault_arn,
            backup_plan_id=creator.get("BackupPlanId"),
            backup_rule_id=creator.get("BackupRuleId"),
            _backup_resource_type=rp.get("ResourceType"),
            _origin="backup",
        )


def _plans(ctx: Context) -> None:
    plans = ctx.paginate("backup", "list_backup_plans", "BackupPlansList", affects=BACKUP_WIDE)
    for p in plans or ():
        plan_id = p["BackupPlanId"]
        ctx.add(
            "backup_plans",
            backup_plan_id=plan_id,
            backup_plan_arn=p.get("BackupPlanArn"),
            backup_plan_name=p.get("BackupPlanName"),
            version_id=p.get("VersionId"),
            creation_date=p.get("CreationDate"),
        )
    ids = [p["BackupPlanId"] for p in plans or ()]
    for start in range(0, len(ids), PLANS_PER_TASK):
        ctx.spawn(describe_plans, ids[start : start + PLANS_PER_TASK])


def describe_plans(ctx: Context, plan_ids: list[str]) -> None:
    """Rules and selections of plans (GetBackupPlan, ListBackupSelections, GetBackupSelection)."""
    for plan_id in plan_ids:
        detail = ctx.call("backup", "get_backup_plan", affects=BACKUP_WIDE, BackupPlanId=plan_id)
        for rule in ((detail or {}).get("BackupPlan") or {}).get("Rules", []):
            life = rule.get("Lifecycle") or {}
            copies = [
                {
                    "destination_vault_arn": c.get("DestinationBackupVaultArn"),
                    "move_to_cold_after_days": (c.get("Lifecycle") or {}).get(
                        "MoveToColdStorageAfterDays"
                    ),
                    "delete_after_days": (c.get("Lifecycle") or {}).get("DeleteAfterDays"),
                }
                for c in rule.get("CopyActions") or []
            ]
            ctx.add(
                "backup_rules",
                backup_plan_id=plan_id,
                rule_id=rule.get("RuleId"),
                rule_name=rule.get("RuleName"),
                target_vault_name=rule.get("TargetBackupVaultName"),
                schedule_expression=rule.get("ScheduleExpression"),
                schedule_timezone=rule.get("ScheduleExpressionTimezone"),
                start_window_minutes=rule.get("StartWindowMinutes"),
                completion_window_minutes=rule.get("CompletionWindowMinutes"),
                move_to_cold_after_days=life.get("MoveToColdStorageAfterDays"),
                delete_after_days=life.get("DeleteAfterDays"),
                opt_in_to_archive=life.get("OptInToArchiveForSupportedResources"),
                continuous_backup=rule.get("EnableContinuousBackup"),
                copy_actions=json.dumps(copies, sort_keys=True),
                # Set, supported resources back up straight into this logically air-gapped vault
                # (others snapshot into TargetBackupVaultName, then copy): AWS Backup API
                # reference, BackupRule.TargetLogicallyAirGappedBackupVaultArn.
                target_air_gapped_vault_arn=rule.get("TargetLogicallyAirGappedBackupVaultArn"),
                # BackupRule.RecoveryPointTags (AWS Backup API reference): tags AWS Backup adds to
                # every recovery point the rule makes
                recovery_point_tags=json.dumps(rule.get("RecoveryPointTags") or {}, sort_keys=True),
            )
        selections = ctx.paginate(
            "backup",
            "list_backup_selections",
            "BackupSelectionsList",
            affects=BACKUP_WIDE,
            BackupPlanId=plan_id,
        )
        for s in selections or ():
            got = ctx.call(
                "backup",
                "get_backup_selection",
                affects=BACKUP_WIDE,
                BackupPlanId=plan_id,
                SelectionId=s["SelectionId"],
            )
            if got is None:
                continue
            sel = got.get("BackupSelection") or {}
            ctx.add(
                "backup_selections",
                backup_plan_id=plan_id,
                selection_id=s["SelectionId"],
                selection_name=sel.get("SelectionName") or s.get("SelectionName"),
                iam_role_arn=sel.get("IamRoleArn") or s.get("IamRoleArn"),
                resources=_dumps(sel.get("Resources") or []),
                not_resources=_dumps(sel.get("NotResources") or []),
                list_of_tags=_dumps(sel.get("ListOfTags") or []),
                conditions=_dumps(sel.get("Conditions") or {}),
            )


# A completed backup job is already its recovery point; only the jobs that left none (or a partial
# one) add evidence. Asking for those states alone costs a few calls a region instead of paging
# through every job AWS keeps (most of them COMPLETED), and far less memory.
UNSUCCESSFUL_JOB_STATES = ("FAILED", "EXPIRED", "ABORTED", "PARTIAL")


def _jobs(ctx: Context) -> None:
    for state in UNSUCCESSFUL_JOB_STATES:
        listed = ctx.each_page(
            "backup",
            "list_backup_jobs",
            "BackupJobs",
            lambda page: _add_backup_jobs(ctx, page),
            affects=BACKUP_WIDE,
            ByState=state,
        )
        if not listed:
            break  # recorded once in `errors`; the other states would fail the same way
    ctx.each_page(
        "backup",
        "list_copy_jobs",
        "CopyJobs",
        lambda page: _add_copy_jobs(ctx, page),
        affects=BACKUP_WIDE,
    )


def _add_backup_jobs(ctx: Context, jobs: list[dict]) -> None:
    """The `backup_jobs` rows of one page of ListBackupJobs."""
    for j in jobs:
        _add_job(
            ctx,
            j,
            job_id=j["BackupJobId"],
            job_type="backup",
            recovery_point_arn=j.get("RecoveryPointArn"),
            vault_name=j.get("BackupVaultName"),
        )


def _add_copy_jobs(ctx: Context, jobs: list[dict]) -> None:
    """The `backup_jobs` rows of one page of ListCopyJobs."""
    for j in jobs:
        _add_job(
            ctx,
            j,
            job_id=j["CopyJobId"],
            job_type="copy",
            recovery_point_arn=j.get("DestinationRecoveryPointArn"),
            vault_name=_vault_name(j.get("DestinationBackupVaultArn")),
            _copy_source_arn=j.get("SourceRecoveryPointArn"),
        )


def _add_job(ctx: Context, job: dict, **fields: Any) -> None:
    """One `backup_jobs` row from a BackupJob or CopyJob (the fields both shapes share, plus `fields`)."""
    creator = job.get("CreatedBy") or {}
    ctx.add(
        "backup_jobs",
        state=job.get("State"),
        resource_arn=job.get("ResourceArn"),
        backup_plan_id=creator.get("BackupPlanId"),
        backup_rule_id=creator.get("BackupRuleId"),
        created_at=job.get("CreationDate"),
        completed_at=job.get("CompletionDate"),
        status_message=job.get("StatusMessage"),
        _backup_resource_type=job.get("ResourceType"),
        **fields,
    )
