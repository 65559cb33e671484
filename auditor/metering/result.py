"""What metering returns and writes.

metering.csv holds `MeteringResult.frame` (columns `ROW_COLUMNS`, one row per account, region,
service, billing owner and storage class); metering.json holds `{schema_version, as_of,
period{start,end}, currency, method, prices{path,retrieved,sources}, totals{...}, rows[...],
allocations{name: [...]}, orphans[...], reconciliation [...] | null, warnings[...]}`. Each allocation
row is `{<dimension>: label, gb_months, unpriced_gb_months, estimated_cost_usd}` where the dimension
is account_id, region, service, billing_owner, storage_class, plan or `tag:<key>`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from auditor import jsonsafe
from auditor.atomic import write_text

METERING_SCHEMA_VERSION = 1

ROW_COLUMNS = (
    "account_id",
    "region",
    "service",
    "billing_owner",
    "storage_class",
    "usage_type",
    "backups",
    "gb_months",
    "free_gb_months",
    "billable_gb_months",
    "upper_bound_gb_months",
    "unsized_backups",
    "size_basis",
    "price_usd_per_gb_month",
    "estimated_cost_usd",
    "unpriced",
)


@dataclass
class MeteringResult:
    """Everything `meter` computes; `write_metering` turns it into metering.json / metering.csv."""

    frame: pd.DataFrame
    allocations: dict[str, pd.DataFrame]
    orphans: pd.DataFrame
    reconciliation: pd.DataFrame | None
    warnings: list[str]
    totals: dict[str, Any]
    as_of: datetime
    period_start: datetime
    period_end: datetime
    prices: dict[str, Any] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)  # seconds per phase (for benchmarks)

    def to_dict(self) -> dict[str, Any]:
        """The JSON document written to metering.json."""
        return {
            "schema_version": METERING_SCHEMA_VERSION,
            "as_of": _iso(self.as_of),
            "period": {"start": _iso(self.period_start), "end": _iso(self.period_end)},
            "currency": "USD",
            "method": (
                "Estimate for the whole calendar month (UTC) containing as_of: each backup from "
                "max(created_at, month start) to min(delete_at but at least as_of, month end); GB = GiB; "
                "incremental snapshot chains (EBS, Storage Gateway, RDS, Aurora; warm only) count their largest "
                "full size once and every other backup at prices.assumptions.incremental_change_ratio of its full size; "
                "upper_bound_gb_months / upper_bound_cost_usd count every backup at its full size; "
                "RDS free allowance applied to estimates only; costs rounded to cents by largest remainder."
            ),
            "prices": self.prices,
            "totals": self.totals,
            "rows": _records(self.frame),
            "allocations": {name: _records(df) for name, df in self.allocations.items()},
            "orphans": _records(self.orphans),
            "reconciliation": None
            if self.reconciliation is None
            else _records(self.reconciliation),
            "warnings": list(self.warnings),
        }


def _iso(value: datetime) -> str:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _records(df: pd.DataFrame) -> list[dict[str, Any]]:
    out = []
    columns = list(df.columns)
    for row in df.itertuples(index=False, name=None):
        rec = {}
        for col, value in zip(columns, row):
            rec[col] = _jsonable(value)
        out.append(rec)
    return out


def _jsonable(value: Any) -> Any:
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, (pd.Timestamp, datetime)):
        return _iso(value)
    if isinstance(value, (np.bool_, bool)):
        return bool(value)
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return None if math.isnan(value) else float(value)
    return value


def write_metering(result: MeteringResult, out_dir: str | Path) -> tuple[Path, Path]:
    """Write metering.json and metering.csv into `out_dir`, each atomically."""
    out_dir = Path(out_dir)
    json_path = write_text(out_dir / "metering.json", jsonsafe.dumps(result.to_dict()))
    csv_path = write_text(
        out_dir / "metering.csv", result.frame.to_csv(index=False, lineterminator="\n")
    )
    return json_path, csv_path


def output_frame(df: pd.DataFrame) -> pd.DataFrame:
    """The row frame as written: `ROW_COLUMNS`, sorted, GB-months to 6 decimals."""
    frame = df.sort_values(
        ["account_id", "region", "service", "billing_owner", "storage_class"], kind="stable"
    )
    frame = frame.loc[:, list(ROW_COLUMNS)].reset_index(drop=True)
    for col in ("gb_months", "free_gb_months", "billable_gb_months", "upper_bound_gb_months"):
        frame[col] = frame[col].round(6)
    frame["backups"] = frame["backups"].astype("int64")
    frame["unsized_backups"] = frame["unsized_backups"].astype("int64")
    frame["unpriced"] = frame["unpriced"].astype(bool)
    return frame


def totals_of(
    df: pd.DataFrame,
    backups: int,
    total_cents: int,
    upper_cost: float,
    unpriced_rows: pd.DataFrame,
    n_unsized: int,
    orphans: pd.DataFrame,
) -> dict[str, Any]:
    """metering.json's `totals`, from the row frame (with whole cents) and the orphans."""
    owner_cents = df.groupby("billing_owner")["_cents"].sum()
    backup_cents = int(owner_cents.get("AWSBackup", 0))
    return {
        "backups": backups,
        "gb_months": round(float(df["gb_months"].sum()), 6),
        "free_gb_months": round(float(df["free_gb_months"].sum()), 6),
        "billable_gb_months": round(float(df["billable_gb_months"].sum()), 6),
        "upper_bound_gb_months": round(float(df["upper_bound_gb_months"].sum()), 6),
        "upper_bound_cost_usd": round(upper_cost, 2),
        "unpriced_gb_months": round(float(unpriced_rows["billable_gb_months"].sum()), 6),
        "unpriced_rows": len(unpriced_rows),
        "unsized_backups": n_unsized,
        "estimated_cost_usd": total_cents / 100.0,
        "estimated_cost_cents": total_cents,
        "backup_metered_cost_usd": backup_cents / 100.0,
        "native_cost_usd": (total_cents - backup_cents) / 100.0,
        "orphaned_backups": len(orphans),
        "orphaned_monthly_cost_usd": round(float(orphans["monthly_cost_usd"].fillna(0).sum()), 2)
        if len(orphans)
        else 0.0,
    }


def add_billed_totals(totals: dict[str, Any], reconciliation: pd.DataFrame) -> None:
    """The CUR's side of the totals: billed, of which AWS Backup-metered, and native."""
    totals["billed_usd"] = round(float(reconciliation["billed_usd"].sum()), 2)
    backup = reconciliation["billing_owner"] == "AWSBackup"
    totals["billed_backup_metered_usd"] = round(
        float(reconciliation.loc[backup, "billed_usd"].sum()), 2
    )
    totals["billed_native_usd"] = round(
        totals["billed_usd"] - totals["billed_backup_metered_usd"], 2
    )


def price_trust(df: pd.DataFrame, prices: Any) -> dict[str, Any]:
    """How far the priced rows' prices were checked against a source.

    `prices_used`: distinct (region, usage type) prices behind a cost; `prices_verified`: how many
    of them the price table marks as checked; `verified_price_share` their ratio (null when no
    price was used); `verified_cost_share` the share of the estimated cost priced by them.
    """
    priced = df[df["price_usd_per_gb_month"].notna() & (df["billable_gb_months"] > 0)]
    # the billing owner tells apart prices of a usage type several services share (BackupUsage)
    owners = priced["billing_owner"] if "billing_owner" in priced else [None] * len(priced)
    rows = list(zip(priced["region"], priced["usage_type"], owners))
    keys = {prices.key_for(r, u, o) for r, u, o in rows}
    verified = {k for k in keys if prices.is_verified(*k)}
    checked = np.fromiter(
        (prices.is_verified(r, u, o) for r, u, o in rows), dtype=bool, count=len(priced)
    )
    cents = priced["_cents"].to_numpy()
    total = int(cents.sum())
    return {
        "prices_used": len(keys),
        "prices_verified": len(verified),
        "verified_price_share": round(len(verified) / len(keys), 4) if keys else None,
        "verified_cost_share": round(int(cents[checked].sum()) / total, 4) if total else None,
    }
