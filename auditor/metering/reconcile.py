"""Reconciliation with a Cost and Usage Report: billed vs estimated backup storage.

The CUR is compared as billed: no allowance is applied to it (RDS:ChargedBackupUsage is already net
of it), so the estimate side uses billable GB-months. Storage Gateway snapshots are compared under
EBS (a CUR cannot tell them apart).
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd

from auditor import catalog
from auditor.metering.period import month_bounds

# Usage types (prefix stripped) that are backup storage in a CUR, with the service they belong to.
_CUR_SERVICE = {
    "EBS:SnapshotUsage": "EBS",
    "EBS:SnapshotArchiveStorage": "EBS",
    "RDS:ChargedBackupUsage": "RDS",
    "Aurora:BackupUsage": "Aurora",
    "TimedBackupStorage-ByteHrs": "DynamoDB",
    # DynamoDB point-in-time recovery storage (https://aws.amazon.com/dynamodb/pricing/on-demand/)
    "TimedPITRStorage-ByteHrs": "DynamoDB PITR",
}
# Backup storage of the catalogued types, by product code and usage type: a usage type several
# services bill under one name (BackupUsage: AmazonFSx, AmazonDocDB, AmazonNeptune) needs both.
_CUR_SERVICE_BY_OWNER = {
    f"{owner}|{usage}": service for (owner, service, _), usage in catalog.usage_types().items()
}
_CUR_BACKUP_RE = re.compile(r"^(?:Warm|Cold|Archive|LowCost)Storage-ByteHrs-(.+)$")
_CUR_USAGE_ITEMS = {"Usage", "DiscountedUsage", "SavingsPlanCoveredUsage"}


def cur_backup_storage(cur: pd.DataFrame) -> pd.DataFrame:
    """The CUR's backup-storage usage lines, with `service` and `metered_by` (AWS Backup or native)."""
    ut = cur["usage_type"].astype("str").fillna("")
    service = ut.map(_CUR_SERVICE)
    if "product_code" in cur.columns:
        owned = (cur["product_code"].astype("str") + "|" + ut).map(_CUR_SERVICE_BY_OWNER)
        service = service.where(service.notna(), owned)
    backup = ut.str.extract(_CUR_BACKUP_RE.pattern)[0]
    service = service.where(service.notna(), backup)
    keep = service.notna()
    if "line_item_type" in cur.columns:
        lit = cur["line_item_type"]
        keep &= lit.isna() | lit.isin(_CUR_USAGE_ITEMS)
    out = cur.loc[keep].copy()
    out["service"] = service[keep].astype("str")
    out["billing_owner"] = out["product_code"].astype("str")
    out["metered_by"] = np.where(out["billing_owner"] == "AWSBackup", "AWS Backup", "native")
    return out


def reconcile(
    rows: pd.DataFrame, cur: pd.DataFrame, as_of: datetime, inventory: Any, warnings: list[str]
) -> pd.DataFrame:
    """Billed (CUR) vs estimated backup storage per account, region, billing owner and service.

    `rows` is meter's internal row frame (with whole cents). The CUR is compared as billed: no
    allowance is applied to it (RDS:ChargedBackupUsage is already net of it), so the estimate side
    uses billable GB-months. Storage Gateway snapshots are compared under EBS (a CUR cannot tell
    them apart).
    """
    m_start, m_end = month_bounds(as_of)
    items = cur_backup_storage(cur)
    if "usage_start" in items.columns and items["usage_start"].notna().any():
        starts = items["usage_start"]
        in_month = starts.isna() | (
            (starts >= pd.Timestamp(m_start)) & (starts < pd.Timestamp(m_end))
        )
        dropped = int((~in_month).sum())
        if dropped:
            warnings.append(
                f"CUR: {dropped} backup-storage line(s) outside {m_start:%Y-%m} ignored"
            )
        items = items[in_month]
    accounts = set(inventory.accounts) | set(rows["account_id"])
    other = ~items["account_id"].isin(accounts)
    if other.any():
        warnings.append(
            f"CUR: {int(other.sum())} backup-storage line(s) (${items.loc[other, 'unblended_cost'].sum():.2f}) "
            f"for account(s) not in the inventory ignored: {', '.join(sorted(set(items.loc[other, 'account_id']))[:5])}"
        )
        items = items[~other]
    if not len(items):
        warnings.append(
            f"CUR: no backup-storage line items for {m_start:%Y-%m} in the inventory's accounts"
        )
    keys = ["account_id", "region", "billing_owner", "service"]
    billed = items.groupby(keys, dropna=False).agg(
        billed_gb_months=("usage_amount", "sum"), billed_usd=("unblended_cost", "sum")
    )
    est = rows.assign(service=rows["service"].replace({"Storage Gateway": "EBS"}))
    est = est.assign(_usd=est["_cents"] / 100.0)
    estimated = est.groupby(keys).agg(
        estimated_gb_months=("billable_gb_months", "sum"), estimated_usd=("_usd", "sum")
    )
    out = billed.join(estimated, how="outer").reset_index()
    for col in ("billed_gb_months", "billed_usd", "estimated_gb_months", "estimated_usd"):
        out[col] = out[col].fillna(0.0)
    out["metered_by"] = np.where(out["billing_owner"] == "AWSBackup", "AWS Backup", "native")
    out["difference_usd"] = (out["billed_usd"] - out["estimated_usd"]).round(2)
    est_usd = out["estimated_usd"].to_numpy()
    out["difference_pct"] = np.where(
        est_usd != 0,
        (out["billed_usd"] - out["estimated_usd"]) / np.where(est_usd != 0, est_usd, 1) * 100.0,
        np.nan,
    )
    out["difference_pct"] = out["difference_pct"].round(2)
    for col in ("billed_usd", "estimated_usd"):
        out[col] = out[col].round(2)
    for col in ("billed_gb_months", "estimated_gb_months"):
        out[col] = out[col].round(6)
    cols = [
        "account_id",
        "region",
        "billing_owner",
        "service",
        "metered_by",
        "billed_gb_months",
        "estimated_gb_months",
        "billed_usd",
        "estimated_usd",
        "difference_usd",
        "difference_pct",
    ]
    return out[cols].sort_values(keys, kind="stable").reset_index(drop=True)
