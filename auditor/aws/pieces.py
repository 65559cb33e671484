"""Collected records kept compact: a task's rows become Arrow columns as soon as the task ends.

A collector records plain dicts (`Context.add`); holding every one of them until the end of a
collection cost far more memory than the inventory they become (a Python dict and a string object
per cell). So each finished task's rows are turned at once into one small Arrow table per
inventory table, a *piece*: the table's declared columns (plus the helper columns normalisation
reads, named with a leading underscore), values coerced exactly as `auditor.inventory.frame` does,
and the repeated strings (accounts, regions, types, states, vaults, source ARNs, tag keys)
dictionary-encoded. Normalisation (`auditor.aws.normalize`) concatenates the pieces at the end.
"""

from __future__ import annotations

import datetime as _dt
import math
from collections.abc import Iterable, Mapping
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from auditor.inventory import LOW_CARDINALITY, SCHEMAS, _to_arrow

# Columns collectors add for normalisation only (dropped before the inventory is made).
HELPER_COLUMNS: dict[str, dict[str, pa.DataType]] = {
    "recovery_points": {
        "_origin": pa.string(),  # "backup": the row came from an AWS Backup vault listing
        "_size_exact": pa.bool_(),  # size_bytes is the backup's exact size
        "_native_volume_id": pa.string(),  # an EBS snapshot's VolumeId (Storage Gateway volumes)
        "_image_snapshot_ids": pa.string(),  # an AMI's EBS snapshots, a JSON list
        "_backup_resource_type": pa.string(),  # AWS Backup's ResourceType of the source
    },
    "backup_jobs": {
        "_backup_resource_type": pa.string(),
        "_copy_source_arn": pa.string(),  # a copy job's source recovery point
    },
}

# String columns kept dictionary-encoded in pieces: the inventory's low-cardinality columns, the
# helpers above with few values, and ARNs that repeat within one task (a resource's many backups
# in one vault or listing, its several tags).
_ENCODED: dict[str, frozenset[str]] = {
    **LOW_CARDINALITY,
    "recovery_points": LOW_CARDINALITY["recovery_points"] | {"_origin", "_backup_resource_type"},
    "backup_jobs": LOW_CARDINALITY["backup_jobs"] | {"_backup_resource_type", "resource_arn"},
    "tags": LOW_CARDINALITY["tags"] | {"arn"},
}

# Python types whose conversion by Arrow equals `frame`'s (pandas) conversion, by Arrow type.
_PLAIN: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "timestamp": (_dt.datetime,),
    "bool": (bool,),
    "int64": (int,),
    "double": (float, int),
}


def piece_schema(table: str) -> pa.Schema:
    """The schema of `table`'s pieces: declared columns, then helpers; repeated strings encoded."""
    fields = list(SCHEMAS[table]) + [
        pa.field(name, typ) for name, typ in HELPER_COLUMNS.get(table, {}).items()
    ]
    encoded = _ENCODED.get(table, frozenset())
    return pa.schema(
        [
            pa.field(f.name, pa.dictionary(pa.int32(), f.type)) if f.name in encoded else f
            for f in fields
        ]
    )


def _kind(typ: pa.DataType) -> str:
    if pa.types.is_timestamp(typ):
        return "timestamp"
    return str(typ)


def _column(values: list[Any], typ: pa.DataType) -> pa.Array:
    """One column's values as `typ`, coerced as `auditor.inventory.frame` coerces them.

    Values of the types collectors give (str, datetime, bool, int, float, None) are converted by
    Arrow directly, which gives the same values as frame's pandas path; anything else (an ISO 8601
    string for a time, a number for a string) goes through that pandas path itself.
    """
    plain = _PLAIN.get(_kind(typ))
    ok = plain is not None and all(
        v is None
        or (isinstance(v, plain) and not (isinstance(v, bool) and bool not in plain))
        or (isinstance(v, float) and math.isnan(v))
        for v in values
    )
    if (
        ok
        and pa.types.is_timestamp(typ)
        and any(v is not None and not isinstance(v, float) and v.tzinfo is None for v in values)
    ):
        ok = False  # naive times: let pandas decide what they mean, as frame does
    if not ok:
        return _to_arrow(pd.Series(values, dtype=object), typ)
    return pa.array(values, type=typ, from_pandas=True)


def piece(table: str, rows: Iterable[Mapping[str, Any]]) -> pa.Table:
    """One task's rows of `table` as a compact Arrow table (`piece_schema`).

    Missing keys are nulls; a key that is neither a declared nor a helper column is an error
    (a typo in a collector must not silently drop data), as in `frame`.
    """
    schema = piece_schema(table)
    rows = list(rows)
    names = set(schema.names)
    for row in rows:
        extra = set(row) - names
        if extra:
            raise ValueError(f"{table}: undeclared columns {sorted(extra)}")
    arrays = []
    for fld in schema:
        plain = fld.type.value_type if pa.types.is_dictionary(fld.type) else fld.type
        array = _column([row.get(fld.name) for row in rows], plain)
        if pa.types.is_dictionary(fld.type):
            array = array.dictionary_encode()
        arrays.append(array)
    return pa.Table.from_arrays(arrays, schema=schema)


def head_of_piece(compact: pa.Table, rows: int) -> pa.Table:
    """The first `rows` rows of a piece, as `piece` makes them (dictionaries of those rows only)."""
    head = compact.slice(0, rows)
    return pa.Table.from_arrays(
        [
            column.combine_chunks().dictionary_decode().dictionary_encode()
            if pa.types.is_dictionary(column.type)
            else column.combine_chunks()
            for column in head.columns
        ],
        schema=compact.schema,
    )


def compact_records(records: Mapping[str, Iterable[Mapping[str, Any]]]) -> dict[str, pa.Table]:
    """Each table's rows of one task as a piece (tables without rows are left out)."""
    return {table: piece(table, rows) for table, rows in records.items() if rows}


def plain(column: Any) -> Any:
    """`column` (an Arrow array or chunked array) with its dictionary, if any, decoded."""
    if pa.types.is_dictionary(column.type):
        return column.cast(column.type.value_type)
    return column


def replaced(column: Any, mask: Any, value: Any) -> Any:
    """`column` with `value` where `mask` is true, dictionary-encoded again when it was (the
    listed rows stay compact; only one plain column is made at a time)."""
    changed = pc.if_else(mask, value, plain(column))
    return changed.dictionary_encode() if pa.types.is_dictionary(column.type) else changed
