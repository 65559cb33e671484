"""Turn collectors' records into the inventory's declared tables (vectorised pandas).

The one subtle rule: a native snapshot that AWS Backup created is listed twice — by its service
(EC2, RDS, DynamoDB) and in a Backup vault — under the same recovery point ARN (EC2's copy in
Backup omits the account field: `arn:aws:ec2:us-east-1::snapshot/snap-...`). Both become ONE row:
Backup's view for ownership, vault, plan, lifecycle, status and encryption; the native view for
the backup type, the storage tier and an exact size.
"""

from __future__ import annotations

from collections.abc import Mapping, MutableMapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

import numpy as np
import pandas as pd
import pyarrow as pa

from auditor import catalog
from auditor.aws.ec2_native import FOLDED, apply_lifecycle_policies, fold_image_snapshots
from auditor.aws.pieces import piece, piece_schema
from auditor.inventory import (
    SCHEMAS,
    TABLES,
    _types_mapper,
    empty_frame,
    frame,
    frame_by_column,
)

# Regexes over a resource ARN, in order, giving the inventory's resource_type (from the catalogue).
_TYPE_PATTERNS = catalog.arn_type_patterns()
# Backup type by recovery point ARN (the resource type decides for generic Backup ARNs).
_BACKUP_TYPE_PATTERNS = catalog.backup_kind_patterns()
_GENERIC_BACKUP_TYPE = catalog.recovery_point_kinds()
# Types and kinds whose ARN shape is another's (DocumentDB and Neptune clusters and snapshots).
_SHARED_SHAPE_TYPES = catalog.shared_shape_types()
_SHARED_SHAPE_KINDS = catalog.shared_shape_kinds()

# What AWS Backup's "cold" means for a recovery point held as a native snapshot: EBS's cold tier is
# the snapshot archive tier; RDS, Aurora, Storage Gateway and non-advanced DynamoDB backups have no
# cold storage (AWS Backup ignores the cold transition for them).
_COLD_AS = catalog.cold_storage_as()

# Columns of a merged recovery point taken from the native listing first (else from Backup).
_NATIVE_FIRST = ("backup_type", "storage_class", "copy_source_arn")


_TIMESTAMPS = {f.name for f in SCHEMAS["recovery_points"] if str(f.type).startswith("timestamp")}


def _utc(series: pd.Series) -> pd.Series:
    return pd.to_datetime(series, utc=True, format="ISO8601")


def resource_type_from_arn(arns: pd.Series, fallback: pd.Series | None = None) -> pd.Series:
    """Catalogue resource types for a Series of ARNs; else the lower-cased fallback (Backup's type)."""
    arns = arns.astype("str").fillna("")
    conditions = [arns.str.contains(p, regex=True).to_numpy(dtype=bool) for p, _ in _TYPE_PATTERNS]
    picked = pd.Series(
        np.select(conditions, [t for _, t in _TYPE_PATTERNS], default=""), index=arns.index
    )
    if fallback is not None:
        picked = _named_by_backup(picked, arns, fallback)
        other = fallback.astype("str").str.lower().str.replace(" ", "-", regex=False)
        picked = picked.where(picked != "", other)
    return picked.replace("", None)


def _named_by_backup(picked: pd.Series, arns: pd.Series, backup_types: pd.Series) -> pd.Series:
    """Types whose ARN shape another type shares, told apart by AWS Backup's ResourceType.

    A DocumentDB or Neptune cluster has an RDS cluster ARN; AWS Backup's listings name its service
    (ResourceType DocumentDB / Neptune), which then decides over the ARN's shape.
    """
    for service, (regex, type_id) in _SHARED_SHAPE_TYPES.items():
        named = (backup_types == service).fillna(False).to_numpy(dtype=bool)
        if named.any():
            shaped = arns.str.contains(regex, regex=True).to_numpy(dtype=bool)
            picked = picked.mask(named & shaped, type_id)
    return picked


def backup_type_from_arn(arns: pd.Series, resource_types: pd.Series) -> pd.Series:
    """The backup type of recovery points from their ARN and source resource type."""
    arns = arns.astype("str").fillna("")
    conditions = [
        arns.str.contains(p, regex=True).to_numpy(dtype=bool) for p, _ in _BACKUP_TYPE_PATTERNS
    ]
    picked = pd.Series(
        np.select(conditions, [t for _, t in _BACKUP_TYPE_PATTERNS], default=""), index=arns.index
    )
    sgw = (picked == "ebs-snapshot") & (resource_types == "storagegateway-volume").fillna(False)
    picked = picked.mask(sgw, "storagegateway-snapshot")
    # A kind whose ARN shape another kind shares, told apart by its resource's type (a DocumentDB
    # cluster snapshot has an RDS cluster snapshot ARN).
    for (shape_kind, type_id), kind in _SHARED_SHAPE_KINDS.items():
        picked = picked.mask(
            (picked == shape_kind) & (resource_types == type_id).fillna(False), kind
        )
    generic = resource_types.map(
        lambda t: _GENERIC_BACKUP_TYPE.get(t, f"{t}-backup") if isinstance(t, str) else None
    )
    return picked.where(picked != "", generic)


def merge_key(arns: pd.Series) -> pd.Series:
    """The ARN without its account field, so EC2's and Backup's forms of one snapshot match."""
    return arns.astype("str").str.replace(r"^(arn:[^:]*:[^:]*:[^:]*):[^:]*:", r"\1::", regex=True)


def attribute_gateway_snapshots(points: pd.DataFrame, resources: pd.DataFrame) -> pd.DataFrame:
    """Give EBS snapshots of Storage Gateway volumes to their volume.

    EC2 shows such a snapshot with `VolumeId` = the gateway volume's id in lower case (gateway ids
    are upper case), and no EBS volume of that id exists.
    """
    if points.empty or "_native_volume_id" not in points or resources.empty:
        return points
    vols = resources.loc[
        resources["resource_type"] == "storagegateway-volume",
        ["account_id", "region", "resource_id", "resource_arn"],
    ].dropna()
    if vols.empty:
        return points
    lookup = pd.Series(
        vols["resource_arn"].to_numpy(),
        index=vols["account_id"].astype(str)
        + "|"
        + vols["region"].astype(str)
        + "|"
        + vols["resource_id"].str.lower(),
    )
    lookup = lookup[~lookup.index.duplicated()]
    # Keys only for the rows that name a volume (EC2's snapshots), not for every backup.
    named = points.loc[points["_native_volume_id"].notna().to_numpy(dtype=bool)]
    key = (
        named["account_id"].astype(str)
        + "|"
        + named["region"].astype(str)
        + "|"
        + named["_native_volume_id"].astype("str").str.lower()
    )
    gateway_arn = key.map(lookup).reindex(points.index)
    del named, key
    hit = gateway_arn.notna() & (points["backup_type"] == "ebs-snapshot").fillna(False)
    if not hit.any():
        return points
    points = points.copy(deep=False)  # copy-on-write: only the columns set below are copied
    points.loc[hit, "resource_arn"] = gateway_arn[hit]
    points.loc[hit, "resource_type"] = "storagegateway-volume"
    points.loc[hit, "backup_type"] = "storagegateway-snapshot"
    user = hit & (points["created_by"] == "user").fillna(False)
    points.loc[user, "created_by"] = "storage-gateway"
    return points


def _alike(first: pd.Series, second: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Two columns to fill one from the other: as they are when of one dtype (strings stay Arrow
    strings), else both as objects (a side with no rows at all can come back as float NaN;
    `frame()` retypes the result)."""
    if first.dtype == second.dtype:
        return first, second
    return first.astype(object), second.astype(object)


def merge_recovery_points(
    points: pd.DataFrame, copy_sources: pd.Series | None = None
) -> pd.DataFrame:
    """One row per recovery point: native and Backup listings of the same backup merged."""
    if points.empty:
        return empty_frame("recovery_points")
    return _merge_sides([points], copy_sources)


@dataclass
class _Sides:
    """AWS Backup's and the native listings' rows of each recovery point, as positions.

    `points` is every listed row; `backup` and `native` give, per merged row, the position in
    `points` of its Backup row and of its native row (-1: none). Only these positions are made,
    not a copy of each side's columns: a column is taken from `points` when the merged one is
    made, so the listings, both sides and the merged rows are never all held at once.
    """

    points: pd.DataFrame
    backup: np.ndarray
    native: np.ndarray
    # AWS Backup's rows' resource types (from their ARN, else Backup's ResourceType), per row
    backup_types: pd.Series

    @classmethod
    def of(cls, points: pd.DataFrame) -> _Sides:
        """Pair each recovery point's rows (one per side at most, the first listed)."""
        # A shallow copy: the columns added below must not show in the caller's frame.
        points = points.copy(deep=False)
        for col in ("_origin", "_size_exact", "_backup_resource_type"):
            if col not in points:
                points[col] = None
        # Within one account only: RDS snapshot names (and so ARNs without their account)
        # repeat across accounts, and must not be merged into one backup.
        key = points["account_id"].astype("str") + "|" + merge_key(points["recovery_point_arn"])
        # Keys as integers in the order of the keys themselves: the merged rows are in key order,
        # as pandas' outer merge of the whole rows ordered them.
        codes, _ = pd.factorize(key, sort=True, use_na_sentinel=False)
        is_backup = (points["_origin"] == "backup").fillna(False).to_numpy(dtype=bool)
        kept = ~points[FOLDED].to_numpy(dtype=bool) if FOLDED in points else True
        firsts = []
        for mask in (is_backup & kept, ~is_backup & kept):
            rows = np.flatnonzero(mask)
            first = np.full(codes.max(initial=-1) + 1, -1, dtype=np.int64)
            listed_codes, first_at = np.unique(codes[rows], return_index=True)  # first row per key
            first[listed_codes] = rows[first_at]
            firsts.append(first)
        merged = (firsts[0] >= 0) | (firsts[1] >= 0)
        backup, native = firsts[0][merged], firsts[1][merged]
        listed = backup[backup >= 0]
        types = resource_type_from_arn(
            points["resource_arn"].iloc[listed].reset_index(drop=True),
            points["_backup_resource_type"].iloc[listed].reset_index(drop=True),
        )
        at = np.full(len(backup), -1, dtype=np.int64)
        at[backup >= 0] = np.arange(len(listed))
        return cls(points, backup, native, _taken(types, at))

    def column(self, name: str, side: str) -> pd.Series:
        """Column `name` of the merged rows' Backup ("b") or native ("n") side; missing: null."""
        if name == "resource_type" and side == "b":
            return self.backup_types
        positions = self.backup if side == "b" else self.native
        return _taken(self.points[name], positions)

    def forget(self, name: str) -> None:
        """Drop listed column `name` (taken for both sides already), so it is freed while the
        merged columns are made: the listed rows shrink as the merged rows grow."""
        if name in self.points:
            del self.points[name]


def _taken(column: pd.Series, positions: np.ndarray) -> pd.Series:
    """`column`'s values at `positions` (by position; -1 gives a null, as a merge fills)."""
    return pd.Series(pd.api.extensions.take(column.array, positions, allow_fill=True))


def _merge_sides(listed: list[pd.DataFrame], copy_sources: pd.Series | None) -> pd.DataFrame:
    """Merge the listed rows (`listed`'s one frame, taken out of the list so that it is freed
    once every column needed is taken) into the inventory's recovery points."""
    sides = _Sides.of(listed.pop())
    cols = list(SCHEMAS["recovery_points"].names)
    no_native_row = pd.Series(sides.native < 0)
    out = pd.DataFrame(index=no_native_row.index)
    for col in cols:
        if col in ("size_bytes", "size_basis"):
            continue
        b, n = sides.column(col, "b"), sides.column(col, "n")
        sides.forget(col)
        first, second = (n, b) if col in _NATIVE_FIRST else (b, n)
        if col in _TIMESTAMPS:
            first, second = _utc(first), _utc(second)
        else:
            first, second = _alike(first, second)
        out[col] = first.where(first.notna(), second)
        del b, n, first, second
    # Size: an exact native figure, else Backup's BackupSizeInBytes, else the native upper bound.
    exact = sides.column("_size_exact", "n").astype("boolean").fillna(False).astype(bool)
    size_b, size_n = sides.column("size_bytes", "b"), sides.column("size_bytes", "n")
    basis_b, basis_n = sides.column("size_basis", "b"), sides.column("size_basis", "n")
    del sides  # every column needed is taken: the listed rows can go once the caller drops them
    has_b = size_b.notna()
    use_native = exact | ~has_b
    native_size, backup_size = _alike(size_n, size_b)
    out["size_bytes"] = native_size.where(use_native, backup_size)
    native_basis, backup_basis = _alike(basis_n, basis_b)
    out["size_basis"] = native_basis.where(use_native, backup_basis)
    # Native sizes win only where they exist at all.
    no_native = use_native & size_n.isna()
    out.loc[no_native, "size_bytes"] = size_b[no_native]
    out.loc[no_native, "size_basis"] = basis_b[no_native]

    missing = out["backup_type"].isna()
    if missing.any():
        out.loc[missing, "backup_type"] = backup_type_from_arn(
            out.loc[missing, "recovery_point_arn"], out.loc[missing, "resource_type"]
        )
    # Backup's copy of an EBS snapshot whose source is a gateway volume.
    sgw = (out["backup_type"] == "ebs-snapshot") & (out["resource_type"] == "storagegateway-volume")
    out.loc[sgw, "backup_type"] = "storagegateway-snapshot"
    # A Backup-only row (its native listing failed or does not exist) of a native snapshot type.
    cold = (out["storage_class"] == "cold").fillna(False) & no_native_row
    native_cold = out["backup_type"].map(_COLD_AS)
    native_cold = native_cold.mask(
        out["recovery_point_arn"].astype("str").str.contains(":dynamodb:", regex=False), "warm"
    )
    fix = cold & native_cold.notna()
    out.loc[fix, "storage_class"] = native_cold[fix]
    storage = out["storage_class"].astype(object)
    out["storage_class"] = storage.where(storage.notna(), "warm")
    if copy_sources is not None and len(copy_sources):
        from_jobs = merge_key(out["recovery_point_arn"]).map(copy_sources)
        out["copy_source_arn"] = out["copy_source_arn"].where(
            out["copy_source_arn"].notna(), from_jobs
        )
    columns = {col: out.pop(col) for col in cols}
    del out
    return frame_by_column("recovery_points", columns)


def _frame_of_pieces(table: str, pieces: list[pa.Table], helpers: bool = False) -> pd.DataFrame:
    """One table from its pieces: the declared columns (and the helper ones, with `helpers`).

    Column by column, so only one column is ever held both as Arrow and as pandas.
    """
    arrow = pa.concat_tables(pieces) if pieces else piece_schema(table).empty_table()
    names = list(arrow.column_names) if helpers else list(SCHEMAS[table].names)
    if not len(arrow) and not helpers:
        return empty_frame(table)
    columns: dict[str, pd.Series] = {}
    for name in names:
        column = arrow[name]
        if pa.types.is_dictionary(column.type):
            column = column.cast(column.type.value_type)
        one = pa.table({name: column.combine_chunks()})  # a table converts as whole tables do
        columns[name] = one.to_pandas(types_mapper=_types_mapper)[name]
    return pd.DataFrame(columns, columns=names)


def _as_pieces(
    table: str, rows: Sequence[Mapping[str, Any]] | Sequence[pa.Table]
) -> list[pa.Table]:
    """A table's pieces, from pieces or from plain records (made one piece)."""
    if not rows:
        return []
    if all(isinstance(r, pa.Table) for r in rows):
        return [r for r in rows if isinstance(r, pa.Table)]
    return [piece(table, cast("Sequence[Mapping[str, Any]]", rows))]


def build_tables(
    records: MutableMapping[str, Any], consume: bool = False
) -> dict[str, pd.DataFrame]:
    """Every inventory table from the collected records: per table, a list of records or of
    pieces (`auditor.aws.pieces`, what a collection keeps). With `consume` they are taken out of
    `records`, so each table's pieces are freed as soon as it is built."""
    names = list(records)
    pieces = {
        name: _as_pieces(name, records.pop(name) if consume else records[name]) for name in names
    }
    tables: dict[str, pd.DataFrame] = {}
    for name in TABLES:
        if name in ("recovery_points", "backup_jobs"):
            continue
        tables[name] = _frame_of_pieces(name, pieces.pop(name, []))
    tables["resources"] = tables["resources"].drop_duplicates("resource_arn", ignore_index=True)
    tables["tags"] = tables["tags"].drop_duplicates(["account_id", "arn", "key"], ignore_index=True)
    resources = apply_lifecycle_policies(
        tables["resources"], tables["tags"], tables["lifecycle_policies"]
    )
    if resources is not tables["resources"]:
        tables["resources"] = frame("resources", resources)

    jobs = _frame_of_pieces("backup_jobs", pieces.pop("backup_jobs", []), helpers=True)
    copy_sources = None
    if not jobs.empty:
        src = jobs.dropna(subset=["_copy_source_arn", "recovery_point_arn"])
        copy_sources = pd.Series(
            src["_copy_source_arn"].to_numpy(),
            index=merge_key(src["recovery_point_arn"]).to_numpy(),
        )
        copy_sources = copy_sources[~copy_sources.index.duplicated()]
        fallback = jobs.get("_backup_resource_type")
        jobs["resource_type"] = resource_type_from_arn(jobs["resource_arn"], fallback)
        jobs = jobs.drop(columns=[c for c in jobs.columns if c.startswith("_")])
    tables["backup_jobs"] = (
        frame("backup_jobs", jobs) if not jobs.empty else empty_frame("backup_jobs")
    )
    del jobs

    points = _frame_of_pieces("recovery_points", pieces.pop("recovery_points", []), helpers=True)
    points = attribute_gateway_snapshots(points, tables["resources"])
    points = fold_image_snapshots(points)
    if points.empty:
        tables["recovery_points"] = empty_frame("recovery_points")
        return tables
    listed = [points]
    del points  # held by the list alone, so the merge can free it
    tables["recovery_points"] = _merge_sides(listed, copy_sources)
    return tables
