"""Sizes the APIs do not give: Aurora snapshots, and AWS Backup RDS recovery points of size 0.

- "For Aurora, AllocatedStorage always returns 1, because Aurora DB cluster storage size isn't
  fixed" (RDS API reference, DBCluster.AllocatedStorage,
  https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_DBCluster.html), and an Aurora
  cluster snapshot's AllocatedStorage is the same placeholder. An Aurora cluster's size is its
  CloudWatch `VolumeBytesUsed` ("Understanding Amazon Aurora backup storage usage",
  https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/aurora-storage-backup.html), which
  the collector stores in the cluster's `size_bytes` with `size_basis` VolumeBytesUsed. An Aurora
  snapshot is a full copy of its cluster's volume, so a snapshot without a size of its own is taken
  at its cluster's size (`VolumeBytesUsed(cluster)`); when the cluster's size is unknown too, the
  snapshot's size is unknown: it adds no GB-months (no placeholder is priced) and a warning says so.
- AWS Backup may report `BackupSizeInBytes` 0 for an RDS recovery point. Such a point is taken at
  its source instance's allocated storage, an upper bound of the snapshot
  (`BackupSizeInBytes=0;AllocatedStorage(upper-bound)`), or left unsized when the source is gone.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from auditor.metering.encode import Encoded
from auditor.metering.values import per_value

AURORA_FROM_CLUSTER = "VolumeBytesUsed(cluster)"
AURORA_UNKNOWN = "size unknown"
ZERO_FROM_ALLOCATED = "BackupSizeInBytes=0;AllocatedStorage(upper-bound)"

# A resource's size_basis that is no real size (the collector's words for "we do not know").
_NO_SIZE = ("", "unknown", "none")


def is_aurora(resources: pd.DataFrame) -> np.ndarray:
    """Per resource: an Aurora engine (aurora, aurora-mysql, aurora-postgresql)."""
    return per_value(resources["engine"], _names_aurora)


def _names_aurora(engine: pd.Series) -> pd.Series:
    return engine.astype("str").fillna("").str.lower().str.startswith("aurora")


def db_sizes(resources: pd.DataFrame) -> np.ndarray:
    """Per resource: its size in bytes where a real source gives it, else NaN.

    An Aurora DB's size counts only with a `size_basis` naming a real measure (not AllocatedStorage,
    whose 1 GiB is a placeholder for Aurora); other resources' `size_bytes` stand as they are.
    """
    size = resources["size_bytes"].to_numpy(dtype="float64", na_value=np.nan)
    aurora = is_aurora(resources)
    if aurora.any():
        known = np.zeros(len(resources), dtype=bool)
        if "size_basis" in resources.columns:
            rows = np.flatnonzero(aurora)  # only Aurora DBs' bases matter
            basis = resources["size_basis"].iloc[rows].astype("str").fillna("").str.strip()
            real = ~basis.str.lower().isin(_NO_SIZE) & ~basis.str.startswith("AllocatedStorage")
            known[rows] = real.to_numpy(dtype=bool)
        size = np.where(aurora & ~known, np.nan, size)
    return size


def _basis_code(enc: Encoded, basis: str) -> int:
    if basis not in enc.basis_u:
        enc.basis_u.append(basis)
    return enc.basis_u.index(basis)


def _table(values: list, test) -> np.ndarray:
    """Per code of `values` (0 = null): whether the value passes `test`."""
    return np.array([v is not None and bool(test(str(v))) for v in values], dtype=bool)


def settle_sizes(enc: Encoded, resources: pd.DataFrame, warnings: list[str]) -> None:
    """Give Aurora snapshots and zero-sized AWS Backup RDS points a size, or none (in place)."""
    cluster = enc.bt_u.index("rds-cluster-snapshot") if "rds-cluster-snapshot" in enc.bt_u else -1
    instance = enc.bt_u.index("rds-snapshot") if "rds-snapshot" in enc.bt_u else -1
    if cluster <= 0 and instance <= 0:
        return
    # Only RDS and cluster snapshots without a size, of size 0 or with a placeholder size can
    # change: work on their rows alone (one pass over every backup's size and basis finds them).
    rds_type = np.zeros(len(enc.bt_u), dtype=bool)
    rds_type[[c for c in (cluster, instance) if c > 0]] = True
    placeholder_basis = _table(enc.basis_u, lambda b: b.startswith("AllocatedStorage"))
    maybe = np.take(placeholder_basis, enc.basis_c)
    maybe |= enc.size == 0
    maybe |= enc.unsized
    rows = np.flatnonzero(maybe)
    rows = rows[rds_type[enc.bt_c[rows]]]
    aurora_snap = enc.bt_c[rows] == cluster
    if enc.flag is not None:
        aurora_snap &= enc.flag[rows] == 0
    valid = enc.valid[rows]
    basis = enc.basis_c[rows]
    zero = valid & (enc.size[rows] == 0)
    zero &= _table(enc.basis_u, lambda b: b == "BackupSizeInBytes")[basis]
    placeholder = placeholder_basis[basis]
    aurora_rows = rows[aurora_snap & valid & (enc.unsized[rows] | zero | placeholder)]
    zero_rows = rows[~aurora_snap & zero]
    if not len(aurora_rows) and not len(zero_rows):
        return
    sizes = db_sizes(resources) if len(resources) else np.zeros(0)
    for rows, found_basis in ((aurora_rows, AURORA_FROM_CLUSTER), (zero_rows, ZERO_FROM_ALLOCATED)):
        if not len(rows):
            continue
        src = enc.res_idx[rows]
        source_size = np.where(
            src >= 0, sizes[np.clip(src, 0, None)] if len(sizes) else np.nan, np.nan
        )
        known = ~np.isnan(source_size)
        enc.size[rows[known]] = source_size[known]
        enc.unsized[rows[known]] = False
        enc.basis_c[rows[known]] = _basis_code(enc, found_basis)
        enc.size[rows[~known]] = 0.0
        enc.unsized[rows[~known]] = True
        if found_basis == AURORA_FROM_CLUSTER:
            enc.basis_c[rows[~known]] = _basis_code(enc, AURORA_UNKNOWN)
            if (~known).any():
                warnings.append(
                    f"{int((~known).sum())} Aurora cluster snapshot(s): size unknown (an Aurora "
                    "snapshot's AllocatedStorage is a placeholder and its cluster's VolumeBytesUsed "
                    "was not collected): not counted, no price applied"
                )
