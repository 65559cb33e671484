"""From GB-months to money: free storage subtracted, prices, and whole cents that add up.

Money: each row's cost is computed in floating point, then every split (rows, and each allocation)
is rounded to whole cents by largest remainder so that every split sums exactly to the same total.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from auditor.metering.allowance import pooled_free, rds_allowance


def apportion_cents(values: np.ndarray, total_cents: int) -> np.ndarray:
    """Split `total_cents` in proportion to `values` (USD), each share a whole number of cents,
    so that they sum exactly to `total_cents` (largest remainder).

    Values whose cents are further from the total than one cent each (weights of another unit,
    or costs before a free allowance) are scaled to the total first: a share is never negative
    when the values and the total are not."""
    values = np.asarray(values, dtype=float)
    if len(values) == 0:
        return np.zeros(0, dtype=np.int64)
    scaled = values * 100.0
    floor = np.floor(scaled + 1e-9).astype(np.int64)
    weight = float(scaled.sum())
    if weight > 0 and abs(total_cents - int(floor.sum())) > len(values):
        scaled = scaled * (total_cents / weight)
        floor = np.floor(scaled + 1e-9).astype(np.int64)
    rest = int(total_cents - floor.sum())
    frac = scaled - floor
    if rest > 0:
        order = np.argsort(-frac, kind="stable")
        floor[order] += _round_robin(rest, len(order))
    elif rest < 0:
        _take_back(floor, np.argsort(frac, kind="stable"), -rest)
    return floor


def _take_back(floor: np.ndarray, order: np.ndarray, cents: int) -> None:
    """Take `cents` back one at a time from the places in `order` in turn, skipping those at zero
    (all of them, when every place is at zero or below: a negative total)."""
    while cents > 0:
        have = order[floor[order] > 0]
        if not len(have):
            floor[order] -= _round_robin(cents, len(order))
            return
        take = np.minimum(_round_robin(cents, len(have)), floor[have])
        floor[have] -= take
        cents -= int(take.sum())


def _round_robin(cents: int, n: int) -> np.ndarray:
    """Cents handed out one at a time to n places in turn: how many each place gets.

    (A remainder can be far larger than n: dealt out one cent per step in Python that took
    minutes.)"""
    share = np.full(n, cents // n, dtype=np.int64)
    share[: cents % n] += 1
    return share


@dataclass
class Costs:
    """The money side of the estimate (the row frame gains its columns in place)."""

    total_cents: int
    upper_cost: float  # USD with every backup at its full listed size: the top of the range
    unpriced_rows: pd.DataFrame
    n_unsized: int


def price_rows(
    df: pd.DataFrame,
    resources: pd.DataFrame,
    unsized: np.ndarray,
    backup_free: tuple[np.ndarray, np.ndarray],
    warnings: list[str],
) -> Costs:
    """Add free/billable GB-months, `unpriced`, cost (whole cents) to the row frame.

    `backup_free` is the free GB-months (counted, at full size) per group * 3 + class that the
    backups themselves bring (Aurora's per-cluster allowance, DynamoDB SYSTEM backups).
    """
    allowance = rds_allowance(resources)
    rk3 = df["_key"].to_numpy(dtype=np.int64) * 3 + df["_class"].to_numpy(dtype=np.int64)
    free, free_upper = (f[rk3] if len(rk3) else np.zeros(0) for f in backup_free)
    df["free_gb_months"] = np.minimum(
        pooled_free(df, allowance, "gb_months") + free, df["gb_months"].to_numpy()
    )
    df["billable_gb_months"] = (df["gb_months"] - df["free_gb_months"]).clip(lower=0.0)
    upper_free = pooled_free(df, allowance, "upper_bound_gb_months") + free_upper
    upper_cost = float(
        np.nansum(
            np.clip(df["upper_bound_gb_months"].to_numpy() - upper_free, 0.0, None)
            * df["price_usd_per_gb_month"].to_numpy()
        )
    )
    df["unpriced"] = df["price_usd_per_gb_month"].isna() & (df["billable_gb_months"] > 0)
    cost_float = (df["billable_gb_months"] * df["price_usd_per_gb_month"]).fillna(0.0).to_numpy()
    total_cents = round(float(cost_float.sum()) * 100)
    cents = apportion_cents(cost_float, total_cents)
    df["estimated_cost_usd"] = np.where(df["unpriced"].to_numpy(), np.nan, cents / 100.0)
    df["_cents"] = cents
    df["_unpriced_gbm"] = np.where(
        df["unpriced"].to_numpy(), df["billable_gb_months"].to_numpy(), 0.0
    )
    unpriced_rows = df[df["unpriced"]]
    if len(unpriced_rows):
        missing = sorted(
            {
                f"{r.region}/{r.usage_type if isinstance(r.usage_type, str) else f'{r.service} {r.storage_class}'}"
                for r in unpriced_rows.itertuples()
            }
        )
        warnings.append(
            f"no price for {', '.join(missing)}: {len(unpriced_rows)} row(s), "
            f"{unpriced_rows['billable_gb_months'].sum():.3f} GB-months left unpriced (cost null, not zero)"
        )
    n_unsized = int(unsized.sum())
    if n_unsized:
        warnings.append(
            f"{n_unsized} backup(s) have no size: they add no GB-months (see unsized_backups)"
        )
    return Costs(total_cents, upper_cost, unpriced_rows, n_unsized)
