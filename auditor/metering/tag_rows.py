"""metering.csv rows split by the `--by-tag` keys: one `tag:KEY` column per key.

Without `--by-tag` a row is one (account, region, service, billing owner, storage class, usage
type). With it, each row is split by the values its backups' resources carry for the keys (the
same value a backup gets in metering.json's `tag:KEY` allocation: its source resource's tag, else
the backup's own, else "(untagged)"), so the CSV answers "what does team X's backup storage cost"
with a filter or a pivot, and its rows still add up to the unsplit totals.

Each backup's GB-months (warm and cold parts), upper bound and cost rate are summed per (row,
tag values) with bincounts, as the allocations are. The row's whole cents are apportioned among
its pieces by largest remainder, so the pieces add up to the row's cost to the cent; the RDS free
allowance (a row-level amount) is shared in proportion to GB-months; price, size basis and
`unpriced` are the row's.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from auditor.metering.allocate import _Rates, tag_codes
from auditor.metering.costs import apportion_cents
from auditor.metering.encode import Encoded
from auditor.metering.estimate import Groups, Part

__all__ = ["split_by_tags", "tag_column", "with_tag_columns"]


def tag_column(key: str) -> str:
    """The metering.csv column of tag `key` (as metering.json names its allocation)."""
    return f"tag:{key}"


def _combos(
    inventory: Any, rp: pd.DataFrame, enc: Encoded, keys: Sequence[str]
) -> tuple[np.ndarray, list[tuple[str, ...]]]:
    """Per backup, the code of its combination of tag values; and each code's values."""
    combo = np.zeros(len(rp), dtype=np.int64)
    per_key = []
    for key in keys:
        labels, codes = tag_codes(inventory, rp, enc.res_idx, key)
        combo = combo * len(labels) + codes
        per_key.append(labels)
    uniq, inverse = np.unique(combo, return_inverse=True)
    values = []
    for code in uniq:
        parts = []
        for labels in reversed(per_key):
            code, here = divmod(int(code), len(labels))
            parts.append(labels[here])
        values.append(tuple(reversed(parts)))
    return inverse.reshape(-1).astype(np.int64), values


def split_by_tags(
    df: pd.DataFrame,
    inventory: Any,
    rp: pd.DataFrame,
    enc: Encoded,
    parts: list[Part],
    groups: Groups,
    keys: Sequence[str],
) -> pd.DataFrame:
    """The row frame (`df`, before `output_frame`) split by the tag values of `keys`."""
    if not keys or not len(df):
        out = df.copy()
        for key in keys:
            out[tag_column(key)] = pd.Series(dtype=object)
        return out
    combo, values = _combos(inventory, rp, enc, keys)
    n_combo = len(values)
    key3 = df["_key"].to_numpy(dtype=np.int64) * 3 + df["_class"].to_numpy(dtype=np.int64)
    row_at = np.full(max(groups.count.size, int(key3.max()) + 1), -1, dtype=np.int64)
    row_at[key3] = np.arange(len(df))
    rates = _Rates(df, groups.count.size)
    size = len(df) * n_combo
    gbm, upper, cost = np.zeros(size), np.zeros(size), np.zeros(size)
    last = len(row_at) - 1
    for pk, (weight, _, full) in zip(groups.part_keys, parts):
        row = row_at[np.clip(pk, 0, last)]
        inside = enc.valid & (row >= 0)
        code = row[inside] * n_combo + combo[inside]
        gbm += np.bincount(code, weights=weight[inside], minlength=size)
        upper += np.bincount(code, weights=full[inside], minlength=size)
        cost += np.bincount(code, weights=weight[inside] * rates.rate[pk[inside]], minlength=size)
    # a backup is counted once, in the row of its current storage class (as the rows count it)
    row = row_at[np.clip(groups.part_keys[0] // 3 * 3 + enc.cls3, 0, last)]
    inside = enc.valid & (row >= 0)
    code = row[inside] * n_combo + combo[inside]
    count = np.bincount(code, minlength=size).astype(float)
    unsized = np.bincount(code, weights=enc.unsized[inside].astype(float), minlength=size)
    return _pieces(df, keys, values, gbm, upper, cost, count, unsized)


def _pieces(
    df: pd.DataFrame,
    keys: Sequence[str],
    values: list[tuple[str, ...]],
    gbm: np.ndarray,
    upper: np.ndarray,
    cost: np.ndarray,
    count: np.ndarray,
    unsized: np.ndarray,
) -> pd.DataFrame:
    """One output row per (row, tag values) that holds backups."""
    n_combo = len(values)
    shape = (len(df), n_combo)
    gbm, upper, cost = gbm.reshape(shape), upper.reshape(shape), cost.reshape(shape)
    count, unsized = count.reshape(shape), unsized.reshape(shape)
    cents = np.zeros(shape, dtype=np.int64)
    row_cents = df["_cents"].to_numpy(dtype=np.int64)
    for r in np.flatnonzero(row_cents):  # a row that costs nothing has pieces that cost nothing
        weights = _dollar_weights(cost[r], gbm[r])
        if weights.sum() > 0:
            cents[r] = apportion_cents(weights, int(row_cents[r]))
    rows, combos = np.nonzero((count > 0) | (gbm > 0))
    out = df.iloc[rows].reset_index(drop=True)
    row_gbm = df["gb_months"].to_numpy(dtype=float)[rows]
    share = np.divide(gbm[rows, combos], row_gbm, out=np.zeros(len(rows)), where=row_gbm > 0)
    for column in ("free_gb_months", "billable_gb_months"):
        out[column] = df[column].to_numpy(dtype=float)[rows] * share
    out["gb_months"] = gbm[rows, combos]
    out["upper_bound_gb_months"] = upper[rows, combos]
    out["backups"] = count[rows, combos].astype(np.int64)
    out["unsized_backups"] = unsized[rows, combos].astype(np.int64)
    out["_cents"] = cents[rows, combos]
    unpriced = df["unpriced"].to_numpy(dtype=bool)[rows]
    out["estimated_cost_usd"] = np.where(unpriced, np.nan, out["_cents"] / 100.0)
    for k, key in enumerate(keys):
        out[tag_column(key)] = [values[c][k] for c in combos]
    return out


def _dollar_weights(cost: np.ndarray, gbm: np.ndarray) -> np.ndarray:
    """What a row's pieces are weighed by when its cents are shared among them: their cost (USD),
    else (no piece has a cost rate) their GB-months (`apportion_cents` scales either to the row's
    cents)."""
    return cost if cost.sum() > 0 else gbm


def with_tag_columns(split: pd.DataFrame, keys: Sequence[str]) -> pd.DataFrame:
    """The split rows as written: `output_frame`'s columns and order (rows with the same key
    ordered by their tag values), then the `tag:KEY` columns."""
    from auditor.metering.result import ROW_COLUMNS, output_frame

    order = ["account_id", "region", "service", "billing_owner", "storage_class"]
    tags = [tag_column(k) for k in keys]
    ordered = split.sort_values(order + tags, kind="stable").reset_index(drop=True)
    out = output_frame(ordered)  # its sort is stable: the order above is kept
    for column in tags:
        out[column] = ordered[column].to_numpy(dtype=object)
    return out[list(ROW_COLUMNS) + tags]
