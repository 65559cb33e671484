"""What orphaned backups cost: one row per backup whose source resource no longer exists.

Which backups are orphans is `auditor.orphans.find_orphans` (shared with the `orphaned-backup`
control); this module prices them. `size_gb` is the backup's listed size; `stored_gb` what it is
taken to hold (an orphaned chain is one full copy plus increments, like any chain), which the
monthly cost is for.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from auditor.metering.billing import CLASSES, GIB
from auditor.metering.encode import Encoded
from auditor.metering.estimate import Groups
from auditor.orphans import SOURCE_LISTING_FAILED, collected_pairs, find_orphans
from auditor.policy.columns import take

ORPHAN_COLUMNS = [
    "recovery_point_arn",
    "resource_arn",
    "resource_type",
    "account_id",
    "region",
    "service",
    "billing_owner",
    "storage_class",
    "size_gb",
    "stored_gb",
    "size_basis",
    "created_at",
    "monthly_cost_usd",
]

# The row frame's columns `orphan_rows` reads.
ORPHAN_ROW_INPUTS = (
    "_key",
    "_class",
    "account_id",
    "region",
    "service",
    "billing_owner",
    "price_usd_per_gb_month",
)


def orphan_rows(
    inventory: Any,
    rp: pd.DataFrame,
    enc: Encoded,
    groups: Groups,
    df: pd.DataFrame,
    stored: np.ndarray,
    warnings: list[str],
) -> pd.DataFrame:
    """The orphaned backups with their monthly cost, costliest first.

    `df` is the row frame (service, owner, price) that `groups` indexes; `stored` the bytes each
    backup is taken to hold.
    """
    collected = collected_pairs(
        inventory.manifest, inventory.resources, pairs=zip(df["account_id"], df["region"])
    )
    # a DynamoDB SYSTEM backup of a deleted table is kept free for 35 days: nothing to pay for
    eligible = enc.valid if enc.system is None else enc.valid & ~enc.system
    found = find_orphans(rp, enc.res_idx, collected, inventory.errors, eligible=eligible)
    uncertain = int(np.count_nonzero(found.verdict == SOURCE_LISTING_FAILED))
    if uncertain:
        warnings.append(
            f"{uncertain} backup(s) whose source could not be listed (collection errors) not reported as orphaned"
        )
    idx = found.orphans
    if not len(idx):
        return pd.DataFrame(columns=ORPHAN_COLUMNS)
    # price, service and owner per (group, class): a cold DynamoDB backup is billed by AWS Backup
    n_keys3 = groups.count.size
    full_price = np.full(n_keys3, np.nan)
    service_of = np.empty(n_keys3, dtype=object)
    owner_of = np.empty(n_keys3, dtype=object)
    rk3 = df["_key"].to_numpy(dtype=np.int64) * 3 + df["_class"].to_numpy(dtype=np.int64)
    full_price[rk3] = df["price_usd_per_gb_month"].to_numpy(dtype=float)
    service_of[rk3] = df["service"].to_numpy()
    owner_of[rk3] = df["billing_owner"].to_numpy()
    k3 = groups.part_keys[0][idx] // 3 * 3 + enc.cls3[idx]
    stored_gb = stored[idx] / GIB
    monthly = np.round(stored_gb * full_price[k3], 2)
    # Costliest first; ties keep inventory order (deterministic, and no string sort of many ARNs).
    # Ordered before the rows are built, so the string columns are taken once, in this order:
    # descending by negation (NaN, unpriced, last), stable as a descending sort_values is.
    order = np.argsort(-monthly, kind="stable")
    idx, k3, stored_gb, monthly = idx[order], k3[order], stored_gb[order], monthly[order]
    size_gb = rp["size_bytes"].iloc[idx].to_numpy(dtype="float64", na_value=0.0) / GIB
    text = {
        name: pd.Series(take(rp[name], idx), dtype="str")
        for name in (
            "recovery_point_arn",
            "resource_arn",
            "resource_type",
            "account_id",
            "region",
            "size_basis",
        )
    }
    out = pd.DataFrame(
        {
            **{name: text[name] for name in ORPHAN_COLUMNS[:5]},
            "service": service_of[k3],
            "billing_owner": owner_of[k3],
            "storage_class": np.array(CLASSES)[enc.cls3[idx]],
            "size_gb": np.round(size_gb, 6),
            "stored_gb": np.round(stored_gb, 6),
            "size_basis": text["size_basis"],
            "created_at": rp["created_at"].iloc[idx].reset_index(drop=True),
            "monthly_cost_usd": monthly,
        }
    )
    return out
