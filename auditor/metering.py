"""Metering: who bills the storage of every backup, how much of it, and what it costs (DESIGN §1, §7).

Pure pandas/numpy over the inventory's frames; no boto3.

Who bills what (DESIGN §1). A native backup stays billed by its service, whoever created it:
- EBS snapshots, including those AWS Backup created and Storage Gateway volume snapshots -> AmazonEC2
  (`EBS:SnapshotUsage`; the archive tier, which AWS Backup calls "cold" -> `EBS:SnapshotArchiveStorage`);
- RDS DB snapshots and non-Aurora cluster snapshots -> AmazonRDS `RDS:ChargedBackupUsage`; Aurora
  cluster snapshots -> AmazonRDS `Aurora:BackupUsage` (a cluster snapshot whose cluster is gone is
  taken as Aurora, by far the common case);
- DynamoDB backups -> AmazonDynamoDB `TimedBackupStorage-ByteHrs`, unless the account's region
  settings put DynamoDB under full AWS Backup management (advanced features): then AWSBackup
  `WarmStorage-ByteHrs-DynamoDB` / `ColdStorage-ByteHrs-DynamoDB`. A cold DynamoDB backup is
  AWSBackup-billed in any case (cold storage exists only under those advanced features);
- EFS recovery points -> AWSBackup `WarmStorage-ByteHrs-EFS` / `ColdStorage-ByteHrs-EFS`.

The estimate is for the calendar month (UTC) that contains `as_of`, as a whole month: each backup
counts from max(created_at, month start) to min(delete_at, month end), where a backup present in the
inventory is taken to exist at least until `as_of` (so an overdue `delete_at` does not cut it short).
A warm backup with `move_to_cold_at` later in the month is split: warm until then, cold after; a
cold one is cold from at most `as_of`. Backups deleted before the inventory was collected are not in
it and so not counted; FAILED backups hold no storage and are skipped. GB means GiB (2^30 bytes) as
AWS bills storage. Sizes come from the inventory's `size_bytes` with its `size_basis` (a basis that
says `upper-bound`, e.g. the volume size, is already an upper bound of the backup).

Incremental chains. The APIs give each snapshot's full size, but several services store a chain of
backups of one source as one full copy plus the blocks changed since the previous backup, and bill
that. Summing full sizes over a chain of daily snapshots overstates the bill many times over, so:
- EBS snapshots (and Storage Gateway volume snapshots, which are EBS snapshots) are incremental:
  `FullSnapshotSizeInBytes` "is not the incremental size" of a snapshot but all blocks written to
  the volume (https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_Snapshot.html).
- RDS DB and cluster snapshots: "The first snapshot of a DB instance contains the data for the full
  database. Subsequent snapshots of the same DB instance are incremental"
  (https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/USER_WorkingWithAutomatedBackups.html);
  Aurora cluster snapshots are treated the same way.
- Full copies, never chained: EBS snapshots in the archive tier ("When you archive a snapshot, it is
  converted to a full snapshot", https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_ModifySnapshotTier.html),
  so only warm backups chain; DynamoDB backups ("Each time you create an on-demand backup, the entire
  table data is backed up", https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_CreateBackup.html).
- EFS: AWS Backup's BackupSizeInBytes "refers to the delta bytes transferred during a backup"
  (BackupJob, https://docs.aws.amazon.com/sdk-for-kotlin/api/latest/backup/aws.sdk.kotlin.services.backup.model/-backup-job/backup-size-in-bytes.html),
  so EFS sizes are already incremental and are summed as they are.
For a service listed in the price table's `assumptions.incremental_change_ratio` (data, overridable
with `--prices`), the warm, valid backups of one chain - account, region where stored, source
resource ARN, billing owner, storage class - count the largest full size once (on the backup that
has it) and every other backup at `ratio x` its own full size; each backup is then pro-rated over
the month as above. The ratio is an assumption (no API reports changed blocks per snapshot), so such
rows say `<basis>(chain-estimate)` in `size_basis`, and `upper_bound_gb_months` (and the totals'
`upper_bound_cost_usd`) keep the plain sum of full sizes: the bill lies between the two, and a CUR
(`--cur`) shows where. Orphaned chains are chains too. A backup with no source ARN is counted full.

RDS free allowance: backup storage up to the provisioned storage of the active (not stopped,
deleting or failed) RDS instances and clusters in the same account and region costs nothing. It is
pooled per account, region and service (RDS and Aurora apart), applied to warm AmazonRDS rows of
the estimate only (never to the CUR side), and shared pro rata among that pool's rows.

Money: each row's cost is computed in floating point, then every split (rows, and each allocation)
is rounded to whole cents by largest remainder so that every split sums exactly to the same total.

Outputs (`write_metering`): metering.csv holds `MeteringResult.frame` (columns `ROW_COLUMNS`, one row
per account, region, service, billing owner and storage class); metering.json holds
`{schema_version, as_of, period{start,end}, currency, method, prices{path,retrieved,sources},
totals{...}, rows[...], allocations{name: [...]}, orphans[...], reconciliation [...] | null,
warnings[...]}`. Each allocation row is `{<dimension>: label, gb_months, unpriced_gb_months,
estimated_cost_usd}` where the dimension is account_id, region, service, billing_owner,
storage_class, plan or `tag:<key>`; `estimated_cost_usd` is null where only unpriced storage is.
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from importlib import resources as importlib_resources
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import yaml

from auditor import jsonsafe
from auditor.atomic import write_text
from auditor.errors import InputError
from auditor.limits import MAX_PRICE_TABLE_BYTES, check_file_size, check_yaml_shape

METERING_SCHEMA_VERSION = 1
GIB = float(1 << 30)
CLASSES = ("warm", "cold", "archive")

# backup_type -> (service, billing owner). Data, so a new native backup type is one line.
BACKUP_TYPES: dict[str, tuple[str, str]] = {
    "ebs-snapshot": ("EBS", "AmazonEC2"),
    "storagegateway-snapshot": ("Storage Gateway", "AmazonEC2"),
    "rds-snapshot": ("RDS", "AmazonRDS"),
    "rds-cluster-snapshot": ("Aurora", "AmazonRDS"),
    "dynamodb-backup": ("DynamoDB", "AmazonDynamoDB"),
    "efs-backup": ("EFS", "AWSBackup"),
}

# (billing owner, service, storage class) -> usage type (without region prefix).
USAGE_TYPES: dict[tuple[str, str, str], str] = {
    ("AmazonEC2", "EBS", "warm"): "EBS:SnapshotUsage",
    ("AmazonEC2", "EBS", "cold"): "EBS:SnapshotArchiveStorage",
    ("AmazonEC2", "EBS", "archive"): "EBS:SnapshotArchiveStorage",
    ("AmazonEC2", "Storage Gateway", "warm"): "EBS:SnapshotUsage",
    ("AmazonEC2", "Storage Gateway", "cold"): "EBS:SnapshotArchiveStorage",
    ("AmazonEC2", "Storage Gateway", "archive"): "EBS:SnapshotArchiveStorage",
    ("AmazonRDS", "RDS", "warm"): "RDS:ChargedBackupUsage",
    ("AmazonRDS", "Aurora", "warm"): "Aurora:BackupUsage",
    ("AmazonDynamoDB", "DynamoDB", "warm"): "TimedBackupStorage-ByteHrs",
    ("AWSBackup", "DynamoDB", "warm"): "WarmStorage-ByteHrs-DynamoDB",
    ("AWSBackup", "DynamoDB", "cold"): "ColdStorage-ByteHrs-DynamoDB",
    ("AWSBackup", "EFS", "warm"): "WarmStorage-ByteHrs-EFS",
    ("AWSBackup", "EFS", "cold"): "ColdStorage-ByteHrs-EFS",
}

# Usage types (prefix stripped) that are backup storage in a CUR, with the service they belong to.
_CUR_SERVICE = {
    "EBS:SnapshotUsage": "EBS",
    "EBS:SnapshotArchiveStorage": "EBS",
    "RDS:ChargedBackupUsage": "RDS",
    "Aurora:BackupUsage": "Aurora",
    "TimedBackupStorage-ByteHrs": "DynamoDB",
}
_CUR_BACKUP_RE = re.compile(r"^(?:Warm|Cold|Archive|LowCost)Storage-ByteHrs-(.+)$")
_CUR_USAGE_ITEMS = {"Usage", "DiscountedUsage", "SavingsPlanCoveredUsage"}

_INACTIVE_DB_STATES = {
    "stopped",
    "stopping",
    "deleting",
    "deleted",
    "failed",
    "inaccessible-encryption-credentials",
}

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

_REGION_RE = re.compile(r"^[a-z]{2}(?:-[a-z]+)+-[0-9]+$")
_PREFIXED_RE = re.compile(r"^(?:[A-Z]{3,4}[0-9]|EU)-")


# ---------------------------------------------------------------------------------------------
# Price table


@dataclass(frozen=True)
class PriceTable:
    """USD per GB-month by (region, usage type), with where the figures came from."""

    prices: dict[tuple[str, str], float]
    path: str
    retrieved: str | None = None
    sources: tuple[str, ...] = ()
    currency: str = "USD"
    # service -> assumed fraction of a backup's full size that it adds to its chain (see `assumptions`
    # in policies/prices.yaml); a service not listed is taken to store every backup in full.
    change_ratio: dict[str, float] = field(default_factory=dict)

    def price(self, region: str | None, usage_type: str | None) -> float | None:
        """The price, or None when the table has none (the caller flags the row unpriced)."""
        if region is None or usage_type is None:
            return None
        return self.prices.get((region, usage_type))

    @property
    def regions(self) -> list[str]:
        """Regions the table prices."""
        return sorted({r for r, _ in self.prices})

    def frame(self) -> pd.DataFrame:
        """The table as rows (region, usage_type, usd_per_gb_month)."""
        rows = [
            {"region": r, "usage_type": u, "usd_per_gb_month": p}
            for (r, u), p in sorted(self.prices.items())
        ]
        return pd.DataFrame(rows, columns=["region", "usage_type", "usd_per_gb_month"])

    def meta(self) -> dict[str, Any]:
        """Provenance for outputs."""
        return {
            "path": self.path,
            "retrieved": self.retrieved,
            "sources": list(self.sources),
            "currency": self.currency,
            "assumptions": {"incremental_change_ratio": dict(sorted(self.change_ratio.items()))},
        }


def default_prices_text() -> str:
    """The packaged default price table (auditor/data/prices.yaml; policies/prices.yaml is its copy)."""
    return (
        importlib_resources.files("auditor")
        .joinpath("data/prices.yaml")
        .read_text(encoding="utf-8")
    )


def load_prices(path: str | Path | None = None) -> PriceTable:
    """Load the price table: the packaged default, with `path` (if given) merged over it.

    A file with `replace: true` is used alone. Raises InputError naming the file and line of the
    first bad entry.
    """
    default, _ = _parse_prices(default_prices_text(), "auditor/data/prices.yaml")
    if path is None:
        return default
    path = Path(path)
    try:
        check_file_size(path, MAX_PRICE_TABLE_BYTES, "price table")
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(f"{path}: price table not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: cannot read price table ({exc})") from None
    user, replace = _parse_prices(text, str(path))
    if replace:
        return user
    merged = dict(default.prices)
    merged.update(user.prices)
    return PriceTable(
        prices=merged,
        path=f"{path} (over the default table)",
        retrieved=user.retrieved or default.retrieved,
        sources=tuple(user.sources) + tuple(default.sources),
        change_ratio={**default.change_ratio, **user.change_ratio},
    )


_PRICE_KEYS = {
    "version",
    "currency",
    "unit",
    "retrieved",
    "sources",
    "notes",
    "replace",
    "assumptions",
    "prices",
}
_ASSUMPTION_KEYS = {"incremental_change_ratio"}


def _parse_prices(text: str, name: str) -> tuple[PriceTable, bool]:
    check_yaml_shape(text, name)  # a YAML bomb or a 50,000-deep nesting: refused before composing
    try:
        root = yaml.compose(text)
    except RecursionError:
        raise InputError(f"{name}:1: nested too deeply to read") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f":{mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise InputError(f"{name}{line}: not valid YAML ({problem})") from None
    if root is None:
        raise InputError(f"{name}: empty price table")
    if not isinstance(root, yaml.MappingNode):
        raise InputError(
            f"{name}:{root.start_mark.line + 1}: a price table is a mapping with `version` and `prices`"
        )
    top = {}
    for key_node, value_node in root.value:
        key = key_node.value
        if key not in _PRICE_KEYS:
            raise InputError(
                f"{name}:{key_node.start_mark.line + 1}: unknown key {key!r} (expected one of {', '.join(sorted(_PRICE_KEYS))})"
            )
        top[key] = value_node
    if "version" in top and top["version"].value not in ("1",):
        node = top["version"]
        raise InputError(
            f"{name}:{node.start_mark.line + 1}: price table version {node.value!r}, this program reads 1"
        )
    if "currency" in top and top["currency"].value != "USD":
        node = top["currency"]
        raise InputError(
            f"{name}:{node.start_mark.line + 1}: currency {node.value!r}: only USD prices are supported"
        )
    if "prices" not in top:
        raise InputError(f"{name}: no `prices` mapping (region -> usage type -> USD per GB-month)")
    prices_node = top["prices"]
    if not isinstance(prices_node, yaml.MappingNode):
        raise InputError(
            f"{name}:{prices_node.start_mark.line + 1}: `prices` must map regions to usage types"
        )
    prices: dict[tuple[str, str], float] = {}
    for region_node, usage_node in prices_node.value:
        region = str(region_node.value)
        line = region_node.start_mark.line + 1
        if not isinstance(region_node, yaml.ScalarNode) or not _REGION_RE.match(region):
            raise InputError(
                f"{name}:{line}: prices: {region!r} is not a region code (e.g. us-east-1)"
            )
        if not isinstance(usage_node, yaml.MappingNode):
            raise InputError(
                f"{name}:{line}: prices.{region}: must map usage types to USD per GB-month"
            )
        for ut_node, value_node in usage_node.value:
            usage_type = str(ut_node.value)
            where = f"{name}:{ut_node.start_mark.line + 1}: prices.{region}.{usage_type}"
            if not isinstance(ut_node, yaml.ScalarNode) or not usage_type.strip():
                raise InputError(f"{where}: a usage type must be a non-empty string")
            if _PREFIXED_RE.match(usage_type):
                raise InputError(
                    f"{where}: write the usage type without its region prefix (the region is the key above)"
                )
            value = _price_value(value_node)
            if value is None:
                raise InputError(
                    f"{where}: price must be a non-negative number of USD per GB-month, got {value_node.value!r}"
                )
            if (region, usage_type) in prices:
                raise InputError(f"{where}: listed twice")
            prices[(region, usage_type)] = value
    retrieved = (
        top["retrieved"].value
        if "retrieved" in top and isinstance(top["retrieved"], yaml.ScalarNode)
        else None
    )
    sources: tuple[str, ...] = ()
    if "sources" in top:
        node = top["sources"]
        if isinstance(node, yaml.SequenceNode):
            sources = tuple(
                str(item.value) for item in node.value if isinstance(item, yaml.ScalarNode)
            )
        elif isinstance(node, yaml.ScalarNode):
            sources = (str(node.value),)
    replace = "replace" in top and str(top["replace"].value).lower() == "true"
    change_ratio = _parse_assumptions(top["assumptions"], name) if "assumptions" in top else {}
    return PriceTable(
        prices=prices, path=name, retrieved=retrieved, sources=sources, change_ratio=change_ratio
    ), replace


def _parse_assumptions(node: yaml.Node, name: str) -> dict[str, float]:
    """`assumptions: {incremental_change_ratio: {SERVICE: fraction in [0, 1]}}` -> {service: fraction}."""
    line = node.start_mark.line + 1
    if not isinstance(node, yaml.MappingNode):
        raise InputError(
            f"{name}:{line}: `assumptions` must be a mapping (incremental_change_ratio: {{SERVICE: fraction}})"
        )
    services = sorted({service for service, _ in BACKUP_TYPES.values()})
    out: dict[str, float] = {}
    for key_node, value_node in node.value:
        where = f"{name}:{key_node.start_mark.line + 1}: assumptions.{key_node.value}"
        if not isinstance(key_node, yaml.ScalarNode) or key_node.value not in _ASSUMPTION_KEYS:
            raise InputError(
                f"{where}: unknown assumption (expected one of {', '.join(sorted(_ASSUMPTION_KEYS))})"
            )
        if not isinstance(value_node, yaml.MappingNode):
            raise InputError(f"{where}: must map services to a fraction between 0 and 1")
        for svc_node, ratio_node in value_node.value:
            at = f"{name}:{svc_node.start_mark.line + 1}: assumptions.{key_node.value}.{svc_node.value}"
            if not isinstance(svc_node, yaml.ScalarNode) or svc_node.value not in services:
                raise InputError(f"{at}: unknown service (expected one of {', '.join(services)})")
            ratio = _price_value(ratio_node)
            if ratio is None or ratio > 1:
                got = (
                    ratio_node.value
                    if isinstance(ratio_node, yaml.ScalarNode)
                    else "a " + ratio_node.id
                )
                raise InputError(f"{at}: must be a fraction between 0 and 1, got {got!r}")
            if svc_node.value in out:
                raise InputError(f"{at}: listed twice")
            out[svc_node.value] = ratio
    return out


def _price_value(node: yaml.Node) -> float | None:
    if not isinstance(node, yaml.ScalarNode) or node.tag not in (
        "tag:yaml.org,2002:int",
        "tag:yaml.org,2002:float",
    ):
        return None
    try:
        value = float(node.value.replace("_", ""))
    except ValueError:
        return None
    if not math.isfinite(value) or value < 0:
        return None
    return value


# ---------------------------------------------------------------------------------------------
# Result


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


# ---------------------------------------------------------------------------------------------
# Helpers over big columns


def _codes(series: pd.Series) -> tuple[np.ndarray, list]:
    """Integer codes (0 = null) and the distinct values ([None, ...]), fast for arrow-backed strings."""
    codes, uniques = pd.factorize(series, use_na_sentinel=True)
    codes = codes.astype(np.int64, copy=False)
    codes += 1
    return codes, [None, *list(uniques)]


def _arrow(series: pd.Series) -> pa.Array | pa.ChunkedArray:
    try:
        return pa.array(series.array)
    except (TypeError, pa.ArrowInvalid):
        return pa.array(series.astype(object).where(series.notna(), None), type=pa.string())


def _equals(series: pd.Series, value: str) -> np.ndarray:
    """Boolean mask series == value (null -> False)."""
    arr = _arrow(series)
    return pc.fill_null(pc.equal(arr, value), False).to_numpy(zero_copy_only=False)


def _index_in(
    values: pd.Series, value_set: pd.Series, pool: ThreadPoolExecutor | None = None
) -> np.ndarray:
    """For each value, its position in `value_set` or -1 (hashing split over the pool's threads)."""
    n = len(values)
    if n == 0 or len(value_set) == 0:
        return np.full(n, -1, dtype=np.int64)
    vs = _arrow(value_set)
    if isinstance(vs, pa.ChunkedArray):
        vs = vs.combine_chunks()
    arr = _arrow(values)
    if not pa.types.is_string(arr.type) and not pa.types.is_large_string(arr.type):
        arr = arr.cast(pa.string())
    if vs.type != arr.type:
        vs = vs.cast(arr.type)

    def one(piece):
        out = pc.fill_null(pc.index_in(piece, value_set=vs), -1)
        return out.to_numpy(zero_copy_only=False).astype(np.int64, copy=False)

    if pool is None or n < _PARALLEL_MIN_ROWS or n < 2:
        return one(arr)
    half = n // 2
    first = pool.submit(one, arr.slice(0, half))
    second = one(arr.slice(half))
    return np.concatenate([first.result(), second])


def _take(series: pd.Series, idx: np.ndarray) -> pa.Array:
    """Rows `idx` of an arrow-backed string column, without copying the whole column.

    (`take` on a ChunkedArray concatenates its chunks first, an O(n) copy per call.)
    """
    arr = _arrow(series)
    if isinstance(arr, pa.Array):
        return arr.take(pa.array(idx, type=pa.int64()))
    if arr.num_chunks == 1:
        return arr.chunk(0).take(pa.array(idx, type=pa.int64()))
    offsets = np.cumsum([0] + [len(c) for c in arr.chunks])
    which = np.searchsorted(offsets, idx, side="right") - 1
    order = np.argsort(which, kind="stable")
    pieces = []
    for c in np.unique(which):
        sel = order[which[order] == c]
        pieces.append(
            (sel, arr.chunk(int(c)).take(pa.array(idx[sel] - offsets[c], type=pa.int64())))
        )
    merged = pa.concat_arrays([p for _, p in pieces]) if pieces else pa.array([], type=arr.type)
    positions = np.concatenate([sel for sel, _ in pieces]) if pieces else np.zeros(0, np.int64)
    return merged.take(pa.array(np.argsort(positions, kind="stable"), type=pa.int64()))


_NAT = np.iinfo(np.int64).min
# Below this many recovery points, splitting the work over two threads costs more than it saves.
_PARALLEL_MIN_ROWS = 300_000
# Bin-count sizes above which the grouping falls back to compacted keys / separate bincounts.
_DENSE_KEYS_MAX = 5_000_000
_FINE_BINS_MAX = 20_000_000


def _ts_raw(series: pd.Series) -> np.ndarray:
    """Microseconds since the epoch (UTC) of a timestamp column; null is the smallest int64."""
    s = series
    if not isinstance(s.dtype, pd.DatetimeTZDtype):
        s = pd.to_datetime(s, utc=True, format="ISO8601")
    if s.dt.unit != "us":
        s = s.dt.as_unit("us")
    return np.asarray(s.array.asi8, dtype=np.int64)  # a view: callers must not write into it


def _apportion_cents(values: np.ndarray, total_cents: int) -> np.ndarray:
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


class _Clock:
    """Seconds spent per phase, wall and CPU; `lap(name)` closes the previous phase, opens `name`."""

    def __init__(self) -> None:
        self.laps: dict[str, float] = {}
        self.cpu: dict[str, float] = {}
        self._name = "start"
        self._t = time.perf_counter()
        self._c = time.process_time()

    def lap(self, name: str) -> None:
        now, cpu = time.perf_counter(), time.process_time()
        self.laps[self._name] = self.laps.get(self._name, 0.0) + now - self._t
        self.cpu[self._name] = self.cpu.get(self._name, 0.0) + cpu - self._c
        self._name, self._t, self._c = name, now, cpu


def _utc(value: datetime) -> datetime:
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def month_bounds(as_of: datetime) -> tuple[datetime, datetime]:
    """The calendar month (UTC) containing `as_of`: [start, end)."""
    as_of = _utc(as_of)
    start = as_of.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    end = (
        start.replace(year=start.year + 1, month=1)
        if start.month == 12
        else start.replace(month=start.month + 1)
    )
    return start, end


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _us(value: datetime) -> int:
    return (_utc(value) - _EPOCH) // timedelta(microseconds=1)


# ---------------------------------------------------------------------------------------------
# Metering


def meter(
    inventory,
    prices: PriceTable,
    as_of: datetime,
    by_tags: Sequence[str] = (),
    cur: pd.DataFrame | None = None,
) -> MeteringResult:
    """Split backup storage by billing owner, estimate GB-months and cost for `as_of`'s month.

    `inventory` is an `auditor.inventory.Inventory`; `cur` a frame from `auditor.cur.read_cur`.
    See the module docstring for the method.
    """
    clock = _Clock()
    as_of = _utc(as_of)
    m_start, m_end = month_bounds(as_of)
    warnings: list[str] = []
    rp = inventory.recovery_points
    resources = inventory.resources
    n = len(rp)

    clock.lap("encode")
    # -- encode the columns and compute the time each backup is held this month. This is the
    # expensive part on big inventories: arrow kernels and numpy release the GIL, so two threads
    # share it.
    ms, me, now = _us(m_start), _us(m_end), _us(as_of)

    def held():
        start = np.maximum(_ts_raw(rp["created_at"]), ms)  # null (smallest int64) -> month start
        deleted = _ts_raw(rp["delete_at"])
        stop = np.clip(deleted, now, me)  # present at as_of, so it existed at least until then
        stop[deleted == _NAT] = me
        del deleted
        dur = stop - start
        np.maximum(dur, 0, out=dur)
        return start, stop, dur

    def sizes():
        return rp["size_bytes"].to_numpy(dtype="float64", na_value=np.nan, copy=True)

    def halves(fn):
        """fn(slice) over two halves of the rows, in parallel (numpy and arrow release the GIL)."""
        if n < _PARALLEL_MIN_ROWS or n < 2:
            return [fn(slice(0, n))]
        mid = n // 2
        first = pool.submit(fn, slice(0, mid))
        second = fn(slice(mid, n))
        return [first.result(), second]

    with ThreadPoolExecutor(max_workers=2) as pool:
        futures = {
            name: pool.submit(_codes, rp[name])
            for name in (
                "account_id",
                "region",
                "backup_type",
                "storage_class",
                "size_basis",
                "backup_plan_id",
            )
        }
        f_failed = pool.submit(_equals, rp["status"], "FAILED")
        f_held = pool.submit(held)
        f_size = pool.submit(sizes)
        res_idx = _index_in(rp["resource_arn"], resources["resource_arn"], pool)
        acct_c, acct_u = futures["account_id"].result()
        reg_c, reg_u = futures["region"].result()
        bt_c, bt_u = futures["backup_type"].result()
        cls_c, cls_u = futures["storage_class"].result()
        basis_c, basis_u = futures["size_basis"].result()
        plan_c, plan_u = futures["backup_plan_id"].result()
        failed = f_failed.result()
        start, stop, dur = f_held.result()
        size = f_size.result()

        clock.lap("sizes")
        # -- which rows hold storage
        valid = ~failed
        unsized = np.isnan(size)
        unsized &= valid
        size[unsized | failed] = 0.0

        clock.lap("storage class")
        # -- storage class: 0 warm, 1 cold, 2 archive (unknown or missing -> warm, with a warning)
        cls_map = np.zeros(len(cls_u), dtype=np.int64)
        odd_classes = []
        for i, value in enumerate(cls_u):
            key = None if value is None else str(value).strip().lower()
            if key in CLASSES:
                cls_map[i] = CLASSES.index(key)
            elif i:
                odd_classes.append(str(value))
        cls3 = cls_map[cls_c]
        n_missing_class = int(np.count_nonzero(valid & (cls_c == 0)))
        if n_missing_class:
            warnings.append(f"{n_missing_class} backup(s) have no storage class; counted as warm")
        if odd_classes:
            warnings.append(
                f"unknown storage class(es) {', '.join(sorted(odd_classes))} counted as warm"
            )

        clock.lap("aurora")
        # -- Aurora or not, for cluster snapshots (from the cluster's engine when it still exists)
        cluster_code = bt_u.index("rds-cluster-snapshot") if "rds-cluster-snapshot" in bt_u else -1
        flag = None
        if cluster_code > 0 and len(resources):
            engine = resources["engine"].astype("str").str.lower()
            res_non_aurora = (
                engine.fillna("").ne("") & ~engine.str.startswith("aurora").fillna(False)
            ).to_numpy(dtype=bool)
            found = (bt_c == cluster_code) & (res_idx >= 0)
            if res_non_aurora[res_idx[found]].any():
                flag = np.zeros(n, dtype=np.int64)
                flag[found] = res_non_aurora[res_idx[found]]

        clock.lap("chains")
        A, R, B = len(acct_u), len(reg_u), len(bt_u)
        # -- incremental chains: the storage each backup is taken to add (see the module docstring)
        eff, inc_idx = _chain_sizes(
            rp,
            size,
            valid,
            cls3,
            bt_c,
            bt_u,
            flag,
            acct_c,
            reg_c,
            res_idx,
            len(resources),
            prices.change_ratio,
            (A, R, B),
            halves,
        )

        clock.lap("time")
        # -- GB-months. Each backup contributes "parts": (GB-months, storage class). A backup moving
        # to cold this month has two parts (warm until the move, cold after), others one.
        to_cold = _ts_raw(rp["move_to_cold_at"])
        moving = (to_cold != _NAT) & (cls3 != 2)
        scale = 1.0 / (GIB * float(me - ms))  # GB-months per byte-microsecond
        if moving.any():
            is_cold = cls3 == 1
            # still warm at as_of: warm at least until then; already cold: cold from as_of at the latest
            t = np.where(is_cold, np.clip(to_cold, ms, now), np.clip(to_cold, now, me))
            t = np.where(moving, t, np.where(is_cold, ms, me))
            warm_us = np.minimum(np.clip(np.minimum(stop, t) - start, 0, None), dur)
            warm_us[cls3 == 2] = 0
            per = size * scale
            per_eff = per if eff is None else eff * scale
            # the warm part is the chain's; once cold (archived) a snapshot is a full copy
            cold_part = per * (dur - warm_us)
            parts = [
                (per_eff * warm_us, np.zeros_like(cls3), per * warm_us),
                (cold_part, np.where(cls3 == 0, 1, cls3), cold_part),
            ]
            del t, warm_us, is_cold, per, per_eff, cold_part
        else:
            gbm = np.empty(n)
            full = gbm if eff is None else np.empty(n)

            def weigh(sl):
                np.multiply(size[sl] if eff is None else eff[sl], dur[sl], out=gbm[sl])
                gbm[sl] *= scale
                if eff is not None:
                    np.multiply(size[sl], dur[sl], out=full[sl])
                    full[sl] *= scale

            halves(weigh)
            parts = [(gbm, cls3, full)]
        stored = size if eff is None else eff  # per backup: the bytes it is taken to hold (orphans)
        del start, stop, dur, to_cold, moving, size, eff

        clock.lap("group")
        # -- group key: (account, region, backup type, non-aurora flag); x3 for the storage class
        K = A * R * B * 2
        K3 = K * 3
        NB = len(basis_u)
        any_unsized = bool(unsized.any())
        any_failed = bool((~valid).any())
        part_keys = [np.empty(n, dtype=np.int64) for _ in parts]

        def bc(codes, weights, size):
            return np.bincount(codes, weights=weights, minlength=size)[:size]

        def group_key(sl):
            k = acct_c[sl] * R
            k += reg_c[sl]
            k *= B
            k += bt_c[sl]
            k *= 2
            if flag is not None:
                k += flag[sl]
            return k

        # The common case (dense keys, one part per backup, few size bases) in one fused pass:
        # one index per (group, class, size basis) gives GB-months, counts and bases at once.
        fused = K <= _DENSE_KEYS_MAX and len(parts) == 1 and K3 * NB <= _FINE_BINS_MAX
        uniq_keys = None
        if fused:
            w0, c0, f0 = parts[0]

            def sums(sl):
                """Per (group, class): GB-months, full-size GB-months, backups, unsized; bases per group."""
                k3 = group_key(sl)
                k3 *= 3
                k3 += c0[sl]
                part_keys[0][sl] = k3
                fine = k3 * NB
                fine += basis_c[sl]
                g = bc(fine, w0[sl], K3 * NB).reshape(K, 3, NB)
                counts = bc(fine, valid[sl] if any_failed else None, K3 * NB).reshape(K, 3, NB)
                uns = bc(k3, unsized[sl].astype(np.float64), K3) if any_unsized else np.zeros(K3)
                g = g.sum(axis=2).ravel()
                gu = g if f0 is w0 else bc(k3, f0[sl], K3)
                return g, gu, counts.sum(axis=2).ravel(), uns, counts.sum(axis=1).ravel()
        else:
            key = np.empty(n, dtype=np.int64)

            def make_key(sl):
                key[sl] = group_key(sl)

            halves(make_key)
            if K > _DENSE_KEYS_MAX:  # too sparse for dense bincounts: compact the keys first
                uniq_keys, key = np.unique(key, return_inverse=True)
                K = len(uniq_keys)
                K3 = K * 3
            fine = K3 * NB <= _FINE_BINS_MAX

            def sums(sl):
                """Per (group, class): GB-months, full-size GB-months, backups, unsized; bases per group."""
                k = key[sl]
                basis = basis_c[sl]
                v = valid[sl] if any_failed else None
                g = np.zeros(K3 * NB) if fine else np.zeros(K3)
                gu = np.zeros(K3)
                for pk, (w, c, wf) in zip(part_keys, parts):
                    k3 = k * 3
                    k3 += c[sl]
                    pk[sl] = k3
                    if fine:
                        g += bc(k3 * NB + basis, w[sl], K3 * NB)
                    else:
                        g += bc(k3, w[sl], K3)
                    gu += bc(k3, wf[sl], K3)
                key3 = part_keys[0][sl] if len(parts) == 1 else k * 3 + cls3[sl]
                uns = bc(key3, unsized[sl].astype(np.float64), K3) if any_unsized else np.zeros(K3)
                if fine:
                    counts = bc(key3 * NB + basis, v, K3 * NB).reshape(K, 3, NB)
                    g = g.reshape(K, 3, NB)
                    return (
                        g.sum(axis=2).ravel(),
                        gu,
                        counts.sum(axis=2).ravel(),
                        uns,
                        counts.sum(axis=1).ravel(),
                    )
                count = bc(key3, v, K3)
                present = bc(k * NB + basis, v, K * NB)
                return g, gu, count, uns, present

        partial = halves(sums)
        g_gbm, g_upper, g_count, g_unsized, present = (sum(p[i] for p in partial) for i in range(5))
        g_gbm, g_upper, g_count, g_unsized = (
            x.reshape(K, 3) for x in (g_gbm, g_upper, g_count, g_unsized)
        )
        present = present.reshape(K, NB)
        # backups counted as part of a chain, per (group, class): their rows' sizes are estimates
        g_chained = (
            np.bincount(part_keys[0][inc_idx], minlength=K3)[:K3] if len(inc_idx) else np.zeros(K3)
        ).reshape(K, 3)

        live = np.flatnonzero(g_count.sum(axis=1) > 0)
        if uniq_keys is not None:
            dec = uniq_keys[live]
        else:
            dec = live
        g_flag = dec % 2
        rest = dec // 2
        g_bt = rest % B
        rest //= B
        g_reg = rest % R
        g_acct = rest // R

        managed = _ddb_managed(inventory)
        unknown_types = set()
        cold_ddb: set[str] = set()
        rows = []
        for j, gk in enumerate(live):
            acct, region, btype = acct_u[g_acct[j]], reg_u[g_reg[j]], bt_u[g_bt[j]]
            if btype in BACKUP_TYPES:
                service, owner = BACKUP_TYPES[btype]
            else:
                service, owner = (btype or "(unknown)"), "(unknown)"
                unknown_types.add(str(btype))
            if btype == "rds-cluster-snapshot" and g_flag[j]:
                service = "RDS"
            if service == "DynamoDB" and (acct, region) in managed:
                owner = "AWSBackup"
            bases = sorted(str(basis_u[b]) if b else "(none)" for b in np.flatnonzero(present[gk]))
            for c, cls in enumerate(CLASSES):
                count = int(g_count[gk, c])
                gbm_c = float(g_gbm[gk, c])
                if count == 0 and gbm_c == 0.0:
                    continue
                row_owner = owner
                if service == "DynamoDB" and cls == "cold" and owner != "AWSBackup":
                    # Cold DynamoDB backups exist only under AWS Backup's advanced features, which
                    # AWS Backup bills, whatever the region settings collected say.
                    row_owner = "AWSBackup"
                    cold_ddb.add(f"{acct}/{region}")
                usage_type = USAGE_TYPES.get((row_owner, service, cls))
                price = prices.price(region, usage_type)
                rows.append(
                    {
                        "_key": int(gk),
                        "_class": c,
                        "account_id": acct if acct is not None else "(unknown)",
                        "region": region if region is not None else "(unknown)",
                        "service": service,
                        "billing_owner": row_owner,
                        "storage_class": cls,
                        "usage_type": usage_type,
                        "backups": count,
                        "gb_months": gbm_c,
                        "upper_bound_gb_months": float(g_upper[gk, c]),
                        "unsized_backups": int(g_unsized[gk, c]),
                        "size_basis": "; ".join(
                            f"{b}(chain-estimate)" if g_chained[gk, c] and b != "(none)" else b
                            for b in bases
                        ),
                        "price_usd_per_gb_month": price,
                    }
                )
        if cold_ddb:
            warnings.append(
                f"DynamoDB backups in cold storage in {', '.join(sorted(cold_ddb))}, where region settings do not show "
                "full AWS Backup management: cold storage implies AWS Backup's advanced features, so they are counted "
                "as AWSBackup-billed"
            )
        if unknown_types:
            warnings.append(
                f"unknown backup type(s) {', '.join(sorted(unknown_types))}: owner unknown, left unpriced"
            )

        df = pd.DataFrame(
            rows,
            columns=[
                "_key",
                "_class",
                *[
                    c
                    for c in ROW_COLUMNS
                    if c
                    not in (
                        "free_gb_months",
                        "billable_gb_months",
                        "estimated_cost_usd",
                        "unpriced",
                    )
                ],
            ],
        )
        df["price_usd_per_gb_month"] = df["price_usd_per_gb_month"].astype("float64")

        clock.lap("allowance")
        # -- RDS free allowance, pooled per (account, region, service)
        allowance = _rds_allowance(resources)
        rds_warm = (df["billing_owner"] == "AmazonRDS") & (df["storage_class"] == "warm")

        def free(column):
            """Free GB-months per row: the pool's allowance shared pro rata over `column`."""
            out = np.zeros(len(df))
            if rds_warm.any():
                pools = (
                    df.loc[rds_warm]
                    .groupby(["account_id", "region", "service"])[column]
                    .transform("sum")
                    .to_numpy()
                )
                allow = [
                    allowance.get(k, 0.0)
                    for k in zip(
                        df.loc[rds_warm, "account_id"],
                        df.loc[rds_warm, "region"],
                        df.loc[rds_warm, "service"],
                    )
                ]
                allow = np.asarray(allow, dtype=float)
                share = np.where(
                    pools > 0, np.minimum(allow, pools) / np.where(pools > 0, pools, 1.0), 0.0
                )
                out[rds_warm.to_numpy()] = df.loc[rds_warm, column].to_numpy() * share
            return out

        df["free_gb_months"] = free("gb_months")
        df["billable_gb_months"] = (df["gb_months"] - df["free_gb_months"]).clip(lower=0.0)
        # The same cost with every backup at its full listed size: the top of the range.
        upper_cost = float(
            np.nansum(
                np.clip(
                    df["upper_bound_gb_months"].to_numpy() - free("upper_bound_gb_months"),
                    0.0,
                    None,
                )
                * df["price_usd_per_gb_month"].to_numpy()
            )
        )
        df["unpriced"] = df["price_usd_per_gb_month"].isna() & (df["billable_gb_months"] > 0)
        cost_float = (
            (df["billable_gb_months"] * df["price_usd_per_gb_month"]).fillna(0.0).to_numpy()
        )
        total_float = float(cost_float.sum())
        total_cents = int(round(total_float * 100))
        cents = _apportion_cents(cost_float, total_cents)
        cost = cents / 100.0
        df["estimated_cost_usd"] = np.where(df["unpriced"].to_numpy(), np.nan, cost)
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

        clock.lap("rates")
        # -- per-backup cost rates (for allocations that need the backup, not the group)
        rate = np.zeros(K3)
        unp = np.zeros(K3)
        full_price = np.full(K3, np.nan)
        rk3 = df["_key"].to_numpy(dtype=np.int64) * 3 + df["_class"].to_numpy(dtype=np.int64)
        rprice = df["price_usd_per_gb_month"].to_numpy(dtype=float)
        rgbm, rbill = (
            df["gb_months"].to_numpy(dtype=float),
            df["billable_gb_months"].to_numpy(dtype=float),
        )
        factor = np.where(rgbm > 0, rbill / np.where(rgbm > 0, rgbm, 1.0), 1.0)
        full_price[rk3] = rprice
        unp[rk3] = df["unpriced"].to_numpy(dtype=float)
        rate[rk3] = np.where(np.isnan(rprice), 0.0, rprice * factor)
        any_unp = bool(unp.any())

        def by_code(codes, size):
            """(GB-months, cost, unpriced GB-months, backups) per code, summed over the parts."""

            def one(sl):
                c = codes[sl]
                gbm = np.zeros(size)
                cost = np.zeros(size)
                unpriced = np.zeros(size)
                for pk, (w, _, _) in zip(part_keys, parts):
                    ws = w[sl]
                    gbm += bc(c, ws, size)
                    cost += bc(c, ws * rate[pk[sl]], size)
                    if any_unp:
                        unpriced += bc(c, ws * unp[pk[sl]], size)
                return gbm, cost, unpriced, np.bincount(c, minlength=size)[:size]

            partial = halves(one)
            return tuple(sum(p[i] for p in partial) for i in range(4))

        clock.lap("allocations")
        # -- allocations
        allocations: dict[str, pd.DataFrame] = {}
        for name, column in (
            ("account", "account_id"),
            ("region", "region"),
            ("service", "service"),
            ("billing_owner", "billing_owner"),
            ("storage_class", "storage_class"),
        ):
            grouped = df.groupby(column, sort=True).agg(
                gb_months=("gb_months", "sum"),
                billable_gb_months=("billable_gb_months", "sum"),
                _cents=("_cents", "sum"),
                _unpriced=("_unpriced_gbm", "sum"),
            )
            allocations[name] = _allocation_frame(
                column,
                grouped.index.to_numpy(dtype=object),
                grouped["gb_months"].to_numpy(),
                grouped["_cents"].to_numpy().astype(float) / 100.0,
                grouped["_unpriced"].to_numpy(),
                total_cents,
            )

        plan_names = _plan_names(inventory, plan_u)
        allocations["plan"] = _allocate_codes(
            "plan", plan_names, by_code(plan_c, len(plan_names)), total_cents
        )

        for tag_key in by_tags:
            labels, codes = _tag_codes(inventory, rp, res_idx, tag_key)
            allocations[f"tag:{tag_key}"] = _allocate_codes(
                f"tag:{tag_key}", labels, by_code(codes, len(labels)), total_cents
            )

        clock.lap("orphans")
        # -- orphans
        rp_pairs = set(zip(df["account_id"], df["region"]))
        orphans = _orphans(
            inventory,
            rp,
            valid,
            res_idx,
            part_keys[0],
            cls3,
            full_price,
            df,
            rp_pairs,
            warnings,
            stored,
        )

        clock.lap("rows")
        # -- output rows
        frame = df.sort_values(
            ["account_id", "region", "service", "billing_owner", "storage_class"], kind="stable"
        )
        frame = frame.loc[:, list(ROW_COLUMNS)].reset_index(drop=True)
        for col in ("gb_months", "free_gb_months", "billable_gb_months", "upper_bound_gb_months"):
            frame[col] = frame[col].round(6)
        frame["backups"] = frame["backups"].astype("int64")
        frame["unsized_backups"] = frame["unsized_backups"].astype("int64")
        frame["unpriced"] = frame["unpriced"].astype(bool)

        owner_cents = df.groupby("billing_owner")["_cents"].sum()
        backup_cents = int(owner_cents.get("AWSBackup", 0))
        totals: dict[str, Any] = {
            "backups": int(valid.sum()),
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
            "orphaned_monthly_cost_usd": round(
                float(orphans["monthly_cost_usd"].fillna(0).sum()), 2
            )
            if len(orphans)
            else 0.0,
        }

        reconciliation = None
        if cur is not None:
            reconciliation = _reconcile(df, cur, as_of, inventory, warnings)
            totals["billed_usd"] = round(float(reconciliation["billed_usd"].sum()), 2)
            totals["billed_backup_metered_usd"] = round(
                float(
                    reconciliation.loc[
                        reconciliation["billing_owner"] == "AWSBackup", "billed_usd"
                    ].sum()
                ),
                2,
            )
            totals["billed_native_usd"] = round(
                totals["billed_usd"] - totals["billed_backup_metered_usd"], 2
            )

        clock.lap("end")
        return MeteringResult(
            frame=frame,
            allocations=allocations,
            orphans=orphans,
            reconciliation=reconciliation,
            warnings=warnings,
            totals=totals,
            as_of=as_of,
            period_start=m_start,
            period_end=m_end,
            prices=prices.meta(),
            timings={**clock.laps, **{f"{k} (cpu)": v for k, v in clock.cpu.items()}},
        )


def _chain_sizes(
    rp,
    size,
    valid,
    cls3,
    bt_c,
    bt_u,
    flag,
    acct_c,
    reg_c,
    res_idx,
    n_resources,
    ratios,
    dims,
    halves=None,
):
    """The bytes each backup is taken to add to its incremental chain, and the rows that are chained.

    A chain is the warm, valid backups of one source resource of one incremental service, stored in
    one account and region (so one billing owner and storage class). The largest full size in the
    chain counts once; every other backup counts at `ratios[service]` times its full size. Returns
    (None, empty) when nothing is chained. Backups with no source resource ARN are not chained.
    `halves(fn)` runs fn(slice) over parts of the rows in parallel and returns the results in order.
    """
    if halves is None:

        def halves(fn):
            return [fn(slice(0, len(size)))]

    def rows_where(fn):
        """Positions where the mask fn(slice) holds, computed per part."""
        return np.concatenate(halves(lambda sl: np.flatnonzero(fn(sl)) + sl.start))

    A, R, B = dims
    none = np.zeros(0, dtype=np.int64)
    ratio_tab = np.full((B, 2), np.nan)
    for b, btype in enumerate(bt_u):
        service = BACKUP_TYPES.get(btype, (None, None))[0]
        for f in (0, 1):
            svc = "RDS" if (btype == "rds-cluster-snapshot" and f) else service
            if svc in ratios:
                ratio_tab[b, f] = ratios[svc]
    if np.isnan(ratio_tab).all():
        return None, none
    # 1-d takes: far faster than ratio_tab[bt_c, flag] over millions of rows
    row_ratio = (
        np.take(ratio_tab[:, 0], bt_c)
        if flag is None
        else np.take(ratio_tab.ravel(), bt_c * 2 + flag)
    )
    inc = valid & (cls3 == 0)
    inc &= ~np.isnan(row_ratio)
    # Source identity: its row in `resources`, or (gone resources) a code of its ARN; -1 = none.
    # Whole-column elementwise passes below rather than gathers of the chained rows: faster.
    src = np.where(inc, res_idx, -1)
    gone = np.flatnonzero(inc & (res_idx < 0))
    if len(gone):
        codes, _ = pd.factorize(
            pd.Series(_take(rp["resource_arn"], gone), dtype="str"), use_na_sentinel=True
        )
        src[gone] = np.where(codes >= 0, n_resources + codes, -1)
    inc = src >= 0
    if not inc.any():
        return None, np.zeros(0, dtype=np.int64)
    group = acct_c * R
    group += reg_c
    group *= B
    group += bt_c
    group *= 2
    if flag is not None:
        group += flag
    # A source's backups nearly always sit in one group (its account, region and type): the source
    # code alone is then the chain, a dense code that needs no hashing. Only backups outside their
    # source's "home" group (copies to another region, say) are hashed into chains of their own.
    n_src = int(src.max()) + 1
    src[~inc] = n_src  # one dummy chain for every row that is not chained
    home = np.full(n_src + 1, -1, dtype=np.int64)
    home[src] = group  # any one of each source's groups will do
    away = rows_where(lambda sl: (home[src[sl]] != group[sl]) & inc[sl])
    chain = src
    if len(away):
        G = A * R * B * 2
        if n_src * G < 2**62:
            extra, _ = pd.factorize(src[away] * G + group[away])
        else:  # too many keys to combine into one int64: factorize the pair
            extra = pd.MultiIndex.from_arrays([src[away], group[away]]).factorize()[0]
        chain[away] = n_src + 1 + extra
    del group, home, away
    n = len(size)
    n_chains = max(int(chain.max()), n_src) + 1
    top = np.full(n_chains, -np.inf)
    np.maximum.at(top, chain, size)  # rows not chained all sit in the dummy chain n_src
    ties = rows_where(lambda sl: size[sl] >= top[chain[sl]])
    first = np.full(n_chains, n, dtype=np.int64)
    np.minimum.at(first, chain[ties], ties)  # the first backup with the chain's largest size
    first[n_src] = n
    full_copy = first[first < n]  # one backup per chain holds the full copy

    def scale(sl):  # in place: row_ratio becomes the effective size
        r = row_ratio[sl]
        r[~inc[sl]] = 1.0
        r *= size[sl]

    halves(scale)
    eff = row_ratio
    eff[full_copy] = size[full_copy]
    inc_idx = np.flatnonzero(inc)
    return eff, inc_idx


def _allocation_frame(column, labels, gbm, cost_float, unpriced_gbm, total_cents) -> pd.DataFrame:
    cents = _apportion_cents(cost_float, total_cents)
    cost = cents / 100.0
    only_unpriced = (np.asarray(unpriced_gbm) > 0) & (cents == 0) & (np.asarray(cost_float) == 0)
    out = pd.DataFrame(
        {
            column: pd.Series(labels, dtype="str"),
            "gb_months": np.round(np.asarray(gbm, dtype=float), 6),
            "unpriced_gb_months": np.round(np.asarray(unpriced_gbm, dtype=float), 6),
            "estimated_cost_usd": np.where(only_unpriced, np.nan, cost),
        }
    )
    return out.sort_values(
        ["estimated_cost_usd", column], ascending=[False, True], na_position="last", kind="stable"
    ).reset_index(drop=True)


def _allocate_codes(column, labels, sums, total_cents) -> pd.DataFrame:
    """Allocation from per-code sums (plan, tag value); labels may repeat (merged)."""
    gbm, cost, unpriced, count = sums
    tmp = pd.DataFrame(
        {"label": list(labels), "gbm": gbm, "cost": cost, "unpriced": unpriced, "count": count}
    )
    tmp = tmp[tmp["count"] > 0].groupby("label", sort=True).sum(numeric_only=True)
    return _allocation_frame(
        column,
        tmp.index.to_numpy(dtype=object),
        tmp["gbm"].to_numpy(),
        tmp["cost"].to_numpy(),
        tmp["unpriced"].to_numpy(),
        total_cents,
    )


def _plan_names(inventory, plan_u: list) -> list[str]:
    plans = inventory["backup_plans"]
    names = dict(zip(plans["backup_plan_id"], plans["backup_plan_name"])) if len(plans) else {}
    out = []
    for pid in plan_u:
        if pid is None or pid == "":
            out.append("(none)")
        elif names.get(pid):
            out.append(str(names[pid]))
        else:
            out.append(f"{pid} (not deployed)")
    return out


def _tag_codes(
    inventory, rp: pd.DataFrame, res_idx: np.ndarray, tag_key: str
) -> tuple[list[str], np.ndarray]:
    """Per backup: code of the source resource's value for `tag_key` (else the backup's own tag)."""
    tags = inventory["tags"]
    tags = tags[tags["key"] == tag_key]
    resources = inventory.resources
    labels = ["(untagged)"]
    if not len(tags):
        return labels, np.zeros(len(rp), dtype=np.int64)
    values = tags.drop_duplicates("arn", keep="last").set_index("arn")["value"]
    value_codes, value_u = pd.factorize(values.astype("str"), use_na_sentinel=True)
    labels += [str(v) for v in value_u]
    by_arn = pd.Series(value_codes + 1, index=values.index)
    res_code = (
        resources["resource_arn"].map(by_arn).fillna(0).to_numpy(dtype=np.int64)
        if len(resources)
        else np.zeros(0, np.int64)
    )
    codes = np.where(
        res_idx >= 0, res_code[np.clip(res_idx, 0, None)] if len(res_code) else 0, 0
    ).astype(np.int64)
    # A backup whose source is gone (or untagged) may carry the tag itself.
    own = by_arn[~by_arn.index.isin(resources["resource_arn"])]
    if len(own):
        todo = np.flatnonzero(codes == 0)
        if len(todo):
            idx = _index_in(
                pd.Series(_take(rp["recovery_point_arn"], todo), dtype="str"),
                pd.Series(own.index, dtype="str"),
            )
            hit = idx >= 0
            codes[todo[hit]] = own.to_numpy()[idx[hit]]
    return labels, codes


def _ddb_managed(inventory) -> set[tuple[str, str]]:
    rs = inventory["region_settings"]
    if not len(rs):
        return set()
    mask = (rs["service"].astype("str").str.lower() == "dynamodb") & rs["full_management"].fillna(
        False
    ).astype(bool)
    return set(zip(rs.loc[mask, "account_id"], rs.loc[mask, "region"]))


def _rds_allowance(resources: pd.DataFrame) -> dict[tuple[str, str, str], float]:
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


def _collected_pairs(inventory, rp_pairs) -> set[tuple[str, str]]:
    """(account, region) pairs the inventory covers: the manifest's, and those with any data."""
    manifest = inventory.manifest or {}
    accounts, regions = manifest.get("accounts") or [], manifest.get("regions") or []
    pairs = {(a, r) for a in accounts for r in regions}
    pairs.update(rp_pairs)
    df = inventory.resources
    if len(df):
        pairs.update(map(tuple, df[["account_id", "region"]].drop_duplicates().to_numpy()))
    return pairs


def _orphans(
    inventory, rp, valid, res_idx, key3, cls3, full_price, df, rp_pairs, warnings, stored
) -> pd.DataFrame:
    """Backups whose source resource is not in the inventory though its account and region were
    collected (and listing that resource type did not fail there), with their monthly cost.

    `size_gb` is the backup's listed size; `stored_gb` what it is taken to hold (`stored`, bytes per
    backup: an orphaned chain is one full copy plus increments, like any chain), which the monthly
    cost is for."""
    columns = [
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
    cand = np.flatnonzero(valid & (res_idx < 0))
    if not len(cand):
        return pd.DataFrame(columns=columns)
    arn = _take(rp["resource_arn"], cand).cast(pa.string())
    present = pc.is_valid(arn).to_numpy(zero_copy_only=False)
    cand, arn = cand[present], arn.filter(pa.array(present))
    if not len(cand):
        return pd.DataFrame(columns=columns)
    parsed = pc.extract_regex(arn, r"^arn:[^:]*:[^:]*:(?P<region>[^:]*):(?P<account>[^:]*):")
    src_region = pc.fill_null(pc.struct_field(parsed, "region"), "")
    src_acct = pc.fill_null(pc.struct_field(parsed, "account"), "")
    pair = pc.binary_join_element_wise(src_acct, src_region, "|")
    # A source in an account/region that was not collected may well exist: not an orphan.
    pairs = pa.array(
        sorted(f"{a}|{r}" for a, r in _collected_pairs(inventory, rp_pairs)), type=pa.string()
    )
    keep = pc.is_in(pair.cast(pa.string()), value_set=pairs).to_numpy(zero_copy_only=False)
    # Nor one whose resource listing failed there.
    errors = inventory.errors
    if len(errors):
        failed = set()
        for e in errors.itertuples(index=False):
            for t in str(e.affects or "*").split(","):
                failed.add(f"{e.account_id}|{e.region}|{t.strip()}")
        rtype = pc.fill_null(_take(rp["resource_type"], cand).cast(pa.string()), "")
        failed_set = pa.array(sorted(failed), type=pa.string())
        hit = pc.or_(
            pc.is_in(
                pc.binary_join_element_wise(pair, rtype, "|").cast(pa.string()),
                value_set=failed_set,
            ),
            pc.is_in(
                pc.binary_join_element_wise(pair, "*", "|").cast(pa.string()), value_set=failed_set
            ),
        ).to_numpy(zero_copy_only=False)
        uncertain = keep & hit
        if uncertain.any():
            warnings.append(
                f"{int(uncertain.sum())} backup(s) whose source could not be listed (collection errors) not reported as orphaned"
            )
        keep &= ~hit
    idx = cand[keep]
    if not len(idx):
        return pd.DataFrame(columns=columns)
    k, c = key3[idx] // 3, cls3[idx]
    price = full_price[k * 3 + c]
    # service and owner per (group, class): a cold DynamoDB backup is billed by AWS Backup
    service_of = np.empty(len(full_price), dtype=object)
    owner_of = np.empty(len(full_price), dtype=object)
    rk3 = df["_key"].to_numpy(dtype=np.int64) * 3 + df["_class"].to_numpy(dtype=np.int64)
    service_of[rk3] = df["service"].to_numpy()
    owner_of[rk3] = df["billing_owner"].to_numpy()
    size_gb = rp["size_bytes"].iloc[idx].to_numpy(dtype="float64", na_value=0.0) / GIB
    stored_gb = stored[idx] / GIB
    sub = {
        name: pd.Series(_take(rp[name], idx), dtype="str")
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
            **{
                name: sub[name]
                for name in (
                    "recovery_point_arn",
                    "resource_arn",
                    "resource_type",
                    "account_id",
                    "region",
                )
            },
            "service": service_of[k * 3 + c],
            "billing_owner": owner_of[k * 3 + c],
            "storage_class": np.array(CLASSES)[c],
            "size_gb": np.round(size_gb, 6),
            "stored_gb": np.round(stored_gb, 6),
            "size_basis": sub["size_basis"],
            "created_at": rp["created_at"].iloc[idx].reset_index(drop=True),
            "monthly_cost_usd": np.round(stored_gb * price, 2),
        }
    )
    # Costliest first; ties keep inventory order (deterministic, and no string sort of many ARNs).
    return out.sort_values(
        "monthly_cost_usd", ascending=False, na_position="last", kind="stable"
    ).reset_index(drop=True)


# ---------------------------------------------------------------------------------------------
# CUR reconciliation


def cur_backup_storage(cur: pd.DataFrame) -> pd.DataFrame:
    """The CUR's backup-storage usage lines, with `service` and `metered_by` (AWS Backup or native)."""
    ut = cur["usage_type"].astype("str").fillna("")
    service = ut.map(_CUR_SERVICE)
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


def _reconcile(
    rows: pd.DataFrame, cur: pd.DataFrame, as_of: datetime, inventory, warnings: list[str]
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


# ---------------------------------------------------------------------------------------------
# Command


def run_meter(
    inventories: Sequence[str | Path],
    out: str | Path,
    as_of: datetime,
    prices_path: str | Path | None = None,
    cur_path: str | Path | None = None,
    by_tags: Sequence[str] = (),
) -> MeteringResult:
    """`auditor meter`: read the inventory (and CUR), meter, write metering.json/.csv into `out`."""
    from auditor.cur import read_cur
    from auditor.inventory import read_inventory

    prices = load_prices(prices_path)
    cur = read_cur(cur_path) if cur_path is not None else None
    inventory = read_inventory(*inventories)
    result = meter(inventory, prices, as_of, by_tags=by_tags, cur=cur)
    write_metering(result, out)
    return result


def summary_table(result: MeteringResult):
    """A short rich table for the terminal: the split by service, billing owner and storage class."""
    from rich.table import Table

    title = f"Backup storage {result.period_start:%Y-%m} (estimate for the month, USD)"
    table = Table(title=title)
    for name, justify in (
        ("service", "left"),
        ("billed by", "left"),
        ("class", "left"),
        ("backups", "right"),
        ("GB-months", "right"),
        ("USD", "right"),
    ):
        table.add_column(name, justify=justify)
    frame = result.frame
    if len(frame):
        frame = frame.assign(_usd=frame["estimated_cost_usd"].fillna(0.0))
        grouped = frame.groupby(["service", "billing_owner", "storage_class"], sort=True).agg(
            backups=("backups", "sum"),
            gb=("gb_months", "sum"),
            usd=("_usd", "sum"),
            unpriced=("unpriced", "any"),
        )
        for (service, owner, cls), r in grouped.iterrows():
            usd = f"{r.usd:,.2f}" + (" + unpriced" if r.unpriced else "")
            table.add_row(service, owner, cls, f"{int(r.backups):,}", f"{r.gb:,.2f}", usd)
    t = result.totals
    table.add_section()
    table.add_row("AWS Backup-metered", "", "", "", "", f"{t['backup_metered_cost_usd']:,.2f}")
    table.add_row("native-service billed", "", "", "", "", f"{t['native_cost_usd']:,.2f}")
    table.add_row(
        "total",
        "",
        "",
        f"{t['backups']:,}",
        f"{t['gb_months']:,.2f}",
        f"{t['estimated_cost_usd']:,.2f}",
        style="bold",
    )
    if t.get("upper_bound_gb_months", 0) > t["gb_months"] + 1e-6:
        # incremental chains were estimated: show the other end of the range
        table.add_row(
            "if no block were shared",
            "",
            "",
            "",
            f"{t['upper_bound_gb_months']:,.2f}",
            f"{t.get('upper_bound_cost_usd', 0):,.2f}",
        )
    if "billed_usd" in t:
        table.add_row("billed (CUR)", "", "", "", "", f"{t['billed_usd']:,.2f}")
    return table


__all__ = [
    "BACKUP_TYPES",
    "USAGE_TYPES",
    "MeteringResult",
    "PriceTable",
    "cur_backup_storage",
    "load_prices",
    "meter",
    "month_bounds",
    "run_meter",
    "summary_table",
    "write_metering",
]
