"""backup-max-retention: no backup is kept past the plan's max_retention_days."""

from __future__ import annotations

import numpy as np
import pandas as pd

from auditor.controls import frames as fr
from auditor.controls.context import (
    KINDS,
    NEVER_TS,
    NONE_TS,
    US_PER_DAY,
    Context,
    us_to_ts,
)
from auditor.controls.registry import control
from auditor.controls.verdicts import (
    FAIL,
    NOT_APPLICABLE,
    PASS,
    Part,
)


def _describe_max(frame: pd.DataFrame, ctx: Context) -> pd.Series:
    s = fr.status_of(frame)
    limit = fr.fmt(fr.num(frame, "max_retention_days"), 0)
    oldest = fr.fmt(fr.num(frame, "oldest_age_days"))
    longest = fr.fmt(fr.num(frame, "longest_lifecycle_days"))
    too_old = (
        frame["ev.kept_past_limit"].to_numpy(dtype=bool, na_value=False)
        if "ev.kept_past_limit" in frame
        else np.zeros(len(frame), bool)
    )
    texts = fr.select(
        [
            (s == NOT_APPLICABLE, "The plan sets no max_retention_days."),
            (
                s == PASS,
                "No backup is kept past " + limit + " days (oldest is " + oldest + " days old).",
            ),
            (too_old, "A backup is " + oldest + " days old, past the " + limit + "-day maximum."),
            (
                fr.num(frame, "kept_forever") > 0,
                fr.fmt(fr.num(frame, "kept_forever"), 0)
                + " backup(s) have no planned deletion (kept forever), past the "
                + limit
                + "-day maximum.",
            ),
        ],
        "A backup is set to be kept " + longest + " days, past the " + limit + "-day maximum.",
    )
    return pd.Series(texts, dtype=object)


@control(
    "backup-max-retention",
    "Backups are not kept too long",
    "low",
    reads=("resources", "tags", "continuous_backups", "recovery_points", "backup_jobs", "vaults"),
    remediation="Shorten the lifecycle to max_retention_days and delete the backups kept past it.",
    pre_deploy="A deployed rule keeps backups past the plan's max_retention_days.",
    order=50,
)
def backup_max_retention(ctx: Context) -> Part:
    """Backups must not be kept past `max_retention_days` (a cost and data-protection risk).

    FAIL when a completed backup the plan accepts (including copies) is older than
    `max_retention_days`, its lifecycle keeps it longer, or nothing will ever delete it (AWS
    Backup's lifecycle without DeleteAfterDays, or -1: "keep your recovery points indefinitely",
    API reference "Lifecycle"; a snapshot no schedule expires). Backups with and without a
    lifecycle are judged alike. NOT_APPLICABLE when the plan sets no maximum.
    """
    limit = ctx.plan_values(lambda p: (p.max_retention_days or 0) * US_PER_DAY, dtype=np.int64)
    applies = ctx.plan_values(lambda p: p.max_retention_days is not None, dtype=bool)
    oldest = ctx.combine("oldest_all", "min", NEVER_TS)
    longest = ctx.combine("max_life_all", "max", NONE_TS)
    forever = _forever_counts(ctx)
    has = oldest != NEVER_TS
    age = np.where(has, ctx.now - oldest, 0)
    too_old = has & (age > limit)
    too_long = ((longest != NONE_TS) & (longest > limit)) | (forever > 0)
    status = np.where(~applies, NOT_APPLICABLE, np.where(too_old | too_long, FAIL, PASS))
    frame = fr.pair_frame(
        ctx,
        status,
        max_retention_days=np.where(applies, limit / US_PER_DAY, np.nan),
        oldest_backup=us_to_ts(np.where(has, oldest, NONE_TS)),
        oldest_age_days=fr.days(age, ~has),
        longest_lifecycle_days=fr.days(longest, longest == NONE_TS),
        kept_forever=forever,
        kept_past_limit=too_old & applies,
    )
    return Part("backup-max-retention", frame, _describe_max)


def _forever_counts(ctx: Context) -> np.ndarray:
    """Per pair: completed backups the plan accepts that nothing will ever delete."""
    rows = ctx.rp_completed & (ctx.rp_ridx >= 0) & (ctx.rp_delete == NONE_TS)
    key = ctx.rp_kind[rows].astype(np.int64) * ctx.n + ctx.rp_ridx[rows]
    counts = np.bincount(key, minlength=2 * ctx.n)
    out = np.zeros(len(ctx.pair_ridx), dtype=np.int64)
    for k, kind in enumerate(KINDS):
        out += np.where(ctx.accepts(kind), counts[k * ctx.n + ctx.pair_ridx], 0)
    return out
