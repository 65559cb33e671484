"""Reading AWS Cost and Usage Reports (legacy CUR and CUR 2.0) into one normalised frame.

Accepted inputs (the format is detected from the file's bytes, not its name):
- legacy CUR CSV, plain, gzip or zip (`lineItem/UsageType`, `lineItem/ProductCode`, ...);
- CUR 2.0 (Data Exports) Parquet or CSV (`line_item_usage_type`, `line_item_product_code`, ...);
  legacy CUR delivered as Parquet uses the same underscore names and is read the same way;
- a folder of such files (a CUR delivery is often several parts): every `*.parquet`, `*.csv`,
  `*.csv.gz`, `*.gz` and `*.zip` file in it, recursively.

Column names are matched case-insensitively. Region prefixes are stripped from usage types
(`EUC1-EBS:SnapshotUsage` -> `EBS:SnapshotUsage`) and give the region when the report has no region
column or leaves it empty (a usage type without a prefix is us-east-1's, as AWS writes them).

No boto3 here: the report is a file the user already has.
"""

from __future__ import annotations

import gzip
import zipfile
import zlib
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from auditor.errors import InputError
from auditor.limits import MAX_CUR_FILE_BYTES, MAX_CUR_ROWS, check_file_size

# The normalised frame's columns, in order.
CUR_COLUMNS = (
    "account_id",
    "region",
    "product_code",
    "usage_type",  # region prefix stripped
    "usage_type_raw",
    "line_item_type",
    "usage_start",
    "usage_amount",  # for storage usage types: GB-months
    "unblended_cost",  # USD
)

# normalised name -> accepted source names (lower-case), legacy first.
_REQUIRED = {
    "account_id": ("lineitem/usageaccountid", "line_item_usage_account_id"),
    "product_code": ("lineitem/productcode", "line_item_product_code"),
    "usage_type": ("lineitem/usagetype", "line_item_usage_type"),
    "usage_amount": ("lineitem/usageamount", "line_item_usage_amount"),
    "unblended_cost": ("lineitem/unblendedcost", "line_item_unblended_cost"),
}
_OPTIONAL = {
    "region": ("product/regioncode", "product/region", "product_region_code", "product_region"),
    "line_item_type": ("lineitem/lineitemtype", "line_item_line_item_type"),
    "usage_start": ("lineitem/usagestartdate", "line_item_usage_start_date"),
}

# Usage-type region prefixes as they appear in AWS bills. `EU-` is the old eu-west-1 prefix.
REGION_PREFIXES = {
    "USE1": "us-east-1",
    "USE2": "us-east-2",
    "USW1": "us-west-1",
    "USW2": "us-west-2",
    "UGW1": "us-gov-west-1",
    "UGE1": "us-gov-east-1",
    "CAN1": "ca-central-1",
    "CAN2": "ca-west-1",
    "SAE1": "sa-east-1",
    "MXC1": "mx-central-1",
    "EU": "eu-west-1",
    "EUW1": "eu-west-1",
    "EUW2": "eu-west-2",
    "EUW3": "eu-west-3",
    "EUC1": "eu-central-1",
    "EUC2": "eu-central-2",
    "EUN1": "eu-north-1",
    "EUS1": "eu-south-1",
    "EUS2": "eu-south-2",
    "APN1": "ap-northeast-1",
    "APN2": "ap-northeast-2",
    "APN3": "ap-northeast-3",
    "APS1": "ap-southeast-1",
    "APS2": "ap-southeast-2",
    "APS3": "ap-south-1",
    "APS4": "ap-southeast-3",
    "APS5": "ap-south-2",
    "APS6": "ap-southeast-4",
    "APE1": "ap-east-1",
    "MES1": "me-south-1",
    "MEC1": "me-central-1",
    "AFS1": "af-south-1",
    "ILC1": "il-central-1",
    "CNN1": "cn-north-1",
    "CNW1": "cn-northwest-1",
}
_PARQUET_MAGIC = b"PAR1"
_GZIP_MAGIC = b"\x1f\x8b"
_ZIP_MAGIC = b"PK\x03\x04"


def strip_region_prefix(usage_types: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Split usage types into (usage type without region prefix, region the prefix names or null).

    A usage type with no prefix gets region `us-east-1` (AWS omits the prefix there for most
    services); an unknown prefix is stripped and gives a null region.
    """
    raw = usage_types.astype("str").fillna("")
    parts = raw.str.extract(r"^((?:[A-Z]{3,4}[0-9])|EU)-(.*)$")
    has = parts[0].notna()
    stripped = raw.where(~has, parts[1])
    region = parts[0].map(REGION_PREFIXES)
    region = region.where(has, "us-east-1")
    return stripped.astype("str"), region.astype("str")


def read_cur(path: str | Path) -> pd.DataFrame:
    """Read a Cost and Usage Report file or folder into a frame with exactly `CUR_COLUMNS`.

    Raises InputError (exit 2) naming the file for a missing file, an unknown format, a corrupt
    Parquet file, missing required columns or non-numeric amounts.
    """
    path = Path(path)
    if path.is_dir():
        files = sorted(
            p
            for p in path.rglob("*")
            if p.is_file() and (p.suffix.lower() in {".parquet", ".csv", ".gz", ".zip"})
        )
        if not files:
            raise InputError(
                f"{path}: no Cost and Usage Report files (*.parquet, *.csv, *.csv.gz, *.zip) in this folder"
            )
        frames = [_read_one(p) for p in files]
        return pd.concat(frames, ignore_index=True)
    return _read_one(path)


def _read_one(path: Path) -> pd.DataFrame:
    if not path.is_file():
        raise InputError(f"{path}: Cost and Usage Report not found")
    try:
        check_file_size(path, MAX_CUR_FILE_BYTES, "Cost and Usage Report file")
        with open(path, "rb") as handle:
            head = handle.read(4)
    except OSError as exc:
        raise InputError(
            f"{path}: cannot read Cost and Usage Report ({exc.strerror or exc})"
        ) from None
    if head == _PARQUET_MAGIC:
        raw = _read_parquet(path)
    elif head[:2] == _GZIP_MAGIC:
        raw = _read_csv(path, "gzip")
    elif head == _ZIP_MAGIC:
        raw = _read_csv(path, "zip")
    else:
        raw = _read_csv(path, None)
    return _normalise(raw, path)


def _wanted() -> set[str]:
    names: set[str] = set()
    for aliases in (*_REQUIRED.values(), *_OPTIONAL.values()):
        names.update(aliases)
    return names


def _read_parquet(path: Path) -> pd.DataFrame:
    try:
        pfile = pq.ParquetFile(path)
        if pfile.metadata.num_rows > MAX_CUR_ROWS:
            raise InputError(
                f"{path}: {pfile.metadata.num_rows} line items, over the {MAX_CUR_ROWS}-row limit"
                " (auditor.limits; split the report)"
            )
        names = pfile.schema_arrow.names
        keep = [n for n in names if n.lower() in _wanted()]
        table = pfile.read(columns=keep)
    except InputError:
        raise
    except Exception as exc:  # pyarrow raises several types for a damaged file
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise InputError(f"{path}: corrupt Parquet file ({first})") from None
    _check_columns(table.column_names, path, "Parquet")
    return table.to_pandas()


def _read_csv(path: Path, compression: str | None) -> pd.DataFrame:
    wanted = _wanted()
    try:
        if compression is None:
            with open(path, "rb") as handle:
                sample = handle.read(4096)
            if b"\x00" in sample:
                raise InputError(f"{path}: unknown format (not CSV, gzip, zip or Parquet)")
            try:
                sample.decode("utf-8")
            except UnicodeDecodeError as exc:
                if exc.start < len(sample) - 4:  # not merely a character cut at the sample's end
                    raise InputError(
                        f"{path}: unknown format (not CSV, gzip, zip or Parquet)"
                    ) from None
        header = pd.read_csv(path, nrows=0, compression=compression, encoding="utf-8-sig")
        _check_columns(list(header.columns), path, "CSV")
        # nrows bounds memory even for a small gzip that inflates without end
        frame = pd.read_csv(
            path,
            usecols=lambda c: c.lower() in wanted,
            dtype=str,
            keep_default_na=False,
            compression=compression,
            encoding="utf-8-sig",
            nrows=MAX_CUR_ROWS + 1,
        )
        if len(frame) > MAX_CUR_ROWS:
            raise InputError(
                f"{path}: more than {MAX_CUR_ROWS} line items, over the row limit (auditor.limits; split the report)"
            )
        return frame
    except InputError:
        raise
    except (
        pd.errors.ParserError,
        pd.errors.EmptyDataError,
        UnicodeDecodeError,
        OSError,
        EOFError,
        zipfile.BadZipFile,
        gzip.BadGzipFile,
        zlib.error,
        ValueError,
    ) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise InputError(f"{path}: cannot read as a Cost and Usage Report CSV ({first})") from None


def _check_columns(columns: list[str], path: Path, kind: str) -> None:
    lower = {c.lower() for c in columns}
    missing = [aliases[0] for aliases in _REQUIRED.values() if not lower.intersection(aliases)]
    if len(missing) == len(_REQUIRED):
        raise InputError(
            f"{path}: unknown format: a {kind} file without Cost and Usage Report columns "
            "(expected lineItem/UsageType or line_item_usage_type, ...)"
        )
    if missing:
        names = ", ".join(_display(m, columns) for m in missing)
        raise InputError(f"{path}: Cost and Usage Report lacks column(s) {names}")


def _display(alias: str, columns: list[str]) -> str:
    """Name a missing column in the style (legacy or 2.0) the file uses."""
    legacy = any("/" in c for c in columns)
    if legacy:
        return {
            "lineitem/usageaccountid": "lineItem/UsageAccountId",
            "lineitem/productcode": "lineItem/ProductCode",
            "lineitem/usagetype": "lineItem/UsageType",
            "lineitem/usageamount": "lineItem/UsageAmount",
            "lineitem/unblendedcost": "lineItem/UnblendedCost",
        }[alias]
    for aliases in _REQUIRED.values():
        if alias in aliases:
            return aliases[1]
    return alias


def _pick(raw: pd.DataFrame, aliases: tuple[str, ...]) -> pd.Series | None:
    by_lower = {c.lower(): c for c in raw.columns}
    for alias in aliases:
        if alias in by_lower:
            return raw[by_lower[alias]]
    return None


def _numeric(series: pd.Series, path: Path, name: str) -> pd.Series:
    if pd.api.types.is_numeric_dtype(series):  # Parquet: already numbers
        return series.astype("float64").fillna(0.0)
    text = series.astype("str").str.strip()
    text = text.where(text.ne("") & text.notna(), "0")
    values = pd.to_numeric(text, errors="coerce")
    bad = values.isna()
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0])
        raise InputError(
            f"{path}: column {name}: {series.iloc[row]!r} is not a number (data row {row + 1})"
        )
    return values.astype("float64")


def _normalise(raw: pd.DataFrame, path: Path) -> pd.DataFrame:
    n = len(raw)
    out: dict[str, pd.Series] = {}
    for name, aliases in _REQUIRED.items():
        col = _pick(raw, aliases)
        assert col is not None  # _check_columns rejected a file that lacks a required column
        if name in ("usage_amount", "unblended_cost"):
            out[name] = _numeric(col, path, col.name)
        else:
            out[name] = col.astype("str").str.strip()
    stripped, prefix_region = strip_region_prefix(out["usage_type"])
    out["usage_type_raw"] = out["usage_type"]
    out["usage_type"] = stripped
    region = _pick(raw, _OPTIONAL["region"])
    if region is None:
        out["region"] = prefix_region
    else:
        region = region.astype("str").str.strip()
        out["region"] = region.where(region.ne("") & region.notna(), prefix_region)
    item_type = _pick(raw, _OPTIONAL["line_item_type"])
    if item_type is not None:
        item_type = item_type.astype("str").str.strip()
        out["line_item_type"] = item_type.where(item_type.ne("") & item_type.notna(), None)
    else:
        out["line_item_type"] = pd.Series([None] * n, dtype="str")
    start = _pick(raw, _OPTIONAL["usage_start"])
    if start is None:
        out["usage_start"] = pd.Series(pd.NaT, index=range(n), dtype="datetime64[us, UTC]")
    else:
        if not pd.api.types.is_datetime64_any_dtype(start):
            start = start.astype("str").str.strip().replace("", None)
        out["usage_start"] = pd.to_datetime(
            start, utc=True, errors="coerce", format="ISO8601"
        ).dt.as_unit("us")
    frame = pd.DataFrame({c: out[c].reset_index(drop=True) for c in CUR_COLUMNS})
    return frame


def empty_cur() -> pd.DataFrame:
    """An empty normalised CUR frame (for callers that have no report)."""
    return _normalise(
        pd.DataFrame({aliases[1]: pd.Series([], dtype="str") for aliases in _REQUIRED.values()}),
        Path("-"),
    )


__all__ = ["CUR_COLUMNS", "REGION_PREFIXES", "empty_cur", "read_cur", "strip_region_prefix"]
