"""DynamoDB point-in-time recovery (continuous backups) as metered storage.

"You get charged based on the size of your DynamoDB table for the duration you have PITR enabled on
the table" (DynamoDB developer guide, "Backup and restore for DynamoDB",
https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Backup-and-Restore.html), billed by
AmazonDynamoDB under `TimedPITRStorage-ByteHrs` (https://aws.amazon.com/dynamodb/pricing/). Each
table the inventory shows with PITR on (its native schedule `dynamodb-pitr`) becomes one synthetic
recovery point of backup type `dynamodb-pitr`, sized at the table's `TableSizeBytes` and held from
the table's creation (the time PITR was turned on is not reported) to the end of the month, so the
grouping, allocations (plan "(none)", the table's tags) and pricing treat it like any backup.
"""

from __future__ import annotations

import pandas as pd

from auditor.inventory import frame

PITR_BACKUP_TYPE = "dynamodb-pitr"
PITR_SCHEDULE = "dynamodb-pitr"


def pitr_points(resources: pd.DataFrame) -> pd.DataFrame:
    """One recovery_points row per DynamoDB table with PITR on (empty when there is none)."""
    if not len(resources) or "native_schedule" not in resources.columns:
        return resources.iloc[0:0]
    on = (resources["resource_type"] == "dynamodb-table") & (
        resources["native_schedule"] == PITR_SCHEDULE
    )
    on_rows = on.to_numpy(dtype=bool, na_value=False)
    if not on_rows.any():  # the common case: no filtering of every column
        return resources.iloc[0:0]
    tables = resources[on_rows]
    arn = tables["resource_arn"].astype("str")
    records = pd.DataFrame(
        {
            "account_id": tables["account_id"].to_numpy(),
            "region": tables["region"].to_numpy(),
            "recovery_point_arn": (arn + "/point-in-time-recovery").to_numpy(),
            "resource_arn": arn.to_numpy(),
            "resource_type": "dynamodb-table",
            "backup_type": PITR_BACKUP_TYPE,
            "source": "native",
            "created_by": "dynamodb",
            "status": "COMPLETED",
            "created_at": tables["created_at"].to_numpy(),
            "size_bytes": tables["size_bytes"].to_numpy(),
            "size_basis": "TableSizeBytes",
            "storage_class": "warm",
            "encrypted": True,
        }
    )
    return frame("recovery_points", records)


def with_pitr(rp: pd.DataFrame, resources: pd.DataFrame) -> tuple[pd.DataFrame, int]:
    """The recovery points with a synthetic one per PITR-enabled table, and how many were added."""
    extra = pitr_points(resources)
    if not len(extra):
        return rp, 0
    rp, extra = _same_categories(rp, extra)
    return pd.concat([rp, extra], ignore_index=True), len(extra)


def _same_categories(rp: pd.DataFrame, extra: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Both frames with the categoricals of `rp` (a compact inventory's) over the same categories,
    so concatenating keeps them categoricals instead of turning millions of codes into strings."""
    coded = [c for c in rp.columns if isinstance(rp[c].dtype, pd.CategoricalDtype)]
    if not coded:
        return rp, extra
    rp, extra = rp.copy(deep=False), extra.copy()
    for col in coded:
        seen = pd.Index(extra[col].dropna().astype(str).unique())
        new = seen.difference(rp[col].cat.categories.astype(str))
        if len(new):
            rp[col] = rp[col].cat.add_categories(new)
        extra[col] = pd.Categorical(extra[col], categories=rp[col].cat.categories)
    return rp, extra
