"""restore-time-target: the resource's latest successful restore took no longer than the target."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa

from auditor.controls import frames as fr
from auditor.controls.context import NONE_TS, US_PER_HOUR, Context, us_to_ts
from auditor.controls.registry import control
from auditor.controls.rules._restores import restore_facts, restores_unseen
from auditor.controls.text import choose, first_of, join, number_text, present
from auditor.controls.unseen import mark
from auditor.controls.verdicts import FAIL, NOT_APPLICABLE, NOT_ASSESSED, PASS, Part


def _minutes(us: np.ndarray) -> np.ndarray:
    return us.astype(float) / 60_000_000


def _describe(frame: pd.DataFrame, ctx: Context) -> pa.Array:
    s = fr.status_of(frame)
    took = number_text(fr.num(frame, "restore_minutes"))
    target = number_text(fr.num(frame, "target_minutes"))
    has = frame["ev.last_restore"].notna().to_numpy()
    since = fr.col_text(frame, "jobs_collected_since")
    return first_of(
        [
            (s == NOT_APPLICABLE, "The plan sets no restore time target."),
            (
                has & (s == PASS),
                join(
                    "Its latest successful restore took ",
                    took,
                    " minutes; the target is ",
                    target,
                    " minutes.",
                ),
            ),
            (
                has,
                join(
                    "Its latest successful restore took ",
                    took,
                    " minutes, more than the ",
                    target,
                    " minute target.",
                ),
            ),
        ],
        join(
            "No successful restore of its backups",
            choose(present(since), join(" since ", since), ""),
            ", so the restore time target is unproven.",
        ),
    )


@control(
    "restore-time-target",
    "Restores finish within the target time",
    "medium",
    reads=("resources", "tags", "restore_jobs"),
    remediation=(
        "Restore the resource from a recent backup and make the restore meet the target (a "
        "smaller or closer recovery point, a faster restore path), or change the target."
    ),
    order=116,
    # AWS Backup Developer Guide, "Choosing your controls": "Restore time for resources meet target".
    equivalent="AWS Backup Audit Manager RESTORE_TIME_FOR_RESOURCES_MEET_TARGET",
)
def restore_time_target(ctx: Context) -> Part:
    """When the plan sets `restore_time_target` (e.g. `4h`), the resource's latest successful
    restore must have taken no longer.

    A restore's time is its job's CompletionDate minus its CreationDate (AWS Backup
    ListRestoreJobs); the latest successful restore is judged as AWS Config's
    *-meets-restore-time-target rules judge LatestRestoreExecutionTimeMinutes. FAIL when it took
    longer than the target, or when no successful restore of the resource is known (the target is
    unproven); NOT_ASSESSED instead when restore jobs could not be listed in a Region of the
    resource's account (the latest restore, of a copy kept there, may have run there unseen);
    NOT_APPLICABLE when the plan sets no target.
    """
    facts = restore_facts(ctx)
    target = ctx.plan_values(
        lambda p: (
            np.nan if p.restore_time_target is None else p.restore_time_target.total_seconds() * 1e6
        )
    )
    applies = ~np.isnan(target)
    ridx = ctx.pair_ridx
    last = facts.ok_at[ridx] if len(ridx) else np.empty(0, dtype=np.int64)
    took = facts.ok_duration[ridx] if len(ridx) else np.empty(0, dtype=np.int64)
    has = last != NONE_TS
    ok = has & (took <= np.nan_to_num(target))
    status = np.where(applies, np.where(ok, PASS, FAIL), NOT_APPLICABLE)
    which, unseen = restores_unseen(ctx)
    hidden = applies & (which >= 0)
    status = np.where(hidden, NOT_ASSESSED, status)
    marks = mark(np.where(hidden, which, -1), unseen)
    since = f"{facts.since:%Y-%m-%d %H:%M} UTC" if facts.since is not None else None
    restore_minutes = _minutes(took)
    restore_minutes[~has] = np.nan
    frame = fr.pair_frame(
        ctx,
        status,
        last_restore=us_to_ts(np.where(has, last, NONE_TS)),
        last_restore_job_id=facts.ok_job[ridx] if len(ridx) else np.empty(0, dtype=object),
        restore_minutes=restore_minutes,
        target_minutes=target / 60_000_000,
        target_hours=target / US_PER_HOUR,
        jobs_collected_since=np.full(len(ridx), since, dtype=object),
        not_collected=marks["not_collected"],
    )
    if hidden.any():
        frame["na_error"] = marks["na_error"]
    return Part("restore-time-target", frame, _describe, remediate=_remediate)


def _remediate(frame: pd.DataFrame, ctx: Context) -> np.ndarray:
    """What the plan's target needs, once per plan."""
    return fr.plan_remedy(
        frame,
        ctx,
        lambda p: (
            f"Plan {p.name} targets restores within {p.restore_time_target}: restore a recent "
            "recovery point (`aws backup start-restore-job`), time it "
            "(`aws backup describe-restore-job`), and shorten the restore (a closer region, a "
            "smaller resource) or agree a longer target."
        ),
    )
