"""What AWS Backup really runs: deployed selections and rules, matched against declared plans.

A deployed selection can only pick resources in its own account and region, so resources are
grouped by (account, region) once and each selection is evaluated on its group (AWS semantics, see
`auditor.policy.selection`). A selection covers a declared plan when its backup plan has a rule at
least as frequent (longest gap of its schedule <= the plan's frequency) and keeping backups at least
as long (DeleteAfterDays >= retention_days, or never deleted). AWS Backup only acts on types it
supports, and a region's service opt-in (`region_settings`) limits the resources a selection
assigns by tag or by "*": one it names by ARN is backed up whatever the opt-in, except Aurora,
DocumentDB and Neptune (AWS Backup Developer Guide, "Working with supported services":
https://docs.aws.amazon.com/aws-backup/latest/devguide/working-with-supported-services.html).

Rules read as AWS Backup runs them (API reference, "BackupRuleInput" and "Lifecycle"): no
ScheduleExpression means cron(0 5 ? * * *); ScheduleExpressionTimezone is the cron's zone (UTC by
default); no DeleteAfterDays, or -1, keeps backups forever.
"""

from __future__ import annotations

import json
import math
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from auditor.policy.columns import codes_of
from auditor.policy.schedule import DEFAULT_SCHEDULE, ScheduleError, max_interval
from auditor.policy.selection import aws_selection_spec, named_mask, spec_mask
from auditor.policy.support import pair_feature_gaps

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
    # The same few schedules repeat in every account and region: each is read once.
    schedules: dict[tuple, tuple[float, str | None, str]] = {}
    for r in rules.itertuples(index=False):
        key = (r.schedule_expression, r.schedule_timezone, r.continuous_backup)
        if key not in schedules:
            schedules[key] = _rule_interval(r, ctx)
        interval, problem, every = schedules[key]
        days = r.delete_after_days
        # No DeleteAfterDays, or -1, keeps recovery points indefinitely.
        keep = math.inf if days is pd.NA or days is None or float(days) < 0 else float(days)
        plan_name = names.get((r.account_id, r.region, r.backup_plan_id), r.backup_plan_id)
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


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value.strip() else None


def _rule_interval(r: object, ctx: Context) -> tuple[float, str | None, str]:
    """(longest gap in seconds, problem, 'every ...' text) of one deployed rule."""
    expr = _text(getattr(r, "schedule_expression", None))
    zone = _text(getattr(r, "schedule_timezone", None))
    continuous = getattr(r, "continuous_backup", None)
    continuous = continuous is not pd.NA and continuous is not None and bool(continuous)
    if expr is None and continuous:
        # Continuous backup (point-in-time recovery) keeps restore points all the time.
        return 3600.0, None, "continuously"
    expr = expr or DEFAULT_SCHEDULE
    try:
        gap = max_interval(expr, start=ctx.as_of, timezone=zone)
    except ScheduleError as exc:
        return math.inf, str(exc), f"on schedule {expr!r} ({exc})"
    if gap == gap.max:
        return math.inf, "never fires again", f"on schedule {expr!r} (never fires again)"
    where = f" {zone}" if zone and zone.upper() not in ("UTC", "ETC/UTC") else ""
    return gap.total_seconds(), None, f"every {gap.total_seconds() / 3600:g}h{where}"


def _region_flag(ctx: Context, column: str, default: bool) -> np.ndarray:
    """Per resource: a region setting of its service (opted_in, full_management)."""
    settings = ctx.inventory["region_settings"]
    if not len(settings) or not ctx.n or column not in settings:
        return np.full(ctx.n, default, dtype=bool)
    service = ctx.policies.support.service_of(ctx.res)
    key = pd.DataFrame(
        {
            "account_id": ctx.res["account_id"].astype(object),
            "region": ctx.res["region"].astype(object),
            "service": service.astype(object),
        }
    )
    table = (
        settings[["account_id", "region", "service", column]]
        .astype({"account_id": object, "region": object, "service": object})
        .drop_duplicates(["account_id", "region", "service"], keep="last")
    )
    merged = key.merge(table, on=["account_id", "region", "service"], how="left")
    # No setting reported for a service: AWS's default applies.
    return merged[column].fillna(default).to_numpy(dtype=bool)


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
    out: dict[str, Any] = {
        "aws_ok": np.zeros(n_pairs, dtype=bool),
        "selected": np.zeros(n_pairs, dtype=bool),
        "match": np.full(n_pairs, -1, dtype=np.int64),  # index into labels: the rule that covers it
        "nearest": np.full(n_pairs, -1, dtype=np.int64),  # a selecting rule that does not cover it
        "labels": [],
        "rule_vault": [],
    }
    support = ctx.policies.support
    supported, reason = (
        support.supported_mask(ctx.res) if ctx.n else (np.ones(0, bool), np.empty(0, object))
    )
    opted = _region_flag(ctx, "opted_in", True)
    always = support.opt_in_always_applies(ctx.res) if ctx.n else np.zeros(0, bool)
    out["supported"] = supported[ctx.pair_ridx] if n_pairs else np.ones(0, bool)
    out["unsupported_reason"] = reason[ctx.pair_ridx] if n_pairs else np.empty(0, object)
    out["opted_in"] = opted[ctx.pair_ridx] if n_pairs else np.ones(0, bool)
    found = _selections(ctx) if n_pairs else None
    uses = {"cold_storage": np.zeros(ctx.n, bool), "continuous_backup": np.zeros(ctx.n, bool)}
    if found is not None:
        uses = found["uses"]
        out["labels"] = found["labels"]
        out["rule_vault"] = found["rule_vault"]
        for p, (any_rule, named_rule) in found["match"].items():
            rows = np.flatnonzero(ctx.pair_plan == p)
            ridx = ctx.pair_ridx[rows]
            # The opt-in blocks only what the selections assign by tag or "*".
            named_ok = (named_rule[ridx] >= 0) & ~always[ridx]
            out["match"][rows] = np.where(named_ok, named_rule[ridx], any_rule[ridx])
            out["opted_in"][rows] = opted[ridx] | named_ok
        out["nearest"] = found["nearest"][ctx.pair_ridx].astype(np.int64)
        out["selected"] = out["nearest"] >= 0
        out["aws_ok"] = (out["match"] >= 0) & out["supported"] & out["opted_in"]
    gap, gap_reason = pair_feature_gaps(
        support,
        ctx.res,
        list(ctx.plans),
        ctx.pair_ridx,
        ctx.pair_plan,
        full_management=_region_flag(ctx, "full_management", False),
        deployed_needs=uses,
    )
    out["feature_gap"] = gap
    out["feature_reason"] = gap_reason
    return out


def _selections(ctx: Context) -> dict | None:
    """Each deployed selection over its (account, region) group, against each plan's needs.

    Returns per plan (accepting aws-backup) two arrays over resources: the first satisfying rule of
    any selection, and of a selection that names the resource by ARN; the nearest selecting rule;
    and per resource whether a selecting rule moves it to cold storage or backs it up continuously.
    """
    selections = ctx.inventory["backup_selections"].reset_index(drop=True)
    if not len(selections):
        return None
    rules = rule_table(ctx)
    cold = pd.to_numeric(rules["move_to_cold_after_days"], errors="coerce").fillna(0).to_numpy() > 0
    continuous = rules["continuous_backup"].fillna(False).to_numpy(dtype=bool)
    rules_by_plan = {
        key: grp.index.to_numpy()
        for key, grp in rules.groupby(
            ["account_id", "region", "backup_plan_id"], sort=False, dropna=False
        )
    }
    groups = _groups(ctx)
    # Rule numbers fit in 32 bits: two arrays per plan over every resource, half the memory.
    match = {
        p: (np.full(ctx.n, -1, dtype=np.int32), np.full(ctx.n, -1, dtype=np.int32))
        for p, pl in enumerate(ctx.plans)
        if "aws-backup" in pl.accept
    }
    nearest = np.full(ctx.n, -1, dtype=np.int32)
    uses = {"cold_storage": np.zeros(ctx.n, bool), "continuous_backup": np.zeros(ctx.n, bool)}
    intervals = rules["interval_s"].to_numpy()
    keeps = rules["keep_days"].to_numpy()
    for sel in selections.itertuples(index=False):
        positions = groups.get((sel.account_id, sel.region))
        rule_idx = rules_by_plan.get(
            (sel.account_id, sel.region, sel.backup_plan_id), np.empty(0, np.int64)
        )
        if positions is None or not len(positions) or not len(rule_idx):
            continue
        try:
            spec = aws_selection_spec(sel._asdict())
        except (ValueError, KeyError, TypeError, AttributeError, json.JSONDecodeError):
            continue  # an unreadable selection selects nothing we can prove
        picked = spec_mask(spec, ctx.res, ctx.view, positions=positions)
        hit = positions[picked]
        if not len(hit):
            continue
        named = positions[picked & named_mask(spec, ctx.res, ctx.view, positions=positions)]
        uses["cold_storage"][hit] |= bool(cold[rule_idx].any())
        uses["continuous_backup"][hit] |= bool(continuous[rule_idx].any())
        free = hit[nearest[hit] < 0]
        nearest[free] = rule_idx[0]
        for p, (any_rule, named_rule) in match.items():
            plan = ctx.plans[p]
            ok = (intervals[rule_idx] <= plan.interval.total_seconds() + 1e-6) & (
                keeps[rule_idx] >= plan.retention_days
            )
            if not ok.any():
                continue
            first = rule_idx[np.flatnonzero(ok)[0]]
            free = hit[any_rule[hit] < 0]
            any_rule[free] = first
            free = named[named_rule[named] < 0]
            named_rule[free] = first
    return {
        "labels": list(rules["label"]),
        "rule_vault": list(rules["target_vault_name"]),
        "match": match,
        "nearest": nearest,
        "uses": uses,
    }
