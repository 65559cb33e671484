"""Encode the recovery points' columns once: integer codes, sizes, time held this month, classes.

This is the expensive part on big inventories. Arrow kernels and numpy release the GIL, so the
columns are encoded on two threads (`Halves` splits a per-row job the same way).
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from auditor.metering.billing import CLASSES
from auditor.metering.period import NAT, micros_of
from auditor.metering.values import per_value
from auditor.policy.columns import codes_of, equals, index_in, take

# Below this many recovery points, splitting the work over two threads costs more than it saves.
_PARALLEL_MIN_ROWS = 300_000

T = TypeVar("T")

# Fewer distinct values than this get int16 codes (see `_coded`).
_SMALL_CODES = 8_000

_CODED = ("account_id", "region", "backup_type", "storage_class", "size_basis", "backup_plan_id")


class Halves:
    """Runs fn(slice) over the rows, in two halves on two threads when there are enough rows."""

    def __init__(self, pool: ThreadPoolExecutor | None, n: int) -> None:
        self.pool, self.n = pool, n

    def __call__(self, fn: Callable[[slice], T]) -> list[T]:
        """fn over each part, results in row order."""
        n = self.n
        if self.pool is None or n < _PARALLEL_MIN_ROWS or n < 2:
            return [fn(slice(0, n))]
        mid = n // 2
        first = self.pool.submit(fn, slice(0, mid))
        second = fn(slice(mid, n))
        return [first.result(), second]


@dataclass
class Window:
    """The metered month and `as_of`, in microseconds since the epoch."""

    start: int
    end: int
    now: int


@dataclass
class Encoded:
    """Per recovery point: integer codes (0 = null; int16 for a compact inventory's few values, else
    int32) into the `*_u` lists of distinct values, and numbers (`res_idx` int32 for a compact
    inventory, `cls3` and `flag` int8: less memory to fill and read).
    """

    n: int
    acct_c: np.ndarray
    acct_u: list
    reg_c: np.ndarray
    reg_u: list
    bt_c: np.ndarray
    bt_u: list
    basis_c: np.ndarray
    basis_u: list
    plan_c: np.ndarray
    plan_u: list
    res_idx: np.ndarray  # row of the source resource in `resources`, -1 when not there
    valid: np.ndarray  # holds storage (not FAILED)
    unsized: np.ndarray  # valid, with no size
    size: np.ndarray  # bytes; 0 for failed and unsized backups
    dur: np.ndarray  # microseconds held this month (`held`), at least 0
    cls3: np.ndarray  # storage class: 0 warm, 1 cold, 2 archive
    # The second variant of a backup type (None when no backup is one): a cluster snapshot of a
    # non-Aurora cluster (billed as RDS), or a DynamoDB backup that AWS Backup made with its
    # advanced features on (billed by AWS Backup).
    flag: np.ndarray | None
    system: np.ndarray | None  # DynamoDB SYSTEM backups (free); None when there is none
    _group: np.ndarray | None = None  # `group_codes`, once computed

    def release_times(self) -> None:
        """Free the per-backup durations once the GB-months are computed (8 bytes a backup)."""
        self.dur = np.empty(0, dtype=np.int64)

    def group_codes(self, halves: Halves) -> np.ndarray:
        """Per backup, the code of its (account, region, backup type, variant flag) group:
        ((account * regions + region) * types + type) * 2 + flag. Computed once (on two threads)
        and shared by the chains and the sums."""
        if self._group is None:
            group = np.empty(self.n, dtype=np.int64)
            n_regions, n_types = len(self.reg_u), len(self.bt_u)

            def fill(sl: slice) -> None:
                k = group[sl]
                np.multiply(self.acct_c[sl], n_regions, out=k, dtype=np.int64)
                k += self.reg_c[sl]
                k *= n_types
                k += self.bt_c[sl]
                k *= 2
                if self.flag is not None:
                    k += self.flag[sl]

            halves(fill)
            self._group = group
        return self._group

    def release_groups(self) -> None:
        """Free the group codes once the sums are done."""
        self._group = None


def _coded(series: pd.Series) -> tuple[np.ndarray, list]:
    """int32 codes (0 = null) and the distinct values ([None, ...])."""
    if isinstance(series.dtype, pd.CategoricalDtype) and len(series):
        # the inventory's own dictionary codes, shifted in one pass (-1 null -> 0); int16 when
        # there are few values (half the memory to fill and read), with room for the few codes
        # added later (size bases) and for doubling (type * 2 + variant)
        categories = series.cat.categories
        dtype = np.int16 if len(categories) < _SMALL_CODES else np.int32
        codes = np.add(series.array.codes, 1, dtype=dtype)
        return codes, [None, *(str(c) for c in categories)]
    found, uniques = codes_of(series)
    codes = found.astype(np.int32)
    codes += 1
    return codes, [None, *uniques]


def _ddb_by_backup(bt_c: np.ndarray, bt_u: list, recovery_point_arn: pd.Series) -> np.ndarray:
    """Positions of the DynamoDB backups whose ARN is AWS Backup's (see `variants`)."""
    ddb_code = _code(bt_u, "dynamodb-backup")
    if ddb_code <= 0:
        return np.zeros(0, dtype=np.int64)
    rows = np.flatnonzero(bt_c == ddb_code)
    found = pc.match_substring(take(recovery_point_arn, rows).cast(pa.string()), ":backup:")
    return rows[pc.fill_null(found, False).to_numpy(zero_copy_only=False)]


def _source_rows(arns: pd.Series, resource_arns: pd.Series, pool: ThreadPoolExecutor) -> np.ndarray:
    """Per backup, the row of its source in the resources (first occurrence), -1 when not there.

    A categorical column (a compact inventory's) looks each distinct ARN up once and spreads the
    answers to the rows by code (as int32: half the memory of int64), in two halves on two
    threads."""
    if not isinstance(arns.dtype, pd.CategoricalDtype):
        return index_in(arns, resource_arns, pool, _PARALLEL_MIN_ROWS)
    if not len(arns) or not len(resource_arns):
        return np.full(len(arns), -1, dtype=np.int64)
    categories = pd.Series(arns.cat.categories.astype(str), dtype="str")
    found = np.append(index_in(categories, resource_arns), -1).astype(np.int32)  # null -> -1
    codes = arns.array.codes
    rows = np.empty(len(arns), dtype=np.int32)

    def spread(sl: slice) -> None:
        np.take(found, codes[sl], out=rows[sl])

    Halves(pool, len(arns))(spread)
    return rows


def held(rp: pd.DataFrame, window: Window) -> tuple[np.ndarray, np.ndarray]:
    """(start, stop) of each backup within the month, in microseconds."""
    start = np.maximum(micros_of(rp["created_at"]), window.start)  # null -> month start
    deleted = micros_of(rp["delete_at"])
    # present at as_of, so it existed at least until then
    stop = np.clip(deleted, window.now, window.end)
    stop[deleted == NAT] = window.end
    return start, stop


# Rows per block when a per-row result is built through integer temporaries: small reused
# buffers instead of whole-column ones (fresh memory costs the kernel a page zeroing per use).
_BLOCK_ROWS = 1 << 20


def _duration(rp: pd.DataFrame, window: Window) -> np.ndarray:
    """How long each backup is held within the month (stop - start, at least 0), microseconds:
    `held`'s arithmetic, block by block (integers: the same result)."""
    created, deleted = micros_of(rp["created_at"]), micros_of(rp["delete_at"])
    n = len(created)
    out = np.empty(n, dtype=np.int64)
    start = np.empty(min(n, _BLOCK_ROWS), dtype=np.int64)
    never = np.empty(min(n, _BLOCK_ROWS), dtype=bool)
    for lo in range(0, n, _BLOCK_ROWS):
        hi = min(lo + _BLOCK_ROWS, n)
        k = hi - lo
        stop = out[lo:hi]
        np.maximum(created[lo:hi], window.start, out=start[:k])
        np.clip(deleted[lo:hi], window.now, window.end, out=stop)
        np.equal(deleted[lo:hi], NAT, out=never[:k])
        np.putmask(stop, never[:k], window.end)
        np.subtract(stop, start[:k], out=stop)
        np.maximum(stop, 0, out=stop)
    return out


def encode(
    rp: pd.DataFrame,
    resources: pd.DataFrame,
    window: Window,
    pool: ThreadPoolExecutor,
    warnings: list[str],
) -> Encoded:
    """Encode the recovery points (columns on two threads); warn about odd storage classes."""
    bt_c, bt_u = _coded(rp["backup_type"])
    # the one string scan (a few ARNs): first in the queue, beside the source look-up below
    f_backup_arn = pool.submit(_ddb_by_backup, bt_c, bt_u, rp["recovery_point_arn"])
    futures: dict[str, Any] = {
        name: pool.submit(_coded, rp[name]) for name in _CODED if name != "backup_type"
    }
    f_failed = pool.submit(equals, rp["status"], "FAILED")
    f_automated = pool.submit(equals, rp["created_by"], "automated")
    f_held = pool.submit(_duration, rp, window)
    f_size = pool.submit(
        lambda: rp["size_bytes"].to_numpy(dtype="float64", na_value=np.nan, copy=True)
    )
    res_idx = _source_rows(rp["resource_arn"], resources["resource_arn"], pool)
    coded = {name: future.result() for name, future in futures.items()}
    failed = f_failed.result()
    dur = f_held.result()
    size = f_size.result()
    valid = ~failed
    unsized = np.isnan(size)
    unsized &= valid
    size[unsized | failed] = 0.0
    cls_c, cls_u = coded["storage_class"]
    flag, system = variants(
        bt_c, bt_u, res_idx, resources, f_backup_arn.result(), f_automated.result()
    )
    return Encoded(
        n=len(rp),
        acct_c=coded["account_id"][0],
        acct_u=coded["account_id"][1],
        reg_c=coded["region"][0],
        reg_u=coded["region"][1],
        bt_c=bt_c,
        bt_u=bt_u,
        basis_c=coded["size_basis"][0],
        basis_u=coded["size_basis"][1],
        plan_c=coded["backup_plan_id"][0],
        plan_u=coded["backup_plan_id"][1],
        res_idx=res_idx,
        valid=valid,
        unsized=unsized,
        size=size,
        dur=dur,
        cls3=storage_classes(cls_c, cls_u, valid, warnings),
        flag=flag,
        system=system,
    )


def storage_classes(
    cls_c: np.ndarray, cls_u: list, valid: np.ndarray, warnings: list[str]
) -> np.ndarray:
    """0 warm, 1 cold, 2 archive per backup (unknown or missing -> warm, with a warning)."""
    cls_map = np.zeros(len(cls_u), dtype=np.int8)
    odd_classes = []
    for i, value in enumerate(cls_u):
        key = None if value is None else str(value).strip().lower()
        if key in CLASSES:
            cls_map[i] = CLASSES.index(key)
        elif i:
            odd_classes.append(str(value))
    n_missing_class = int(np.count_nonzero(valid & (cls_c == 0)))
    if n_missing_class:
        warnings.append(f"{n_missing_class} backup(s) have no storage class; counted as warm")
    if odd_classes:
        warnings.append(
            f"unknown storage class(es) {', '.join(sorted(odd_classes))} counted as warm"
        )
    return cls_map[cls_c]


def _code(values: list, value: str) -> int:
    """The code of `value` among the distinct values (0 = null), or -1."""
    return values.index(value) if value in values else -1


def variants(
    bt_c: np.ndarray,
    bt_u: list,
    res_idx: np.ndarray,
    resources: pd.DataFrame,
    by_backup: np.ndarray,
    automated: np.ndarray,
) -> tuple[np.ndarray | None, np.ndarray | None]:
    """(second-variant flag, SYSTEM mask) per backup; each None when no backup has it.

    - A cluster snapshot whose cluster still exists and is not Aurora (e.g. a Multi-AZ DB cluster)
      is billed as RDS; a gone cluster is taken as Aurora, by far the common case.
    - A DynamoDB backup's ARN says who bills it: "Backup resource names (ARNs) will change from
      arn:aws:dynamodb to arn:aws:backup" and "Backups of DynamoDB tables with AWS Backup features
      are billed from AWS Backup" (DynamoDB developer guide, "Usage notes",
      https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/UsageNotesAWS.html). A backup
      AWS Backup made without its advanced features keeps DynamoDB's ARN and billing; the region's
      setting applies only to new backups ("Advanced DynamoDB backup",
      https://docs.aws.amazon.com/aws-backup/latest/devguide/advanced-ddb-backup.html). An AWS
      Backup recovery point's ARN is arn:<partition>:backup:...; DynamoDB's own backups are
      arn:<partition>:dynamodb:...:table/NAME/backup/ID, and a table name has no colon.
      `by_backup` holds the positions of the DynamoDB backups with such an ARN (`_ddb_by_backup`).
    - A SYSTEM backup (ListBackups: "If you delete a table with point-in-time recovery enabled, a
      SYSTEM backup is automatically created and is retained for 35 days (at no additional cost)",
      https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_BackupSummary.html) is the
      collector's created_by "automated".
    """
    flag = None
    cluster_code = _code(bt_u, "rds-cluster-snapshot")
    if cluster_code > 0 and len(resources):
        res_non_aurora = per_value(resources["engine"], _names_a_non_aurora_engine)
        found = np.flatnonzero((bt_c == cluster_code) & (res_idx >= 0))
        non_aurora = res_non_aurora[res_idx[found]]
        if non_aurora.any():
            flag = np.zeros(len(bt_c), dtype=np.int8)
            flag[found] = non_aurora
    system = None
    ddb_code = _code(bt_u, "dynamodb-backup")
    if ddb_code > 0:
        ddb = bt_c == ddb_code
        if len(by_backup):
            if flag is None:
                flag = np.zeros(len(bt_c), dtype=np.int8)
            flag[by_backup] = 1
        ddb &= automated
        if ddb.any():
            system = ddb
    return flag, system


def _names_a_non_aurora_engine(engine: pd.Series) -> pd.Series:
    """Per value: an engine is named and it is not an Aurora one."""
    lower = engine.astype("str").str.lower()
    return lower.fillna("").ne("") & ~lower.str.startswith("aurora").fillna(False)
