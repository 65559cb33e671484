"""backup-retention: backups are kept long enough and the history reaches back that far."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa

from auditor.controls import frames as fr
from auditor.controls.context import (
    NEVER_TS,
    NONE_TS,
    US_PER_DAY,
    Context,
    us_to_ts,
)
from auditor.controls.registry import control
from auditor.controls.text import choose, first_of, join, number_text
from auditor.controls.verdicts import (
    FAIL,
    PASS,
    Part,
)


def _describe_retention(frame: pd.DataFrame, ctx: Context) -> pa.Array:
    s = fr.status_of(frame)
    keep = number_text(fr.num(frame, "retention_days"), 0)
    shortest = number_text(fr.num(frame, "shortest_lifecycle_days"))
    history = number_text(fr.num(frame, "history_days"))
    life_fail = frame["ev.expires_too_soon"].to_numpy(dtype=bool, na_value=False)
    has = frame["ev.oldest_backup"].notna().to_numpy()
    young = frame["ev.younger_than_window"].to_numpy(dtype=bool, na_value=False)
    passed = choose(
        young,
        join(
            "Backups are kept at least ",
            keep,
            " days; the resource is younger than the retention window.",
        ),
        join(
            "Backups are kept at least ", keep, " days and history reaches back ", history, " days."
        ),
    )
    failed = first_of(
        [
            (
                life_fail,
                join(
                    "A backup is set to expire after ",
                    shortest,
                    " days, before the ",
                    keep,
                    " days the plan requires.",
                ),
            ),
            (
                has,
                join(
                    "Backup history reaches back only ",
                    history,
                    " days of the ",
                    keep,
                    " days the plan requires.",
                ),
            ),
        ],
        join(
            "No backup history at all, though the resource is older than the ",
            keep,
            "-day retention window.",
        ),
    )
    return choose(s == PASS, passed, failed)


@control(
    "backup-retention",
    "Backups are kept long enough",
    "medium",
    reads=("resources", "tags", "continuous_backups", "recovery_points", "backup_jobs", "vaults"),
    remediation="Keep backups at least retention_days (the rule's lifecycle DeleteAfterDays).",
    order=40,
    # AWS Backup Developer Guide, "Choosing your controls"; AWS Config managed rules.
    equivalent="AWS Backup Audit Manager BACKUP_RECOVERY_POINT_MINIMUM_RETENTION_CHECK; AWS Config rule backup-recovery-point-minimum-retention-check",
)
def backup_retention(ctx: Context) -> Part:
    """Backups must be kept for `retention_days`, and the history must really reach back that far.

    FAIL when a completed backup the plan accepts is set to be deleted (lifecycle `delete_at`) less
    than `retention_days` after it was made, or, for a resource older than the retention window, when
    its oldest kept backup is more recent than `as_of - retention_days + one frequency interval`
    (no backup at all counts as no history). Younger resources are judged on the lifecycle only.
    """
    keep_us = ctx.plan_values(lambda p: p.retention_days * US_PER_DAY, dtype=np.int64)
    interval_us = ctx.plan_values(lambda p: int(p.interval.total_seconds() * 1e6), dtype=np.int64)
    min_life = ctx.combine("min_life", "min", NEVER_TS)
    oldest = ctx.combine("oldest", "min", NEVER_TS)
    life_fail = (min_life != NEVER_TS) & (min_life < keep_us)
    created = ctx.created_us[ctx.pair_ridx]
    created_known = created != NONE_TS
    res_age = np.where(created_known, ctx.now - created, 0)
    old = ~created_known | (res_age > keep_us)
    has = oldest != NEVER_TS
    need = ctx.now - keep_us + interval_us
    depth_fail = old & (~has | (oldest > need))
    status = np.where(life_fail | depth_fail, FAIL, PASS)
    frame = fr.pair_frame(
        ctx,
        status,
        retention_days=keep_us / US_PER_DAY,
        shortest_lifecycle_days=fr.days(min_life, min_life == NEVER_TS),
        oldest_backup=us_to_ts(np.where(has, oldest, NONE_TS)),
        history_days=fr.days(np.where(has, ctx.now - oldest, 0), ~has),
        oldest_required_by=us_to_ts(np.where(old, need, NONE_TS)),
        resource_age_days=fr.days(res_age, ~created_known),
        younger_than_window=~old,
        expires_too_soon=life_fail,
        history_too_short=depth_fail,
    )
    return Part(
        "backup-retention",
        frame,
        _describe_retention,
        evidence_hook=_retention_backups,
        remediate=_remediate_retention,
    )


def _retention_backups(frame: pd.DataFrame, ctx: Context) -> dict:
    """For failing findings, the backups behind the verdict by ARN: the one set to be deleted
    soonest after it was made (and the AWS Backup rule that made it), and the oldest one kept."""
    from auditor.controls.rules.backup_max_retention import oldest_backup_rows

    failing = fr.status_of(frame) == FAIL
    out: dict = {}
    if not failing.any() or not len(ctx.rp):
        return out
    soon = frame["ev.expires_too_soon"].to_numpy(dtype=bool, na_value=False) & failing
    if soon.any():
        rows = np.where(
            soon, oldest_backup_rows(frame, ctx, "shortest_lifecycle", _shortest_lifecycle), -1
        )
        out["shortest_lifecycle_backup_arn"] = fr.rp_text(ctx, "recovery_point_arn", rows)
        out["shortest_lifecycle_rule_id"] = (
            fr.rp_text(ctx, "backup_rule_id", rows)
            if "backup_rule_id" in ctx.rp
            else pa.nulls(len(rows), pa.string())
        )
    short = frame["ev.history_too_short"].to_numpy(dtype=bool, na_value=False) & failing
    if short.any():
        rows = np.where(short, oldest_backup_rows(frame, ctx, "oldest_primary", _primary), -1)
        out["oldest_backup_arn"] = fr.rp_text(ctx, "recovery_point_arn", rows)
    return out


def _primary(ctx: Context) -> tuple[np.ndarray, None]:
    """Backups that are not copies of another."""
    return ctx.rp["copy_source_arn"].isna().to_numpy(dtype=bool), None


def _shortest_lifecycle(ctx: Context) -> tuple[np.ndarray, np.ndarray]:
    """Primary backups with a lifecycle, ranked shortest-lived first."""
    lived = np.where(ctx.rp_delete == NONE_TS, 0, ctx.rp_delete - ctx.rp_created)
    return _primary(ctx)[0] & (lived > 0), lived


def _remediate_retention(frame: pd.DataFrame, ctx: Context) -> np.ndarray:
    """The lifecycle the plan needs, built once per plan (the rows index it)."""
    # AWS Backup API Reference, BackupRuleInput: Lifecycle.DeleteAfterDays.
    return fr.plan_remedy(
        frame,
        ctx,
        lambda p: (
            f"Set the backup rule's lifecycle DeleteAfterDays to at least {p.retention_days} "
            f"(plan {p.name}'s retention_days) with `aws backup update-backup-plan`; history "
            "already deleted cannot come back, so the finding clears once backups have been kept "
            "that long."
        ),
    )
