"""Allocations: the estimate split by account, region, service, owner, class, plan and tag.

Each allocation row is `{<dimension>: label, gb_months, unpriced_gb_months, estimated_cost_usd}`;
`estimated_cost_usd` is null where only unpriced storage is. Row-level dimensions are sums of the
row frame; plan and tag need each backup, so they use per-backup cost rates of its row.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from auditor.metering.costs import apportion_cents
from auditor.metering.encode import Encoded, Halves
from auditor.metering.estimate import Groups, Part
from auditor.policy.columns import index_in, take

_ROW_DIMENSIONS = (
    ("account", "account_id"),
    ("region", "region"),
    ("service", "service"),
    ("billing_owner", "billing_owner"),
    ("storage_class", "storage_class"),
)

CodeSums = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]


def allocation_frame(
    column: str,
    labels: Any,
    gbm: np.ndarray,
    cost_float: np.ndarray,
    unpriced_gbm: np.ndarray,
    total_cents: int,
) -> pd.DataFrame:
    """One allocation, costliest first, its cents apportioned to add up to the total."""
    cents = apportion_cents(cost_float, total_cents)
    cost = cents / 100.0
    only_unpriced = (np.asarray(unpriced_gbm) > 0) & (cents == 0) & (np.asarray(cost_float) == 0)
    out = pd.DataFrame(
        {
            column: pd.Series(labels, dtype="str"),
            "gb_months": np.round(np.asarray(gbm, dtype=float), 6),
            "unpriced_gb_months": np.round(np.asarray(unpriced_gbm, dtype=float), 6),
            "estimated_cost_usd": np.where(only_unpriced, np.nan, cost),
        }
    )
    return out.sort_values(
        ["estimated_cost_usd", column], ascending=[False, True], na_position="last", kind="stable"
    ).reset_index(drop=True)


def _allocate_codes(
    column: str, labels: list[str], sums: CodeSums, total_cents: int
) -> pd.DataFrame:
    """Allocation from per-code sums (plan, tag value); labels may repeat (merged)."""
    gbm, cost, unpriced, count = sums
    tmp = pd.DataFrame(
        {"label": list(labels), "gbm": gbm, "cost": cost, "unpriced": unpriced, "count": count}
    )
    tmp = tmp[tmp["count"] > 0].groupby("label", sort=True).sum(numeric_only=True)
    return allocation_frame(
        column,
        tmp.index.to_numpy(dtype=object),
        tmp["gbm"].to_numpy(),
        tmp["cost"].to_numpy(),
        tmp["unpriced"].to_numpy(),
        total_cents,
    )


def plan_names(inventory: Any, plan_u: list) -> list[str]:
    """A label per backup plan id code: the deployed plan's name, else the id."""
    plans = inventory["backup_plans"]
    names = dict(zip(plans["backup_plan_id"], plans["backup_plan_name"])) if len(plans) else {}
    out = []
    for pid in plan_u:
        if pid is None or pid == "":
            out.append("(none)")
        elif names.get(pid):
            out.append(str(names[pid]))
        else:
            out.append(f"{pid} (not deployed)")
    return out


def tag_codes(
    inventory: Any, rp: pd.DataFrame, res_idx: np.ndarray, tag_key: str
) -> tuple[list[str], np.ndarray]:
    """Per backup: code of the source resource's value for `tag_key` (else the backup's own tag)."""
    tags = inventory["tags"]
    tags = tags[tags["key"] == tag_key]
    resources = inventory.resources
    labels = ["(untagged)"]
    if not len(tags):
        return labels, np.zeros(len(rp), dtype=np.int64)
    values = tags.drop_duplicates("arn", keep="last").set_index("arn")["value"]
    value_codes, value_u = pd.factorize(values.astype("str"), use_na_sentinel=True)
    labels += [str(v) for v in value_u]
    by_arn = pd.Series(value_codes + 1, index=values.index)
    res_code = (
        resources["resource_arn"].map(by_arn).fillna(0).to_numpy(dtype=np.int64)
        if len(resources)
        else np.zeros(0, np.int64)
    )
    codes = np.where(
        res_idx >= 0, res_code[np.clip(res_idx, 0, None)] if len(res_code) else 0, 0
    ).astype(np.int64)
    # A backup whose source is gone (or untagged) may carry the tag itself.
    own = by_arn[~by_arn.index.isin(resources["resource_arn"])]
    if len(own):
        todo = np.flatnonzero(codes == 0)
        if len(todo):
            idx = index_in(
                pd.Series(take(rp["recovery_point_arn"], todo), dtype="str"),
                pd.Series(own.index, dtype="str"),
            )
            hit = idx >= 0
            codes[todo[hit]] = own.to_numpy()[idx[hit]]
    return labels, codes


class _Rates:
    """Per (group, class): the cost rate of a GB-month (allowance included) and whether unpriced."""

    def __init__(self, df: pd.DataFrame, n_keys3: int) -> None:
        self.rate = np.zeros(n_keys3)
        self.unpriced = np.zeros(n_keys3)
        rk3 = df["_key"].to_numpy(dtype=np.int64) * 3 + df["_class"].to_numpy(dtype=np.int64)
        rprice = df["price_usd_per_gb_month"].to_numpy(dtype=float)
        rgbm = df["gb_months"].to_numpy(dtype=float)
        rbill = df["billable_gb_months"].to_numpy(dtype=float)
        factor = np.where(rgbm > 0, rbill / np.where(rgbm > 0, rgbm, 1.0), 1.0)
        self.unpriced[rk3] = df["unpriced"].to_numpy(dtype=float)
        self.rate[rk3] = np.where(np.isnan(rprice), 0.0, rprice * factor)
        self.any_unpriced = bool(self.unpriced.any())


def _by_code(
    codes: np.ndarray,
    size: int,
    parts: list[Part],
    part_keys: list[np.ndarray],
    rates: _Rates,
    halves: Halves,
) -> CodeSums:
    """(GB-months, cost, unpriced GB-months, backups) per code, summed over the parts."""

    def one(sl: slice) -> CodeSums:
        # bincount works on intp indices: converted once here, not once per bincount
        c = codes[sl].astype(np.intp, copy=False)
        gbm = np.zeros(size)
        cost = np.zeros(size)
        unpriced = np.zeros(size)
        weights = np.empty(len(c))  # one buffer for every weighted sum below
        for pk, (w, _, _) in zip(part_keys, parts):
            ws = w[sl]
            gbm += np.bincount(c, weights=ws, minlength=size)[:size]
            for per_key, out in ((rates.rate, cost), (rates.unpriced, unpriced)):
                if per_key is rates.unpriced and not rates.any_unpriced:
                    continue
                np.take(per_key, pk[sl], out=weights)
                weights *= ws
                out += np.bincount(c, weights=weights, minlength=size)[:size]
        return gbm, cost, unpriced, np.bincount(c, minlength=size)[:size]

    partial = halves(one)
    return tuple(sum(p[i] for p in partial) for i in range(4))  # type: ignore[return-value]


def allocations(
    df: pd.DataFrame,
    total_cents: int,
    inventory: Any,
    rp: pd.DataFrame,
    enc: Encoded,
    parts: list[Part],
    groups: Groups,
    by_tags: Sequence[str],
    halves: Halves,
) -> dict[str, pd.DataFrame]:
    """Every allocation: the row dimensions, the backup plan, and each `by_tags` key."""
    out: dict[str, pd.DataFrame] = {}
    for name, column in _ROW_DIMENSIONS:
        # one plain sum per column (named aggregations cost far more on a small frame)
        grouped = df.groupby(column, sort=True)[["gb_months", "_cents", "_unpriced_gbm"]].sum()
        out[name] = allocation_frame(
            column,
            grouped.index.to_numpy(dtype=object),
            grouped["gb_months"].to_numpy(),
            grouped["_cents"].to_numpy().astype(float) / 100.0,
            grouped["_unpriced_gbm"].to_numpy(),
            total_cents,
        )
    rates = _Rates(df, groups.count.size)
    names = plan_names(inventory, enc.plan_u)
    sums = _by_code(enc.plan_c, len(names), parts, groups.part_keys, rates, halves)
    out["plan"] = _allocate_codes("plan", names, sums, total_cents)
    for tag_key in by_tags:
        labels, codes = tag_codes(inventory, rp, enc.res_idx, tag_key)
        sums = _by_code(codes, len(labels), parts, groups.part_keys, rates, halves)
        out[f"tag:{tag_key}"] = _allocate_codes(f"tag:{tag_key}", labels, sums, total_cents)
    return out
