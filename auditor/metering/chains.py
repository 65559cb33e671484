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

from functools import partial

import numpy as np
import pandas as pd

from auditor.metering.billing import BACKUP_TYPES
from auditor.metering.encode import Encoded, Halves
from auditor.policy.columns import take

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


def _chains(src: np.ndarray, group: np.ndarray, n_groups: int) -> np.ndarray:
    """A code per distinct (source, group) pair.

    A source's backups nearly always sit in one group (its account, region and type): the source
    code alone is then the chain, a dense code that needs no hashing. Only backups outside their
    source's "home" group are hashed into chains of their own.
    """
    n_src = int(src.max()) + 1
    home = np.full(n_src, -1, dtype=np.int64)
    home[src] = group  # any one of each source's groups will do
    away = np.flatnonzero(home[src] != group)
    chain = src.copy()
    if len(away):
        if n_src * n_groups < 2**62:
            extra, _ = pd.factorize(src[away] * n_groups + group[away])
        else:  # too many keys to combine into one int64: factorize the pair
            extra = pd.MultiIndex.from_arrays([src[away], group[away]]).factorize()[0]
        chain[away] = n_src + extra
    return chain


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
    Works on the chained rows alone (their positions, ascending).
    """
    split = halves or Halves(None, enc.n)
    size = enc.size
    ratio_tab = _ratio_table(enc.bt_u, ratios)
    if np.isnan(ratio_tab).all():
        return None, np.zeros(0, dtype=np.int64)
    # 1-d takes over small per-(type, flag) tables: far faster than ratio_tab[bt_c, flag]
    by_type_flag = ~np.isnan(ratio_tab[:, 0] if enc.flag is None else ratio_tab.ravel())
    rows = np.concatenate(split(partial(_candidates, enc, by_type_flag)))
    src = _sources(enc, rp, rows, n_resources)
    sourced = src >= 0
    if not sourced.all():
        rows, src = rows[sourced], src[sourced]
    if not len(rows):
        return None, np.zeros(0, dtype=np.int64)
    n_groups = len(enc.acct_u) * len(enc.reg_u) * len(enc.bt_u) * 2
    chain = _chains(src, enc.group_codes(split)[rows], n_groups)
    del src
    sizes = size[rows]
    n_rows, n_chains = len(rows), int(chain.max()) + 1
    top = np.full(n_chains, -np.inf)
    np.maximum.at(top, chain, sizes)
    ties = np.flatnonzero(sizes >= top[chain])
    first = np.full(n_chains, n_rows, dtype=np.int64)
    np.minimum.at(first, chain[ties], ties)  # the first backup with the chain's largest size
    full_copy = rows[first[first < n_rows]]  # one backup per chain holds the full copy
    ratio = np.take(
        ratio_tab[:, 0] if enc.flag is None else ratio_tab.ravel(), _type_flag(enc, rows)
    )
    eff = size.copy()
    eff[rows] = ratio * sizes
    eff[full_copy] = size[full_copy]
    return eff, rows
