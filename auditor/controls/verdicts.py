"""Verdicts: status codes, a control's compact `Part`, and the failed calls and waivers applied to it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from auditor.controls.context import Context

__all__ = [
    "FAIL",
    "NOT_APPLICABLE",
    "NOT_ASSESSED",
    "PASS",
    "STATUSES",
    "WAIVED",
    "Part",
    "apply_errors",
    "apply_replicas",
    "apply_waivers",
    "narrow_row_numbers",
]

STATUSES = ("PASS", "FAIL", "WAIVED", "NOT_APPLICABLE", "NOT_ASSESSED")
PASS, FAIL, WAIVED, NOT_APPLICABLE, NOT_ASSESSED = range(5)


@dataclass
class Part:
    """One control's verdicts, compact.

    `frame` has ``ridx`` (resource number, -1 for rows about something else, which then carry
    ``resource_arn``, ``resource_type``, ``account_id``, ``region`` themselves), ``plan`` (plan
    number or -1), ``status`` (index into STATUSES) and evidence columns named ``ev.<name>``
    (``ev.a.b`` nests). `describe(frame, ctx)` returns the one-sentence detail per row (the
    built-in controls give an Arrow string array, made on whole columns by
    `auditor.controls.text`; a Series or an array of str works too).
    """

    control_id: str
    frame: pd.DataFrame
    describe: Callable[[pd.DataFrame, Context], pd.Series]
    # Optional: more evidence computed only when findings are materialised (e.g. costs).
    evidence_hook: Callable[[pd.DataFrame, Context], dict] | None = None
    # Optional: what to change, per row (text or None), for the rows that need action; without
    # it (or where it gives None) they get the registration's default remediation.
    remediate: Callable[[pd.DataFrame, Context], object] | None = None


def apply_replicas(part: Part, ctx: Context) -> None:
    """Findings about a plan for an RDS read replica -> NOT_APPLICABLE (its source is backed up)."""
    f = part.frame
    if not len(f) or not ctx.replica.any():
        return
    ridx = f["ridx"].to_numpy()
    hit = (ridx >= 0) & (f["plan"].to_numpy() >= 0)
    hit &= ctx.replica[np.maximum(ridx, 0)]
    if hit.any():
        status = f["status"].to_numpy().copy()
        status[hit] = NOT_APPLICABLE
        f["status"] = status
        f["na_reason"] = np.where(hit, ridx, -1)


def apply_errors(part: Part, ctx: Context, reads: frozenset[str]) -> None:
    """PASS/FAIL -> NOT_ASSESSED where a failed call filled data in `reads` for the resource."""
    f = part.frame
    if not len(f) or not len(ctx.errors):
        return
    ridx = f["ridx"].to_numpy()
    na_error = ctx.na_error_for(reads)
    err = np.where(ridx >= 0, na_error[np.maximum(ridx, 0)] if ctx.n else -1, -1)
    if "na_error" in f:
        err = np.where(err >= 0, err, f["na_error"].to_numpy())
    status = f["status"].to_numpy().copy()
    hit = (err >= 0) & ((status == PASS) | (status == FAIL))
    status[hit] = NOT_ASSESSED
    f["status"] = status
    f["na_error"] = np.where(hit | (status == NOT_ASSESSED), err, -1)


def apply_waivers(part: Part, ctx: Context) -> None:
    """FAIL -> WAIVED where a waiver in force matches; an expired one is noted as evidence.

    Whether a waiver matches is the `Waiver`'s decision (`covers` the control and plan, `names`
    the ARN, `active` at `as_of`: together `Waiver.matches`), applied here to whole columns.
    """
    f = part.frame
    waivers = ctx.policies.waivers
    if not len(f) or not waivers:
        return
    ridx = f["ridx"].to_numpy()
    status = f["status"].to_numpy().copy()
    applied = np.full(len(f), -1, dtype=np.int64)
    expired = np.full(len(f), -1, dtype=np.int64)
    res_arn = ctx.res["resource_arn"]
    own_arns = [f[c] for c in ("resource_arn", "source_arn") if c in f]
    plan_codes = f["plan"].to_numpy().astype(np.int64)
    plan_names = [p.name for p in ctx.plans] + [None]  # code -1 -> None (no plan)
    for w, waiver in enumerate(waivers):
        covered = np.array([waiver.covers(part.control_id, name) for name in plan_names])
        if not covered.any():
            continue
        res_hit = waiver.names(res_arn) if ctx.n else np.zeros(0, bool)
        hit = np.where(ridx >= 0, res_hit[np.maximum(ridx, 0)] if ctx.n else False, False)
        for arns in own_arns:
            hit |= waiver.names(arns) & (ridx < 0)
        hit &= covered[plan_codes] & (status == FAIL)
        if waiver.active(ctx.as_of):
            applied[hit & (applied < 0)] = w
        else:
            expired[hit & (expired < 0)] = w
    status[applied >= 0] = WAIVED
    f["status"] = status
    if (applied >= 0).any():
        f["waiver"] = applied
    if ((expired >= 0) & (status == FAIL)).any():
        f["expired_waiver"] = np.where(status == FAIL, expired, -1)


def narrow_row_numbers(part: Part) -> None:
    """Keep the part's int64 row-number columns (``ridx``, ``na_error``, rows of other tables) as
    int32 when their values fit, in place.

    A check holds every part until its findings are written: at a million resources that is
    22 million rows, and each int64 column of them 84 MiB more than it needs. Evidence columns
    (``ev.*``) keep the type their control gave them.
    """
    f = part.frame
    limits = np.iinfo(np.int32)
    for name in f.columns:
        if name.startswith("ev.") or f[name].dtype != np.int64 or not len(f):
            continue
        values = f[name].to_numpy()
        if limits.min <= values.min() and values.max() <= limits.max:
            f[name] = values.astype(np.int32)
