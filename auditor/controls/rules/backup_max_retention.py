"""backup-max-retention: no backup is kept past the plan's max_retention_days."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
import pyarrow as pa

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
from auditor.controls.text import first_of, join, number_text, replace_rows, text_of
from auditor.controls.verdicts import (
    FAIL,
    NOT_APPLICABLE,
    PASS,
    Part,
)
from auditor.restore import DELETE_ADVICE_COLUMNS, delete_advice

_LATEST = np.iinfo(np.int64).max


def oldest_backup_rows(
    frame: pd.DataFrame,
    ctx: Context,
    variant: str = "oldest",
    choose: Callable[[Context], tuple[np.ndarray | None, np.ndarray | None]] | None = None,
) -> np.ndarray:
    """Per finding: the recovery_points row of the resource's oldest completed backup (copies
    included) of a kind its plan accepts, or -1.

    `choose(ctx)` gives (eligible, rank): only the recovery points `eligible` masks count, and the
    one of the lowest `rank` is taken instead of the oldest (either may be None). The per-resource
    table a variant needs is built from the whole inventory once per check, under `variant`:
    findings are turned into text a batch at a time, and each batch asks again.
    """
    n = ctx.n
    oldest, oldest_at = ctx.memo(
        f"oldest_backup_rows:{variant}",
        lambda: _oldest_per_kind(ctx, *(choose(ctx) if choose else (None, None))),
    )
    ridx = frame["ridx"].to_numpy()
    plan = frame["plan"].to_numpy()
    best = np.full(len(frame), -1, dtype=np.int64)
    best_at = np.full(len(frame), _LATEST, dtype=np.int64)
    for k, kind in enumerate(KINDS):
        accepts = np.array([kind in p.accept for p in ctx.plans] + [False], dtype=bool)[plan]
        slot = k * n + np.maximum(ridx, 0)
        rows = np.where(ridx >= 0, oldest[slot], -1)
        at = np.where(accepts & (rows >= 0), oldest_at[slot], _LATEST)
        better = at < best_at
        best = np.where(better, rows, best)
        best_at = np.minimum(best_at, at)
    return best


def _oldest_per_kind(
    ctx: Context, eligible: np.ndarray | None = None, rank: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Per (kind, resource) slot `kind * n + ridx`: the row of its oldest completed backup (of
    those `eligible`; of the lowest `rank` when given), or -1; and that backup's rank (its
    creation time by default)."""
    n = ctx.n
    ranks = ctx.rp_created if rank is None else rank
    keep = np.flatnonzero(
        ctx.rp_completed & (ctx.rp_ridx >= 0) & (True if eligible is None else eligible)
    )
    key = ctx.rp_kind[keep].astype(np.int64) * n + ctx.rp_ridx[keep]
    oldest = np.full(len(KINDS) * max(n, 1), -1, dtype=np.int64)
    oldest_at = np.full(len(oldest), _LATEST, dtype=np.int64)
    if not len(keep):
        return oldest, oldest_at
    # One hashed pass instead of a sort of every backup: the first of the lowest rank per slot
    # (what a stable sort by slot and rank would put first).
    first = pd.Series(ranks[keep]).groupby(key, sort=False).idxmin()
    slots, at = first.index.to_numpy(), first.to_numpy()
    oldest[slots] = keep[at]
    oldest_at[slots] = ranks[keep[at]]
    return oldest, oldest_at


def _kept_forever(ctx: Context) -> tuple[np.ndarray, None]:
    """Backups nothing will ever delete (no lifecycle, not continuous)."""
    return (ctx.rp_delete == NONE_TS) & ~ctx.rp_continuous, None


def _longest_lifecycle(ctx: Context) -> tuple[np.ndarray, np.ndarray]:
    """Backups with a lifecycle, ranked longest-lived first."""
    lived = np.where(ctx.rp_delete == NONE_TS, 0, ctx.rp_delete - ctx.rp_created)
    return lived > 0, -lived


def _delete_oldest(frame: pd.DataFrame, ctx: Context) -> tuple[np.ndarray, pd.DataFrame]:
    """For the findings whose oldest backup is past the limit: that backup's row and how to delete
    it (the call that works for who made it, and a vault lock's earliest date)."""
    too_old = frame["ev.kept_past_limit"].to_numpy(dtype=bool, na_value=False) & (
        fr.status_of(frame) == FAIL
    )
    rows = np.full(len(frame), -1, dtype=np.int64)
    if too_old.any():
        rows = np.where(too_old, oldest_backup_rows(frame, ctx), -1)
    has = rows >= 0
    # only the columns the advice reads, each taken by position: `iloc` on the whole table
    # would join every chunk of every Arrow column first
    backups = fr.rp_rows(ctx, rows[has], [c for c in DELETE_ADVICE_COLUMNS if c in ctx.rp])
    advice = delete_advice(backups, ctx.inventory["vaults"], ctx.as_of)
    return rows, advice


def _offending_examples(frame: pd.DataFrame, ctx: Context) -> dict:
    """For failing findings, the ARN of one backup behind each problem: one that nothing will
    ever delete, and the one whose lifecycle is longest."""
    failing = fr.status_of(frame) == FAIL
    out: dict = {}
    if not failing.any() or not len(ctx.rp):
        return out
    if (fr.num(frame, "kept_forever") > 0).any():
        rows = np.where(failing, oldest_backup_rows(frame, ctx, "kept_forever", _kept_forever), -1)
        if (rows >= 0).any():
            out["kept_forever_example_arn"] = fr.rp_text(ctx, "recovery_point_arn", rows)
    rows = np.where(
        failing, oldest_backup_rows(frame, ctx, "longest_lifecycle", _longest_lifecycle), -1
    )
    if (rows >= 0).any():
        out["longest_lifecycle_backup_arn"] = fr.rp_text(ctx, "recovery_point_arn", rows)
    return out


def _max_evidence(frame: pd.DataFrame, ctx: Context) -> dict:
    """The backups behind the verdict (by ARN), the oldest one past the limit and the call that
    deletes it."""
    if "ev.kept_past_limit" not in frame or not len(frame):
        return {}
    out: dict = _offending_examples(frame, ctx)
    rows, advice = _delete_oldest(frame, ctx)
    has = rows >= 0
    if not has.any():
        return out
    out["oldest_backup_arn"] = fr.rp_text(ctx, "recovery_point_arn", rows)
    for name in ("delete_command", "remediation"):
        values = np.full(len(frame), None, dtype=object)
        values[has] = np.where(advice[name] == "", None, advice[name].to_numpy(dtype=object))
        out[name] = values
    when = advice["deletable_from"].set_axis(np.flatnonzero(has))
    out["deletable_from"] = when.reindex(range(len(frame)))
    return out


def _describe_max(frame: pd.DataFrame, ctx: Context) -> pa.Array:
    s = fr.status_of(frame)
    limit = number_text(fr.num(frame, "max_retention_days"), 0)
    oldest = number_text(fr.num(frame, "oldest_age_days"))
    longest = number_text(fr.num(frame, "longest_lifecycle_days"))
    too_old = (
        frame["ev.kept_past_limit"].to_numpy(dtype=bool, na_value=False)
        if "ev.kept_past_limit" in frame
        else np.zeros(len(frame), bool)
    )
    todo = text_of("", len(frame))
    if too_old.any():
        rows, advice = _delete_oldest(frame, ctx)
        advised = join(" ", text_of(advice["remediation"].to_numpy(dtype=object)))
        todo = replace_rows(todo, np.flatnonzero(rows >= 0), advised)
    kept_forever = fr.num(frame, "kept_forever")
    return first_of(
        [
            (s == NOT_APPLICABLE, "The plan sets no max_retention_days."),
            (
                s == PASS,
                join("No backup is kept past ", limit, " days (oldest is ", oldest, " days old)."),
            ),
            (
                too_old,
                join("A backup is ", oldest, " days old, past the ", limit, "-day maximum.", todo),
            ),
            (
                kept_forever > 0,
                join(
                    number_text(kept_forever, 0),
                    " backup(s) have no planned deletion (kept forever), past the ",
                    limit,
                    "-day maximum.",
                ),
            ),
        ],
        join("A backup is set to be kept ", longest, " days, past the ", limit, "-day maximum."),
    )


@control(
    "backup-max-retention",
    "Backups are not kept too long",
    "low",
    reads=("resources", "tags", "continuous_backups", "recovery_points", "backup_jobs", "vaults"),
    remediation="Shorten the lifecycle to max_retention_days and delete the backups kept past it"
    " (with AWS Backup's delete-recovery-point for what AWS Backup made; the finding names the call).",
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
    return Part(
        "backup-max-retention",
        frame,
        _describe_max,
        evidence_hook=_max_evidence,
    )


def _forever_counts(ctx: Context) -> np.ndarray:
    """Per pair: completed backups the plan accepts that nothing will ever delete."""
    rows = ctx.rp_completed & (ctx.rp_ridx >= 0) & (ctx.rp_delete == NONE_TS) & ~ctx.rp_continuous
    key = ctx.rp_kind[rows].astype(np.int64) * ctx.n + ctx.rp_ridx[rows]
    counts = np.bincount(key, minlength=2 * ctx.n)
    out = np.zeros(len(ctx.pair_ridx), dtype=np.int64)
    for k, kind in enumerate(KINDS):
        out += np.where(ctx.accepts(kind), counts[k * ctx.n + ctx.pair_ridx], 0)
    return out
