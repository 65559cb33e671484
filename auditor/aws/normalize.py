"""Turn collectors' records into the inventory's declared tables (vectorised Arrow and pandas).

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
import pyarrow.compute as pc

from auditor import catalog
from auditor.aws.ec2_native import FOLDED, apply_lifecycle_policies, fold_image_snapshots
from auditor.aws.pieces import piece, piece_schema, plain, replaced
from auditor.inventory import (
    SCHEMAS,
    TABLES,
    _types_mapper,
    empty_frame,
    frame,
    table_arrow,
)
from auditor.memory import release_free_memory

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

# A recovery point ARN without its account field (and what replaces it), so EC2's and Backup's
# forms of one snapshot match; RE2 (Arrow) and Python's re read it alike.
_MERGE_KEY_RE, _MERGE_KEY_TO = r"^(arn:[^:]*:[^:]*:[^:]*):[^:]*:", r"\1::"

# Columns of a merged recovery point taken from the native listing first (else from Backup).
_NATIVE_FIRST = ("backup_type", "storage_class", "copy_source_arn")


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


def merge_key(arns: pd.Series) -> pd.Series:
    """The ARN without its account field, so EC2's and Backup's forms of one snapshot match."""
    return arns.astype("str").str.replace(_MERGE_KEY_RE, _MERGE_KEY_TO, regex=True)


def attribute_gateway_snapshots(
    columns: dict[str, pa.ChunkedArray], resources: pd.DataFrame
) -> None:
    """Give EBS snapshots of Storage Gateway volumes to their volume.

    EC2 shows such a snapshot with `VolumeId` = the gateway volume's id in lower case (gateway ids
    are upper case), and no EBS volume of that id exists. `columns` are the listed recovery
    points' (Arrow); the columns this changes are replaced in it.
    """
    if resources.empty or not len(columns["recovery_point_arn"]):
        return
    vols = resources.loc[
        resources["resource_type"] == "storagegateway-volume",
        ["account_id", "region", "resource_id", "resource_arn"],
    ].dropna()
    if vols.empty:
        return
    lookup = pd.Series(
        vols["resource_arn"].to_numpy(),
        index=vols["account_id"].astype(str)
        + "|"
        + vols["region"].astype(str)
        + "|"
        + vols["resource_id"].str.lower(),
    )
    lookup = lookup[~lookup.index.duplicated()]  # the first volume of a key, as a map gives
    # Only EC2's snapshot rows name a volume: keys are made for those, not for every backup.
    named = pc.is_valid(columns["_native_volume_id"])
    rows = np.flatnonzero(named.to_numpy(zero_copy_only=False))
    if not len(rows):
        return
    key = pc.binary_join_element_wise(
        plain(pc.filter(columns["account_id"], named)),
        plain(pc.filter(columns["region"], named)),
        pc.utf8_lower(plain(pc.filter(columns["_native_volume_id"], named))),
        "|",
    )
    found = pc.index_in(key, value_set=pa.array(lookup.index.to_numpy(), type=pa.string()))
    del key, named
    at = np.full(len(columns["recovery_point_arn"]), -1, dtype=np.int32)
    at[rows] = pc.fill_null(found, -1).to_numpy(zero_copy_only=False)
    gateway_arn = pc.take(pa.array(lookup.to_numpy(), type=pa.string()), pa.array(at, mask=at < 0))
    hit = pc.and_(
        pc.is_valid(gateway_arn),
        pc.fill_null(pc.equal(columns["backup_type"], "ebs-snapshot"), False),
    )
    if not pc.any(hit).as_py():
        return
    user = pc.and_(hit, pc.fill_null(pc.equal(columns["created_by"], "user"), False))
    for name, mask, value in (
        ("resource_arn", hit, gateway_arn),
        ("resource_type", hit, pa.scalar("storagegateway-volume")),
        ("backup_type", hit, pa.scalar("storagegateway-snapshot")),
        ("created_by", user, pa.scalar("storage-gateway")),
    ):
        columns[name] = replaced(columns[name], mask, value)


def _matches(strings: Any, patterns: Sequence[tuple[str, str]]) -> Any:
    """The value of the first of `patterns` (regex, value) each string matches, else null."""
    picked = pa.nulls(len(strings), type=pa.string())
    for regex, value in reversed(patterns):  # the first pattern that matches decides
        picked = pc.if_else(pc.match_substring_regex(strings, regex), pa.scalar(value), picked)
    return picked


def _arrow_resource_types(arns: Any, fallback: Any) -> Any:
    """`resource_type_from_arn` over Arrow strings: the catalogue's type by ARN, else the
    lower-cased fallback (AWS Backup's ResourceType), empty ones null."""
    arns = pc.fill_null(plain(arns), "")
    fallback = plain(fallback)
    picked = _matches(arns, _TYPE_PATTERNS)
    for service, (regex, type_id) in _SHARED_SHAPE_TYPES.items():
        named = pc.fill_null(pc.equal(fallback, service), False)
        shaped = pc.match_substring_regex(arns, regex)
        picked = pc.if_else(pc.and_(named, shaped), pa.scalar(type_id), picked)
    other = pc.replace_substring(pc.utf8_lower(fallback), " ", "-")
    other = pc.if_else(pc.equal(other, ""), pa.scalar(None, pa.string()), other)
    return pc.coalesce(picked, other)


def _arrow_backup_types(arns: Any, resource_types: Any) -> Any:
    """The backup type of recovery points (Arrow strings): the catalogue's kind by ARN, else the
    kind the catalogue gives their source's resource type (`<type>-backup` by default)."""
    picked = _matches(pc.fill_null(plain(arns), ""), _BACKUP_TYPE_PATTERNS)
    # A kind whose ARN shape another kind shares, told apart by its resource's type (a DocumentDB
    # cluster snapshot has an RDS cluster snapshot ARN).
    for (shape_kind, type_id), kind in _SHARED_SHAPE_KINDS.items():
        named = pc.fill_null(pc.equal(resource_types, type_id), False)
        shaped = pc.fill_null(pc.equal(picked, shape_kind), False)
        picked = pc.if_else(pc.and_(shaped, named), pa.scalar(kind), picked)
    kinds = pa.array(list(_GENERIC_BACKUP_TYPE), type=pa.string())
    generic = pc.coalesce(
        pc.take(
            pa.array(list(_GENERIC_BACKUP_TYPE.values()), type=pa.string()),
            pc.index_in(resource_types, value_set=kinds),
        ),
        pc.binary_join_element_wise(resource_types, pa.scalar("-backup"), ""),
    )
    return pc.coalesce(picked, generic)


def _fill_backup_types(kinds: Any, arns: Any, resource_types: Any) -> Any:
    """`kinds` with each null one guessed by `_arrow_backup_types` from its row's ARN and
    resource type."""
    if not kinds.null_count:
        return kinds
    # A row listed natively has its kind already: the patterns run on the others only.
    missing = pc.is_null(kinds)
    guessed = _arrow_backup_types(pc.filter(arns, missing), pc.filter(resource_types, missing))
    hole = missing.to_numpy(zero_copy_only=False)
    at = pa.array(np.cumsum(hole) - 1, mask=~hole)  # each null's place among the nulls
    return pc.coalesce(kinds, pc.take(guessed, at))


def _arrow_merge_key(arns: Any) -> Any:
    """`merge_key` over Arrow strings."""
    return pc.replace_substring_regex(plain(arns), _MERGE_KEY_RE, _MERGE_KEY_TO, max_replacements=1)


@dataclass
class _Sides:
    """AWS Backup's and the native listings' rows of each recovery point, as positions.

    `columns` are every listed row's (Arrow, strings dictionary-encoded as collected); `backup`
    and `native` give, per merged row, the position in them of its Backup row and of its native
    row (null: none). Only these positions are made, not a copy of each side's columns: a column
    is taken from the listed ones when the merged one is made, and dropped then, so the listed
    rows shrink as the merged rows grow.
    """

    columns: dict[str, Any]
    backup: pa.Array
    native: pa.Array
    # AWS Backup's rows' resource types (from their ARN, else Backup's ResourceType), per row
    backup_types: Any

    @classmethod
    def of(cls, columns: dict[str, Any]) -> _Sides:
        """Pair each recovery point's rows (one per side at most, the first listed)."""
        # Within one account only: RDS snapshot names (and so ARNs without their account)
        # repeat across accounts, and must not be merged into one backup.
        key = pc.binary_join_element_wise(
            plain(columns["account_id"]), _arrow_merge_key(columns["recovery_point_arn"]), "|"
        )
        # Keys as integers in the order of the keys themselves (byte order of UTF-8 is code
        # point order, as Python sorts): the merged rows are in key order.
        ranks = pc.rank(key, sort_keys="ascending", tiebreaker="dense")
        codes = ranks.to_numpy().astype(np.int64) - 1
        del key, ranks
        is_backup = pc.fill_null(pc.equal(columns["_origin"], "backup"), False)
        is_backup = is_backup.to_numpy(zero_copy_only=False)
        kept = ~columns[FOLDED].to_numpy(zero_copy_only=False).astype(bool)
        firsts = []
        for mask in (is_backup & kept, ~is_backup & kept):
            rows = np.flatnonzero(mask)
            first = np.full(codes.max(initial=-1) + 1, -1, dtype=np.int64)
            listed_codes, first_at = np.unique(codes[rows], return_index=True)  # first row per key
            first[listed_codes] = rows[first_at]
            firsts.append(first)
        del codes
        merged = (firsts[0] >= 0) | (firsts[1] >= 0)
        backup, native = firsts[0][merged], firsts[1][merged]
        at_backup = pa.array(backup, mask=backup < 0)
        types = _arrow_resource_types(
            pc.take(columns["resource_arn"], at_backup),
            pc.take(columns["_backup_resource_type"], at_backup),
        )
        return cls(columns, at_backup, pa.array(native, mask=native < 0), types)

    def column(self, name: str, side: str) -> Any:
        """Column `name` of the merged rows' Backup ("b") or native ("n") side; missing: null."""
        if name == "resource_type" and side == "b":
            return self.backup_types
        listed = self.columns[name]
        if isinstance(listed, pa.ChunkedArray) and listed.num_chunks > 1:
            # taken for both sides, and a take concatenates the chunks first: concatenated once
            listed = self.columns[name] = listed.combine_chunks()
        return plain(pc.take(listed, self.backup if side == "b" else self.native))

    def forget(self, name: str) -> None:
        """Drop listed column `name` (taken for both sides already)."""
        self.columns.pop(name, None)


def _copy_lookup(copy_sources: pd.Series | None) -> tuple[pa.Array, pa.Array] | None:
    """Copy jobs' sources by the merge key of their copy, as Arrow (keys, sources)."""
    if copy_sources is None or not len(copy_sources):
        return None
    return (
        pa.array(copy_sources.index.to_numpy(), type=pa.string()),
        pa.array(copy_sources.to_numpy(), type=pa.string()),
    )


def _merge_listed(
    columns: dict[str, Any], copy_sources: tuple[pa.Array, pa.Array] | None
) -> pa.Table:
    """Merge the listed rows (`columns`, emptied as each is taken) into the inventory's recovery
    points, an Arrow table of the declared schema."""
    schema = SCHEMAS["recovery_points"]
    sides = _Sides.of(columns)
    no_native_row = pc.is_null(sides.native)
    out: dict[str, Any] = {}
    for col in schema.names:
        if col in ("size_bytes", "size_basis"):
            continue
        b, n = sides.column(col, "b"), sides.column(col, "n")
        sides.forget(col)
        first, second = (n, b) if col in _NATIVE_FIRST else (b, n)
        out[col] = pc.coalesce(first, second)
        del b, n, first, second
    # Size: an exact native figure, else Backup's BackupSizeInBytes, else the native upper bound.
    exact = pc.fill_null(sides.column("_size_exact", "n"), False)
    size_b, size_n = sides.column("size_bytes", "b"), sides.column("size_bytes", "n")
    basis_b, basis_n = sides.column("size_basis", "b"), sides.column("size_basis", "n")
    del sides
    columns.clear()  # every column needed is taken
    use_native = pc.or_(exact, pc.is_null(size_b))
    # Native sizes win only where they exist at all.
    native = pc.and_(use_native, pc.is_valid(size_n))
    out["size_bytes"] = pc.if_else(native, size_n, size_b)
    out["size_basis"] = pc.if_else(native, basis_n, basis_b)
    del size_b, size_n, basis_b, basis_n

    kind = _fill_backup_types(out["backup_type"], out["recovery_point_arn"], out["resource_type"])
    # Backup's copy of an EBS snapshot whose source is a gateway volume.
    sgw = pc.and_(
        pc.fill_null(pc.equal(kind, "ebs-snapshot"), False),
        pc.fill_null(pc.equal(out["resource_type"], "storagegateway-volume"), False),
    )
    out["backup_type"] = pc.if_else(sgw, pa.scalar("storagegateway-snapshot"), kind)
    del kind, sgw
    # A Backup-only row (its native listing failed or does not exist) of a native snapshot type.
    cold = pc.and_(pc.fill_null(pc.equal(out["storage_class"], "cold"), False), no_native_row)
    native_cold = pc.take(
        pa.array(list(_COLD_AS.values()), type=pa.string()),
        pc.index_in(out["backup_type"], value_set=pa.array(list(_COLD_AS), type=pa.string())),
    )
    dynamodb = pc.match_substring(out["recovery_point_arn"], ":dynamodb:")
    native_cold = pc.if_else(dynamodb, pa.scalar("warm"), native_cold)
    fix = pc.and_(cold, pc.is_valid(native_cold))
    storage = pc.if_else(fix, native_cold, out["storage_class"])
    out["storage_class"] = pc.fill_null(storage, "warm")
    del cold, native_cold, dynamodb, fix, storage
    if copy_sources is not None:
        keys, sources = copy_sources
        at = pc.index_in(_arrow_merge_key(out["recovery_point_arn"]), value_set=keys)
        out["copy_source_arn"] = pc.coalesce(out["copy_source_arn"], pc.take(sources, at))
    return pa.Table.from_arrays([_declared(out.pop(f.name), f.type) for f in schema], schema=schema)


def _declared(column: Any, typ: pa.DataType) -> pa.Array:
    """One merged column as one array of its declared type."""
    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks()
    return column.cast(typ) if column.type != typ else column


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


def build_arrow_tables(
    records: MutableMapping[str, Any], consume: bool = False
) -> dict[str, pa.Table]:
    """Every inventory table from the collected records, as Arrow tables of the declared schemas
    (no pandas metadata): per table, a list of records or of pieces (`auditor.aws.pieces`, what a
    collection keeps). With `consume` they are taken out of `records`, so each table's pieces are
    freed as soon as it is built.

    The recovery points, most of the rows, are merged from their pieces in Arrow: the listed
    rows stay dictionary-encoded as collected, and only the merged rows are made whole columns.
    """
    names = list(records)
    pieces = {
        name: _as_pieces(name, records.pop(name) if consume else records[name]) for name in names
    }
    frames: dict[str, pd.DataFrame] = {}
    for name in ("resources", "tags", "lifecycle_policies"):
        frames[name] = _frame_of_pieces(name, pieces.pop(name, []))
    resources = frames["resources"].drop_duplicates("resource_arn", ignore_index=True)
    tags = frames["tags"].drop_duplicates(["account_id", "arn", "key"], ignore_index=True)
    changed = apply_lifecycle_policies(resources, tags, frames["lifecycle_policies"])
    if changed is not resources:
        resources = frame("resources", changed)
    tables: dict[str, pa.Table] = {
        "resources": _arrow("resources", resources),
        "tags": _arrow("tags", tags),
        "lifecycle_policies": _arrow("lifecycle_policies", frames.pop("lifecycle_policies")),
    }
    del frames, tags, changed
    for name in TABLES:
        if name not in tables and name not in ("recovery_points", "backup_jobs"):
            tables[name] = _arrow(name, _frame_of_pieces(name, pieces.pop(name, [])))
    release_free_memory()  # the frames made on the way are gone: the merge grows into their pages

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
    tables["backup_jobs"] = _arrow(
        "backup_jobs", frame("backup_jobs", jobs) if not jobs.empty else empty_frame("backup_jobs")
    )
    del jobs

    listed = pieces.pop("recovery_points", [])
    if not sum(len(p) for p in listed):
        tables["recovery_points"] = SCHEMAS["recovery_points"].empty_table()
        return tables
    whole = pa.concat_tables(listed)  # the pieces' columns, not copied
    listed.clear()
    columns = {name: whole[name] for name in whole.column_names}
    del whole
    attribute_gateway_snapshots(columns, resources)
    del resources
    fold_image_snapshots(columns)
    tables["recovery_points"] = _merge_listed(columns, _copy_lookup(copy_sources))
    return tables


def _arrow(table: str, df: pd.DataFrame) -> pa.Table:
    """`table_arrow` without the pandas metadata (added when the table is written)."""
    return table_arrow(table, df).replace_schema_metadata(None)


def build_tables(
    records: MutableMapping[str, Any], consume: bool = False
) -> dict[str, pd.DataFrame]:
    """`build_arrow_tables` as pandas frames (as `auditor.inventory.frame` makes them)."""
    return {
        name: table.to_pandas(types_mapper=_types_mapper)
        for name, table in build_arrow_tables(records, consume).items()
    }
