"""Owner-like tags on findings: who to ask about a resource (`--owner-tags owner,team,...`).

Each configured tag key becomes one string column of the findings, `tag_<key>` (the key lower-cased,
any character other than a letter, digit or `_` written `_`: `cost-center` -> `tag_cost_center`),
holding the resource's value for that tag, or null. One flat column per key, rather than one
map/object column, because it is the shape every findings format carries without conversion:
a CSV header per key (a spreadsheet filters and pivots it), a typed, dictionary-encoded Parquet
string column (DuckDB and pandas group by it directly), a plain field of each findings.json object
and a SARIF result property. Files of runs with other keys simply have other `tag_` columns.

Tag keys are matched without regard to case (`owner` finds `Owner` and `OWNER`), because estates
spell them every way and a user asking for `owner` means all of them, although AWS itself treats
keys as case-sensitive. When one resource carries several spellings, the one written exactly as
configured wins, then the others in byte order of the key, so the choice never depends on the
order tags were collected in.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from auditor.errors import UsageError

__all__ = [
    "DEFAULT_OWNER_TAGS",
    "OWNER_COLUMN_PREFIX",
    "owner_column_name",
    "owner_columns",
    "owner_tag_arrays",
    "owner_tag_columns_of",
    "parse_owner_tags",
    "with_owner_tags",
]

DEFAULT_OWNER_TAGS: tuple[str, ...] = ("owner", "team", "application")
OWNER_COLUMN_PREFIX = "tag_"
# AWS's tag key limits (Tagging AWS resources, "Tag naming limits and requirements"): at most
# 128 characters; keys beginning with "aws:" are reserved for AWS's own tags but may be read.
_MAX_KEY_LENGTH = 128
_UNSAFE = re.compile(r"[^a-z0-9_]")


def owner_column_name(key: str) -> str:
    """The findings column that holds tag `key`: `tag_` + the key lower-cased, others as `_`."""
    return OWNER_COLUMN_PREFIX + _UNSAFE.sub("_", key.lower())


def parse_owner_tags(values: Iterable[str] | str | None) -> tuple[str, ...]:
    """`["owner,team", "application"]` -> ("owner", "team", "application"); None -> the default.

    An empty value (`--owner-tags ""`) means no owner columns. Raises UsageError (exit 2) on a key
    longer than AWS allows, or two keys that would share a column (`Owner` and `owner`).
    """
    if values is None:
        return DEFAULT_OWNER_TAGS
    items = [values] if isinstance(values, str) else list(values)
    if not items:
        return DEFAULT_OWNER_TAGS
    keys = [k.strip() for item in items for k in str(item).split(",") if k.strip()]
    seen: dict[str, str] = {}
    for key in keys:
        if len(key) > _MAX_KEY_LENGTH:
            raise UsageError(f"--owner-tags: {key[:40]!r}... is longer than a tag key can be (128)")
        column = owner_column_name(key)
        if column in seen and seen[column] != key:
            raise UsageError(
                f"--owner-tags: {seen[column]!r} and {key!r} would both be column {column}"
                " (keys match without regard to case): give one of them"
            )
        seen[column] = key
    return tuple(dict.fromkeys(keys))


def owner_columns(keys: Sequence[str]) -> list[str]:
    """The findings columns of `keys`, in their order."""
    return [owner_column_name(k) for k in keys]


def owner_tag_columns_of(names: Iterable[str]) -> list[str]:
    """The owner-tag columns among `names` (a table's or a frame's columns), in their order."""
    return [n for n in names if str(n).startswith(OWNER_COLUMN_PREFIX)]


def _spellings(tags: pd.DataFrame | None, key: str) -> list[str]:
    """The keys present in `tags` that equal `key` without regard to case: exact first, then sorted."""
    if tags is None or not len(tags):
        return []
    distinct = pd.unique(tags["key"].astype(object).dropna())
    lowered = key.lower()
    found = sorted(str(k) for k in distinct if str(k).lower() == lowered)
    return sorted(found, key=lambda k: (k != key, k))


def owner_tag_arrays(
    view, tags: pd.DataFrame | None, keys: Sequence[str], ridx: np.ndarray
) -> dict[str, pa.Array]:
    """Per configured key, its column for rows about resources `ridx` (-1: a row about no resource).

    `view` is the check's `TagView` (each key's values factorised once per check); the result
    maps `tag_<key>` to a string array, null where the resource lacks the tag (in every spelling).
    Whole columns: one dictionary take per spelling, no per-row Python.
    """
    out: dict[str, pa.Array] = {}
    positions = pa.array(np.maximum(ridx, 0))
    about_resource = pa.array(ridx >= 0)
    nulls = pa.nulls(len(ridx), pa.string())
    for key in keys:
        value = nulls
        for spelling in _spellings(tags, key):
            codes, categories = view.codes(spelling)
            if not len(categories):
                continue
            per_resource = pa.DictionaryArray.from_arrays(
                pa.array(codes.astype(np.int32), mask=codes < 0),
                pa.array(list(categories), pa.string()),
            )
            value = pc.coalesce(value, per_resource.take(positions).cast(pa.string()))
        out[owner_column_name(key)] = pc.if_else(about_resource, value, nulls)
    return out


def with_owner_tags(frame: pd.DataFrame, inventory, keys: Sequence[str]) -> pd.DataFrame:
    """`frame` (findings rows) with its owner-tag columns replaced by those of `keys`, looked up in
    `inventory` by each row's resource ARN (rows naming no inventoried resource get null).

    For findings built elsewhere (per-account Dask tasks) or read back from a results folder
    whose inventory is at hand (`auditor report --owner-tags`).
    """
    from auditor.policy.columns import index_in
    from auditor.policy.selection import TagView

    resources = inventory.resources.reset_index(drop=True)
    tags = inventory["tags"]
    out = frame.drop(columns=owner_tag_columns_of(frame.columns))
    if not len(out):
        for column in owner_columns(keys):
            out[column] = pd.Series(dtype=object)
        return out
    view = TagView(resources["resource_arn"], tags)
    ridx = (
        index_in(out["resource_arn"].astype(object).astype(str), resources["resource_arn"])
        if len(resources)
        else np.full(len(out), -1, dtype=np.int64)
    )
    for column, values in owner_tag_arrays(view, tags, keys, ridx).items():
        out[column] = values.to_numpy(zero_copy_only=False)
    return out
