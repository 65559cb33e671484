"""From GB-months to money: the RDS free allowance, prices, and whole cents that add up.

RDS free allowance: backup storage up to the provisioned storage of the active (not stopped,
deleting or failed) RDS instances and clusters in the same account and region costs nothing. It is
pooled per account, region and service (RDS and Aurora apart), applied to warm AmazonRDS rows of
the estimate only (never to the CUR side), and shared pro rata among that pool's rows.

Money: each row's cost is computed in floating point, then every split (rows, and each allocation)
is rounded to whole cents by largest remainder so that every split sums exactly to the same total.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from auditor.metering.billing import GIB

_INACTIVE_DB_STATES = {
    "stopped",
    "stopping",
    "deleting",
    "deleted",
    "failed",
    "inaccessible-encryption-credentials",
}


def apportion_cents(values: np.ndarray, total_cents: int) -> np.ndarray:
    """Round `values` (USD) to whole cents so they sum exactly to `total_cents` (largest remainder)."""
    values = np.asarray(values, dtype=float)
    if len(values) == 0:
        return np.zeros(0, dtype=np.int64)
    scaled = values * 100.0
    floor = np.floor(scaled + 1e-9).astype(np.int64)
    rest = int(total_cents - floor.sum())
    frac = scaled - floor
    if rest > 0:
        order = np.argsort(-frac, kind="stable")
        for i in range(rest):
            floor[order[i % len(order)]] += 1
    elif rest < 0:
        order = np.argsort(frac, kind="stable")
        candidates = [i for i in order if floor[i] > 0] or list(order)
        for i in range(-rest):
            floor[candidates[i % len(candidates)]] -= 1
    return floor


def rds_allowance(resources: pd.DataFrame) -> dict[tuple[str, str, str], float]:
    """Free backup GB-months per (account, region, service): provisioned GiB of active DBs.

    Counted: clusters, and instances that are not cluster members (a member's storage is its
    cluster's). The DBs are taken to exist the whole month.
    """
    if not len(resources):
        return {}
    types = resources["resource_type"]
    dbs = resources[
        (types == "rds-cluster") | ((types == "rds-instance") & resources["parent_arn"].isna())
    ]
    if not len(dbs):
        return {}
    state = dbs["state"].astype("str").fillna("").str.lower()
    dbs = dbs[~state.isin(_INACTIVE_DB_STATES) & ~state.str.startswith("incompatible")]
    if not len(dbs):
        return {}
    engine = dbs["engine"].astype("str").fillna("").str.lower()
    service = np.where(engine.str.startswith("aurora"), "Aurora", "RDS")
    gib = dbs["size_bytes"].astype("float64").fillna(0.0) / GIB
    grouped = pd.DataFrame(
        {
            "a": dbs["account_id"].to_numpy(),
            "r": dbs["region"].to_numpy(),
            "s": service,
            "g": gib.to_numpy(),
        }
    )
    return {k: float(v) for k, v in grouped.groupby(["a", "r", "s"])["g"].sum().items()}


def _free(
    df: pd.DataFrame, allowance: dict[tuple[str, str, str], float], column: str
) -> np.ndarray:
    """Free GB-months per row: the pool's allowance shared pro rata over `column`."""
    out = np.zeros(len(df))
    rds_warm = (df["billing_owner"] == "AmazonRDS") & (df["storage_class"] == "warm")
    if not rds_warm.any():
        return out
    pooled = df.loc[rds_warm]
    pools = pooled.groupby(["account_id", "region", "service"])[column].transform("sum").to_numpy()
    allow = np.asarray(
        [
            allowance.get(k, 0.0)
            for k in zip(pooled["account_id"], pooled["region"], pooled["service"])
        ],
        dtype=float,
    )
    share = np.where(pools > 0, np.minimum(allow, pools) / np.where(pools > 0, pools, 1.0), 0.0)
    out[rds_warm.to_numpy()] = pooled[column].to_numpy() * share
    return out


@dataclass
class Costs:
    """The money side of the estimate (the row frame gains its columns in place)."""

    total_cents: int
    upper_cost: float  # USD with every backup at its full listed size: the top of the range
    unpriced_rows: pd.DataFrame
    n_unsized: int


def price_rows(
    df: pd.DataFrame, resources: pd.DataFrame, unsized: np.ndarray, warnings: list[str]
) -> Costs:
    """Add free/billable GB-months, `unpriced`, cost (whole cents) to the row frame."""
    allowance = rds_allowance(resources)
    df["free_gb_months"] = _free(df, allowance, "gb_months")
    df["billable_gb_months"] = (df["gb_months"] - df["free_gb_months"]).clip(lower=0.0)
    upper_cost = float(
        np.nansum(
            np.clip(
                df["upper_bound_gb_months"].to_numpy()
                - _free(df, allowance, "upper_bound_gb_months"),
                0.0,
                None,
            )
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
