"""Storage that costs nothing: the RDS and Aurora free allowances, and DynamoDB SYSTEM backups.

- RDS: backup storage up to the provisioned storage of the active (not stopped, deleting or failed)
  RDS instances and non-Aurora clusters in the same account and region costs nothing. It is pooled
  per account and region, applied to warm AmazonRDS rows of the estimate only (never to the CUR
  side), and shared pro rata among that pool's rows.
- Aurora: "There is no additional charge for backup storage of up to 100% of your total Aurora
  database storage for each Aurora DB cluster" ("Understanding Amazon Aurora backup storage usage",
  https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/aurora-storage-backup.html): per
  active cluster, up to its volume size, over that cluster's snapshots in its own account and
  region. A cluster whose size is unknown gives no allowance (never AllocatedStorage's 1 GiB).
- DynamoDB SYSTEM backups are kept 35 days "at no additional cost" (see `encode.variants`).
The DBs are taken to exist the whole month.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from auditor.metering.billing import GIB
from auditor.metering.encode import Encoded
from auditor.metering.estimate import Groups, Part
from auditor.metering.sizes import db_sizes, is_aurora
from auditor.metering.values import codes_among, per_value

_INACTIVE_DB_STATES = {
    "stopped",
    "stopping",
    "deleting",
    "deleted",
    "failed",
    "inaccessible-encryption-credentials",
}


def _active_dbs(resources: pd.DataFrame) -> np.ndarray:
    """Per resource: an active RDS cluster, or an active instance that is not a cluster member
    (a member's storage is its cluster's)."""
    types = resources["resource_type"]
    dbs = (types == "rds-cluster") | ((types == "rds-instance") & resources["parent_arn"].isna())
    active = per_value(resources["state"], _names_an_active_state)
    return dbs.to_numpy(dtype=bool, na_value=False) & active


def _names_an_active_state(state: pd.Series) -> pd.Series:
    lower = state.astype("str").fillna("").str.lower()
    return ~lower.isin(_INACTIVE_DB_STATES) & ~lower.str.startswith("incompatible")


def rds_allowance(resources: pd.DataFrame) -> dict[tuple[str, str, str], float]:
    """Free backup GB-months per (account, region, "RDS"): provisioned GiB of active non-Aurora DBs."""
    if not len(resources):
        return {}
    keep = _active_dbs(resources) & ~is_aurora(resources)
    if not keep.any():
        return {}
    dbs = resources.loc[keep, ["account_id", "region", "size_bytes"]]  # not every column
    grouped = pd.DataFrame(
        {
            # kept categorical when they are (a compact inventory's): grouped by code, not string
            "a": dbs["account_id"].array,
            "r": dbs["region"].array,
            "g": dbs["size_bytes"].astype("float64").fillna(0.0).to_numpy() / GIB,
        }
    )
    sums = grouped.groupby(["a", "r"], observed=True)["g"].sum()
    return {(a, r, "RDS"): float(v) for (a, r), v in sums.items()}


def pooled_free(
    df: pd.DataFrame, allowance: dict[tuple[str, str, str], float], column: str
) -> np.ndarray:
    """Free GB-months per row from the RDS pools, shared pro rata over `column`."""
    out = np.zeros(len(df))
    pooled_rows = (
        (df["billing_owner"] == "AmazonRDS")
        & (df["storage_class"] == "warm")
        & (df["service"] == "RDS")
    )
    if not pooled_rows.any():
        return out
    pooled = df.loc[pooled_rows]
    pools = pooled.groupby(["account_id", "region", "service"])[column].transform("sum").to_numpy()
    allow = np.asarray(
        [
            allowance.get(k, 0.0)
            for k in zip(pooled["account_id"], pooled["region"], pooled["service"])
        ],
        dtype=float,
    )
    share = np.where(pools > 0, np.minimum(allow, pools) / np.where(pools > 0, pools, 1.0), 0.0)
    out[pooled_rows.to_numpy()] = pooled[column].to_numpy() * share
    return out


def _aurora_fraction(
    enc: Encoded, resources: pd.DataFrame, parts: list[Part]
) -> tuple[np.ndarray, np.ndarray] | None:
    """(rows, free fraction of each) for warm Aurora snapshots of active clusters of known size
    in the cluster's own account and region."""
    cluster = enc.bt_u.index("rds-cluster-snapshot") if "rds-cluster-snapshot" in enc.bt_u else -1
    if cluster <= 0 or not len(resources):
        return None
    size = db_sizes(resources)
    allowed = _active_dbs(resources) & is_aurora(resources) & ~np.isnan(size)
    allowed &= (resources["resource_type"] == "rds-cluster").to_numpy(dtype=bool, na_value=False)
    if not allowed.any():
        return None
    mask = (enc.bt_c == cluster) & enc.valid & (enc.cls3 == 0) & (enc.res_idx >= 0)
    if enc.flag is not None:
        mask &= enc.flag == 0
    rows = np.flatnonzero(mask)
    src = enc.res_idx[rows]
    keep = allowed[src]
    # only the cluster's own account and region: a copy elsewhere is billed there in full
    acct = codes_among(resources["account_id"], enc.acct_u[1:]) + 1
    reg = codes_among(resources["region"], enc.reg_u[1:]) + 1
    keep &= (enc.acct_c[rows] == acct[src]) & (enc.reg_c[rows] == reg[src])
    rows, src = rows[keep], src[keep]
    if not len(rows):
        return None
    warm = np.zeros(len(rows))
    for w, c, _ in parts:
        warm += np.where(c[rows] == 0, w[rows], 0.0)
    used = np.bincount(src, weights=warm, minlength=len(resources))
    room = size / GIB  # GB-months of free storage over the whole month
    ratio = np.where(used > 0, np.minimum(room, used) / np.where(used > 0, used, 1.0), 0.0)
    return rows, ratio[src]


def backup_free(
    enc: Encoded, resources: pd.DataFrame, parts: list[Part], groups: Groups
) -> tuple[np.ndarray, np.ndarray]:
    """Free GB-months per (group * 3 + class), counted and at full size: Aurora's per-cluster
    allowance and DynamoDB SYSTEM backups."""
    n_keys3 = groups.count.size
    free, free_upper = np.zeros(n_keys3), np.zeros(n_keys3)
    pieces = []
    aurora = _aurora_fraction(enc, resources, parts)
    if aurora is not None:
        pieces.append(aurora)
    if enc.system is not None:
        rows = np.flatnonzero(enc.system & enc.valid)
        pieces.append((rows, np.ones(len(rows))))
    for rows, fraction in pieces:
        for keys, (w, c, full) in zip(groups.part_keys, parts):
            warm = np.where(c[rows] == 0, fraction, 0.0)
            free += np.bincount(keys[rows], weights=w[rows] * warm, minlength=n_keys3)[:n_keys3]
            free_upper += np.bincount(keys[rows], weights=full[rows] * warm, minlength=n_keys3)[
                :n_keys3
            ]
    return free, free_upper
