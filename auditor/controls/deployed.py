"""What AWS Backup really runs: deployed selections and rules, matched against declared plans.

A deployed selection can only pick resources in its own account and region, so resources are
grouped by (account, region) once and each selection is evaluated on its group (AWS semantics, see
`auditor.policy.selection`). A selection covers a declared plan when its backup plan has a rule at
least as frequent (longest gap of its schedule <= the plan's frequency) and keeping backups at least
as long (DeleteAfterDays >= retention_days, or never deleted). AWS Backup only acts on types it
supports and on services opted in for the region (`region_settings`).
"""

from __future__ import annotations

import json
import math
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from auditor.policy.columns import codes_of
from auditor.policy.schedule import ScheduleError, max_interval
from auditor.policy.selection import aws_selection_spec, spec_mask

if TYPE_CHECKING:
    from auditor.controls.engine import Context

__all__ = ["deployed_coverage", "rule_table"]


def rule_table(ctx: Context) -> pd.DataFrame:
    """The deployed rules with `interval_s` (longest gap, inf if unreadable) and `keep_days` (inf = forever)."""
    rules = ctx.inventory["backup_rules"].reset_index(drop=True)
    plans = ctx.inventory["backup_plans"]
    names = {
        (r.account_id, r.region, r.backup_plan_id): r.backup_plan_name
        for r in plans.itertuples(index=False)
    }
    intervals, keeps, labels, problems = [], [], [], []
    for r in rules.itertuples(index=False):
        problem = None
        expr = (
            r.schedule_expression
            if isinstance(r.schedule_expression, str) and r.schedule_expression
            else None
        )
        continuous = (
            r.continuous_backup is not pd.NA
            and r.continuous_backup is not None
            and bool(r.continuous_backup)
        )
        if expr is None:
            # Continuous backup (point-in-time recovery) keeps restore points all the time.
            interval = 3600.0 if continuous else math.inf
            problem = None if continuous else "no schedule"
        else:
            try:
                gap = max_interval(expr, start=ctx.as_of)
                interval = gap.total_seconds() if gap != gap.max else math.inf
            except ScheduleError as exc:
                interval, problem = math.inf, str(exc)
        keep = (
            math.inf
            if r.delete_after_days is pd.NA or r.delete_after_days is None
            else float(r.delete_after_days)
        )
        plan_name = names.get((r.account_id, r.region, r.backup_plan_id), r.backup_plan_id)
        every = (
            "continuously"
            if expr is None and continuous
            else (
                f"every {interval / 3600:g}h"
                if math.isfinite(interval)
                else f"on schedule {expr!r} ({problem})"
            )
        )
        kept = "keeps backups forever" if math.isinf(keep) else f"keeps backups {keep:g} days"
        labels.append(f"AWS Backup plan '{plan_name}' rule '{r.rule_name}' ({every}, {kept})")
        intervals.append(interval)
        keeps.append(keep)
        problems.append(problem)
    out = rules.copy()
    out["interval_s"] = np.array(intervals, dtype=float)
    out["keep_days"] = np.array(keeps, dtype=float)
    out["label"] = labels
    out["problem"] = problems
    return out


def _opted_in(ctx: Context) -> np.ndarray:
    settings = ctx.inventory["region_settings"]
    if not len(settings) or not ctx.n:
        return np.ones(ctx.n, dtype=bool)
    service = ctx.policies.support.service_of(ctx.res)
    key = pd.DataFrame(
        {
            "account_id": ctx.res["account_id"].astype(object),
            "region": ctx.res["region"].astype(object),
            "service": service.astype(object),
        }
    )
    table = (
        settings[["account_id", "region", "service", "opted_in"]]
        .astype({"account_id": object, "region": object, "service": object})
        .drop_duplicates(["account_id", "region", "service"], keep="last")
    )
    merged = key.merge(table, on=["account_id", "region", "service"], how="left")
    # No setting reported for a service: AWS's default (opted in) applies.
    return merged["opted_in"].fillna(True).to_numpy(dtype=bool)


def _groups(ctx: Context) -> dict:
    """{(account_id, region): resource positions}, from dictionary codes (no string grouping)."""
    acc, acc_names = codes_of(ctx.res["account_id"])
    reg, reg_names = codes_of(ctx.res["region"])
    if not ctx.n:
        return {}
    key = acc.astype(np.int64) * (len(reg_names) + 1) + reg
    order = np.argsort(key, kind="stable")
    uniq, starts = np.unique(key[order], return_index=True)
    bounds = list(starts) + [len(order)]
    out = {}
    for i, k in enumerate(uniq):
        a, r = divmod(int(k), len(reg_names) + 1)
        if a < 0 or r >= len(reg_names) or acc[order[bounds[i]]] < 0 or reg[order[bounds[i]]] < 0:
            continue
        out[(acc_names[a], reg_names[r])] = order[bounds[i] : bounds[i + 1]]
    return out


def deployed_coverage(ctx: Context) -> dict:
    """Per (resource, plan) pair: deployed AWS Backup coverage and the facts behind it."""
    n_pairs = len(ctx.pair_ridx)
    out = {
        "aws_ok": np.zeros(n_pairs, dtype=bool),
        "selected": np.zeros(n_pairs, dtype=bool),
        "match": np.full(n_pairs, -1, dtype=np.int64),  # index into labels: the rule that covers it
        "nearest": np.full(n_pairs, -1, dtype=np.int64),  # a selecting rule that does not cover it
        "labels": [],
        "rule_vault": [],
    }
    supported, reason = (
        ctx.policies.support.supported_mask(ctx.res)
        if ctx.n
        else (np.ones(0, bool), np.empty(0, object))
    )
    opted = _opted_in(ctx)
    out["supported"] = supported[ctx.pair_ridx] if n_pairs else np.ones(0, bool)
    out["unsupported_reason"] = reason[ctx.pair_ridx] if n_pairs else np.empty(0, object)
    out["opted_in"] = opted[ctx.pair_ridx] if n_pairs else np.ones(0, bool)
    selections = ctx.inventory["backup_selections"].reset_index(drop=True)
    if not len(selections) or not n_pairs:
        return out
    rules = rule_table(ctx)
    out["labels"] = list(rules["label"])
    out["rule_vault"] = list(rules["target_vault_name"])
    rules_by_plan = {
        key: grp.index.to_numpy()
        for key, grp in rules.groupby(
            ["account_id", "region", "backup_plan_id"], sort=False, dropna=False
        )
    }
    groups = _groups(ctx)
    plan_rows = [np.flatnonzero(ctx.pair_plan == p) for p in range(len(ctx.plans))]
    # Full-length per-plan arrays, filled selection by selection.
    match = {
        p: np.full(ctx.n, -1, dtype=np.int64)
        for p, pl in enumerate(ctx.plans)
        if "aws-backup" in pl.accept
    }
    nearest = np.full(ctx.n, -1, dtype=np.int64)
    for sel in selections.itertuples(index=False):
        positions = groups.get((sel.account_id, sel.region))
        if positions is None or not len(positions):
            continue
        try:
            spec = aws_selection_spec(sel._asdict())
        except (ValueError, KeyError, TypeError, AttributeError, json.JSONDecodeError):
            continue  # an unreadable selection selects nothing we can prove
        hit = positions[spec_mask(spec, ctx.res, ctx.view, positions=positions)]
        if not len(hit):
            continue
        rule_idx = rules_by_plan.get(
            (sel.account_id, sel.region, sel.backup_plan_id), np.empty(0, np.int64)
        )
        if not len(rule_idx):
            continue
        free = hit[nearest[hit] < 0]
        nearest[free] = rule_idx[0]
        for p, arr in match.items():
            plan = ctx.plans[p]
            ok = (
                rules["interval_s"].to_numpy()[rule_idx] <= plan.interval.total_seconds() + 1e-6
            ) & (rules["keep_days"].to_numpy()[rule_idx] >= plan.retention_days)
            if not ok.any():
                continue
            free = hit[arr[hit] < 0]
            arr[free] = rule_idx[np.flatnonzero(ok)[0]]
    for p, arr in match.items():
        rows = plan_rows[p]
        out["match"][rows] = arr[ctx.pair_ridx[rows]]
    out["nearest"] = nearest[ctx.pair_ridx]
    out["selected"] = out["nearest"] >= 0
    out["aws_ok"] = (out["match"] >= 0) & out["supported"] & out["opted_in"]
    return out
