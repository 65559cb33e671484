"""Incremental chains: the storage each backup is taken to add to the chain of its source.

The APIs give each snapshot's full size, but several services store a chain of backups of one source
as one full copy plus the blocks changed since the previous backup, and bill that. Summing full sizes
over a chain of daily snapshots overstates the bill many times over, so:
- EBS snapshots (and Storage Gateway volume snapshots, which are EBS snapshots) are incremental:
  `FullSnapshotSizeInBytes` "is not the incremental size" of a snapshot but all blocks written to
  the volume (https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_Snapshot.html).
- RDS DB snapshots (and snapshots of Multi-AZ DB clusters): "The first snapshot of a DB instance
  contains the data for the full database. Subsequent snapshots of the same DB instance are
  incremental" (https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/USER_WorkingWithAutomatedBackups.html).
- Full copies, never chained, whatever the price table's assumptions say: Aurora cluster snapshots
  (billed once outside the retention window: "Understanding Amazon Aurora backup storage usage",
  https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/aurora-storage-backup.html; for the
  cluster-volume storage Aurora shares with Neptune, AWS states "The size of each snapshot is the
  size of the cluster volume at the time you take the snapshot": "CloudWatch metrics that are
  useful for managing Neptune backup storage",
  https://docs.aws.amazon.com/neptune/latest/userguide/backup-restore-overview-metrics.html); EBS
  snapshots in the archive tier ("When you archive a snapshot, it is
  converted to a full snapshot", https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_ModifySnapshotTier.html),
  so only warm backups chain; DynamoDB backups ("Each time you create an on-demand backup, the entire
  table data is backed up", https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_CreateBackup.html).
- EFS: AWS Backup's BackupSizeInBytes "refers to the delta bytes transferred during a backup"
  (BackupJob, https://docs.aws.amazon.com/sdk-for-kotlin/api/latest/backup/aws.sdk.kotlin.services.backup.model/-backup-job/backup-size-in-bytes.html),
  so EFS sizes are already incremental and are summed as they are.
For a service listed in the price table's `assumptions.incremental_change_ratio` (data, overridable
with `--prices`), the warm, valid backups of one chain - account, region where stored, source
resource ARN, billing owner, storage class - count the largest full size once (on the backup that
has it) and every other backup at `ratio x` its own full size. The ratio is an assumption (no API
reports changed blocks per snapshot), so such rows say `<basis>(chain-estimate)` in `size_basis`,
and the upper bound keeps the plain sum of full sizes: the bill lies between the two, and a CUR
(`--cur`) shows where. Orphaned chains are chains too. A backup with no source ARN is counted full.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import TypeVar

import numpy as np
import pandas as pd

from auditor.metering.billing import BACKUP_TYPES
from auditor.metering.encode import Encoded, Halves
from auditor.policy.columns import take

A = TypeVar("A")
T = TypeVar("T")

# Services whose backups are full copies: a ratio for them in the price table is not applied.
FULL_COPIES = frozenset({"Aurora", "DynamoDB", "DynamoDB PITR"})


def _ratio_table(bt_u: list, ratios: dict[str, float]) -> np.ndarray:
    """Change ratio per (backup type code, variant flag); NaN where the type does not chain."""
    ratio_tab = np.full((len(bt_u), 2), np.nan)
    for b, btype in enumerate(bt_u):
        service = BACKUP_TYPES.get(btype, (None, None))[0]
        for f in (0, 1):
            svc = "RDS" if (btype == "rds-cluster-snapshot" and f) else service
            if svc in ratios and svc not in FULL_COPIES:
                ratio_tab[b, f] = ratios[svc]
    return ratio_tab


def _type_flag(enc: Encoded, rows: slice | np.ndarray) -> np.ndarray:
    """Per backup of `rows`, its backup type code (times 2 plus its variant flag, if any)."""
    bt = enc.bt_c[rows]
    return bt if enc.flag is None else bt * 2 + enc.flag[rows]


def _candidates(enc: Encoded, by_type_flag: np.ndarray, sl: slice) -> np.ndarray:
    """Positions among `sl` of the warm, valid backups of a type that chains."""
    inc = np.take(by_type_flag, _type_flag(enc, sl))
    inc &= enc.valid[sl]
    inc &= enc.cls3[sl] == 0
    return np.flatnonzero(inc) + sl.start


def _sources(enc: Encoded, rp: pd.DataFrame, rows: np.ndarray, n_resources: int) -> np.ndarray:
    """Source identity of each of `rows`: its row in `resources`, or (gone resources) a code of its
    ARN past `n_resources`; -1 = none (no source ARN)."""
    src = enc.res_idx[rows].astype(np.int64)  # combined with group codes below: int64
    gone = np.flatnonzero(src < 0)
    if len(gone):
        arns = rp["resource_arn"]
        if isinstance(arns.dtype, pd.CategoricalDtype):
            # the inventory's dictionary code names the ARN already (-1: null)
            codes = arns.array.codes[rows[gone]].astype(np.int64)
        else:
            codes, _ = pd.factorize(
                pd.Series(take(arns, rows[gone]), dtype="str"), use_na_sentinel=True
            )
        src[gone] = np.where(codes >= 0, n_resources + codes, -1)
    return src


@dataclass
class _Half:
    """One half's chained rows (ascending), their source identity, group and, later, chain."""

    rows: np.ndarray
    src: np.ndarray
    group: np.ndarray
    size: np.ndarray  # full size in bytes
    chain: (
        np.ndarray
    )  # `src` itself (the same array), until `_chains` recodes the rows away from home


def _sourced(enc: Encoded, rows: np.ndarray, src: np.ndarray, group_codes: np.ndarray) -> _Half:
    """The rows that have a source (a backup with no source ARN is counted full)."""
    sourced = src >= 0
    if not sourced.all():
        rows, src = rows[sourced], src[sourced]
    return _Half(rows, src, group_codes[rows], enc.size[rows], src)


def _halves_of_rows(
    enc: Encoded,
    rp: pd.DataFrame,
    n_resources: int,
    by_type_flag: np.ndarray,
    group_codes: np.ndarray,
    split: Halves,
) -> list[_Half]:
    """The chained rows of each half with their sources and groups, found on two threads.

    A compact inventory's source ARNs are dictionary codes, the same in both halves; plain strings
    are coded over all the rows at once so both halves agree."""
    if isinstance(rp["resource_arn"].dtype, pd.CategoricalDtype):

        def find(sl: slice) -> _Half:
            rows = _candidates(enc, by_type_flag, sl)
            return _sourced(enc, rows, _sources(enc, rp, rows, n_resources), group_codes)

        return split(find)
    pieces = split(partial(_candidates, enc, by_type_flag))
    src = _sources(enc, rp, np.concatenate(pieces), n_resources)
    bounds = np.cumsum([0] + [len(p) for p in pieces])
    return [
        _sourced(enc, rows, src[lo:hi], group_codes)
        for rows, lo, hi in zip(pieces, bounds[:-1], bounds[1:])
    ]


def _chains(halves: list[_Half], n_groups: int, split: Halves) -> int:
    """A code per distinct (source, group) pair, set on each half; returns how many codes.

    A source's backups nearly always sit in one group (its account, region and type): the source
    code alone is then the chain, a dense code that needs no hashing. Only backups outside their
    source's "home" group are hashed into chains of their own.
    """
    n_src = max(int(h.src.max()) + 1 for h in halves if len(h.src))

    def home_of(h: _Half) -> np.ndarray:
        home = np.full(n_src, -1, dtype=np.int64)
        home[h.src] = h.group  # any one of each source's groups will do
        return home

    homes = _each(split, halves, home_of)
    home = homes[0]
    for other in homes[1:]:
        home = np.where(home < 0, other, home)
    aways = _each(split, halves, lambda h: np.flatnonzero(home[h.src] != h.group))
    if any(len(a) for a in aways):
        pairs_src = np.concatenate([h.src[a] for h, a in zip(halves, aways)])
        pairs_group = np.concatenate([h.group[a] for h, a in zip(halves, aways)])
        if n_src * n_groups < 2**62:
            extra, _ = pd.factorize(pairs_src * n_groups + pairs_group)
        else:  # too many keys to combine into one int64: factorize the pair
            extra = pd.MultiIndex.from_arrays([pairs_src, pairs_group]).factorize()[0]
        at = 0
        for h, a in zip(halves, aways):
            h.chain[a] = n_src + extra[at : at + len(a)]
            at += len(a)
        return n_src + int(extra.max()) + 1
    return n_src


def _each(split: Halves, items: Sequence[A], fn: Callable[[A], T]) -> list[T]:
    """fn over each half's item, the first on the pool when there are two."""
    if len(items) < 2 or split.pool is None:
        return [fn(item) for item in items]
    first = split.pool.submit(fn, items[0])
    rest = [fn(item) for item in items[1:]]
    return [first.result(), *rest]


def chain_sizes(
    enc: Encoded,
    rp: pd.DataFrame,
    n_resources: int,
    ratios: dict[str, float],
    halves: Halves | None = None,
) -> tuple[np.ndarray | None, np.ndarray]:
    """The bytes each backup is taken to add to its incremental chain, and the rows that are chained.

    A chain is the warm, valid backups of one source resource of one incremental service, stored in
    one account and region (so one billing owner and storage class). The largest full size in the
    chain counts once; every other backup counts at `ratios[service]` times its full size. Returns
    (None, empty) when nothing is chained. Backups with no source resource ARN are not chained.
    Works on the chained rows alone (their positions, ascending), in two halves on two threads: a
    chain's largest size and the first backup that has it are a maximum and a minimum over the
    halves' own, so the answer does not depend on the split.
    """
    split = halves or Halves(None, enc.n)
    size = enc.size
    ratio_tab = _ratio_table(enc.bt_u, ratios)
    if np.isnan(ratio_tab).all():
        return None, np.zeros(0, dtype=np.int64)
    # 1-d takes over small per-(type, flag) tables: far faster than ratio_tab[bt_c, flag]
    ratio_of = ratio_tab[:, 0] if enc.flag is None else ratio_tab.ravel()
    by_type_flag = ~np.isnan(ratio_of)
    group_codes = enc.group_codes(split)
    parts = _halves_of_rows(enc, rp, n_resources, by_type_flag, group_codes, split)
    if not sum(len(h.rows) for h in parts):
        return None, np.zeros(0, dtype=np.int64)
    n_groups = len(enc.acct_u) * len(enc.reg_u) * len(enc.bt_u) * 2
    n_chains = _chains(parts, n_groups, split)

    def largest(h: _Half) -> np.ndarray:
        top = np.full(n_chains, -np.inf)
        np.maximum.at(top, h.chain, h.size)
        return top

    top = np.maximum.reduce(_each(split, parts, largest))
    none = np.iinfo(np.int64).max

    def first_largest(h: _Half) -> np.ndarray:
        ties = np.flatnonzero(h.size >= top[h.chain])
        first = np.full(n_chains, none, dtype=np.int64)
        np.minimum.at(first, h.chain[ties], h.rows[ties])
        return first

    first = np.minimum.reduce(_each(split, parts, first_largest))
    full_copy = first[first < none]  # one backup per chain holds the full copy: its first largest
    eff = np.empty_like(size)

    def fill(half: tuple[_Half, slice]) -> None:
        h, sl = half
        eff[sl] = size[sl]
        eff[h.rows] = np.take(ratio_of, _type_flag(enc, h.rows)) * h.size

    _each(split, list(zip(parts, split(lambda sl: sl))), fill)
    eff[full_copy] = size[full_copy]
    return eff, np.concatenate([h.rows for h in parts])
