"""Which resources a selection picks, with AWS Backup's semantics, vectorised over the inventory.

Declared plans (`select:` in a policy) and deployed AWS Backup selections are both turned into one
`SelectionSpec` and evaluated by one function, `spec_mask`, so the two can never disagree:

- ``resources``: ARN patterns (``*`` matches any run of characters) and ``any_tags``: (key, value)
  pairs — AWS ``ListOfTags`` (StringEquals only) or a plan's ``tags``. Together they are one union:
  a resource is a candidate when it matches ANY pattern or carries ANY of the tags. With neither,
  every resource is a candidate (AWS: "all supported and opted-in resources");
- ``not_resources``: ARN patterns; a resource matching any is excluded;
- ``conditions``: (operator, key, value) — ``StringEquals``, ``StringNotEquals``, ``StringLike``,
  ``StringNotLike`` — ALL must hold. As in IAM condition evaluation, a resource without the tag
  fails ``StringEquals``/``StringLike`` and satisfies ``StringNotEquals``/``StringNotLike``;
- ``resource_types``: the plan's optional narrowing (none = any type).

Everything is case-sensitive, like AWS. A selection with nothing at all selects every resource, as
AWS Backup does ("all supported and opted-in resources"); whether AWS Backup can back a type up at
all is a separate question (`auditor.policy.support`).

Tag values are factorised once per key (`TagView`), so a condition costs a NumPy comparison on
integer codes, not a string comparison per resource.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from auditor.policy.columns import arrow_of, encode, index_in

__all__ = [
    "SelectionSpec",
    "TagView",
    "aws_selection_mask",
    "aws_selection_selects",
    "aws_selection_spec",
    "declared_mask",
    "declared_selects",
    "declared_spec",
    "named_mask",
    "spec_mask",
    "wildcard_regex",
]

OPERATORS = ("StringEquals", "StringNotEquals", "StringLike", "StringNotLike")
_DECLARED_OPS = {
    "string_equals": "StringEquals",
    "string_not_equals": "StringNotEquals",
    "string_like": "StringLike",
    "string_not_like": "StringNotLike",
}
_TAG_PREFIX = "aws:ResourceTag/"


@dataclass(frozen=True)
class SelectionSpec:
    """A selection in one normalised form (see the module docstring for the semantics)."""

    any_tags: tuple[tuple[str, str], ...] = ()
    conditions: tuple[tuple[str, str, str], ...] = ()
    resources: tuple[str, ...] = ()
    not_resources: tuple[str, ...] = ()
    resource_types: tuple[str, ...] = ()

    @property
    def tag_keys(self) -> set[str]:
        """Every tag key the selection reads."""
        return {k for k, _ in self.any_tags} | {k for _, k, _ in self.conditions}


@lru_cache(maxsize=4096)
def wildcard_regex(pattern: str) -> re.Pattern:
    """Compile an AWS wildcard pattern (``*`` = any characters, everything else literal)."""
    return re.compile("".join(".*" if ch == "*" else re.escape(ch) for ch in pattern), re.S)


class TagView:
    """Tags of a set of resources, aligned to them and factorised per key.

    `arns` is the resources' ARN column (its order defines positions); `tags` the inventory's long
    tags table (arn, key, value). A key set twice on one ARN keeps the last value.
    """

    def __init__(self, arns: pd.Series, tags: pd.DataFrame):
        self.n = len(arns)
        has_tags = tags is not None and len(tags) > 0
        self._pos = index_in(tags["arn"], arns) if has_tags else np.empty(0, np.int64)
        self._keys = arrow_of(tags["key"]).cast(pa.string()) if has_tags else None
        self._values = arrow_of(tags["value"]).cast(pa.string()) if has_tags else None
        self._cache: dict[str, tuple[np.ndarray, np.ndarray]] = {}

    @property
    def positions(self) -> np.ndarray:
        """Per row of the tags table, the position of its resource (-1 for no resource)."""
        return self._pos

    def codes(self, key: str) -> tuple[np.ndarray, np.ndarray]:
        """(codes, categories) of `key`: codes[i] indexes categories, -1 where resource i lacks it."""
        hit = self._cache.get(key)
        if hit is not None:
            return hit
        codes = np.full(self.n, -1, dtype=np.int32)
        categories = np.empty(0, dtype=object)
        if self._values is not None and len(self._pos):
            sel = pc.equal(self._keys, key).fill_null(False).to_numpy(zero_copy_only=False) & (
                self._pos >= 0
            )
            if sel.any():
                key_codes, names = encode(self._values.filter(pa.array(sel)).fill_null(""))
                codes[self._pos[sel]] = key_codes
                categories = np.array(names, dtype=object)
        self._cache[key] = (codes, categories)
        return codes, categories

    def value_in(self, key: str, predicate, positions: np.ndarray | None = None) -> np.ndarray:
        """Boolean per resource (or per `positions`): it has `key` and predicate(value) holds.

        The predicate runs once per distinct value, then the answer is looked up by code.
        """
        codes, categories = self.codes(key)
        if positions is not None:
            codes = codes[positions]
        if not len(categories):
            return np.zeros(len(codes), dtype=bool)
        ok = np.fromiter(
            (bool(predicate(v)) for v in categories), dtype=bool, count=len(categories)
        )
        lookup = np.append(ok, False)  # code -1 -> last slot -> False
        return lookup[codes]

    def has(self, key: str) -> np.ndarray:
        """Boolean per resource: the resource carries `key`."""
        return self.codes(key)[0] >= 0

    def dict_for(self, position: int, keys: Iterable[str]) -> dict[str, str]:
        """The tags of one resource (for evidence), limited to `keys`."""
        out = {}
        for key in keys:
            codes, categories = self.codes(key)
            if codes[position] >= 0:
                out[key] = categories[codes[position]]
        return out


def _arn_mask(arns: pd.Series, patterns: Iterable[str]) -> np.ndarray:
    result = np.zeros(len(arns), dtype=bool)
    for pattern in patterns:
        if pattern == "*":
            return np.ones(len(arns), dtype=bool)
        column = arrow_of(arns).cast(pa.string())
        if "*" not in pattern:
            hit = pc.equal(column, pattern)
        elif pattern.endswith("*") and "*" not in pattern[:-1]:
            hit = pc.starts_with(column, pattern[:-1])
        else:
            hit = pc.match_substring_regex(column, "^" + wildcard_regex(pattern).pattern + "$")
        result |= hit.fill_null(False).to_numpy(zero_copy_only=False)
    return result


def _cached(view: TagView, resources: pd.DataFrame, key: tuple, compute) -> np.ndarray:
    """A column test of `resources`, cached on the view for as long as it is used with that frame."""
    cache = view.__dict__.setdefault("_column_cache", {})
    hit = cache.get(key)
    if hit is None or hit[0] is not resources:  # holding the frame keeps its id from being reused
        hit = cache[key] = (resources, compute())
    return hit[1]


def spec_mask(
    spec: SelectionSpec, resources: pd.DataFrame, view: TagView, positions: np.ndarray | None = None
) -> np.ndarray:
    """Boolean array: the resources `spec` selects.

    `resources` is aligned with `view`. With `positions`, the answer covers only those rows (in that
    order); column tests are computed once over all resources and cached on the view, so many
    selections over subsets (one per account and region) cost little.
    """

    def take(values: np.ndarray) -> np.ndarray:
        return values if positions is None else values[positions]

    n = len(resources) if positions is None else len(positions)
    mask = np.ones(n, dtype=bool)
    if spec.resource_types:
        types = tuple(sorted(spec.resource_types))
        mask &= take(
            _cached(
                view,
                resources,
                ("types", types),
                lambda: (
                    resources["resource_type"]
                    .isin(list(types))
                    .to_numpy(dtype=bool, na_value=False)
                ),
            )
        )
    if spec.resources or spec.any_tags:
        # Resources and ListOfTags together are one union: matching any ARN or any tag selects.
        base = np.zeros(n, dtype=bool)
        if spec.resources:
            pats = tuple(spec.resources)
            base |= take(
                _cached(
                    view,
                    resources,
                    ("arns", pats),
                    lambda: _arn_mask(resources["resource_arn"], pats),
                )
            )
        for key, value in spec.any_tags:
            base |= view.value_in(key, lambda v, value=value: v == value, positions)
        mask &= base
    if spec.not_resources:
        pats = tuple(spec.not_resources)
        mask &= ~take(
            _cached(
                view, resources, ("arns", pats), lambda: _arn_mask(resources["resource_arn"], pats)
            )
        )
    for op, key, value in spec.conditions:
        if op in ("StringEquals", "StringNotEquals"):
            hit = view.value_in(key, lambda v, value=value: v == value, positions)
        else:
            regex = wildcard_regex(value)
            hit = view.value_in(
                key, lambda v, regex=regex: regex.fullmatch(v) is not None, positions
            )
        # IAM semantics: a missing tag makes the positive operators false and the negated ones true.
        mask &= hit if op in ("StringEquals", "StringLike") else ~hit
    return mask


def named_mask(
    spec: SelectionSpec, resources: pd.DataFrame, view: TagView, positions: np.ndarray | None = None
) -> np.ndarray:
    """Boolean array: the resources `spec` selects by naming them (an ARN or ARN pattern, not ``*``).

    AWS Backup applies a region's service opt-in only to resources assigned by tag or by ``*``; a
    resource type or ARN named in the assignment is backed up whatever the opt-in (except Aurora,
    Neptune and DocumentDB; see `auditor.policy.support`). AWS Backup Developer Guide, "Working with
    supported services" / "Getting started: service opt-in":
    https://docs.aws.amazon.com/aws-backup/latest/devguide/working-with-supported-services.html
    """
    named = tuple(p for p in spec.resources if p != "*")
    n = len(resources) if positions is None else len(positions)
    if not named:
        return np.zeros(n, dtype=bool)
    hit = _cached(
        view, resources, ("arns", named), lambda: _arn_mask(resources["resource_arn"], named)
    )
    return spec_mask(spec, resources, view, positions) & (
        hit if positions is None else hit[positions]
    )


# --- building specs -------------------------------------------------------------------------------


def _tag_key(key: str) -> str:
    return key[len(_TAG_PREFIX) :] if key.startswith(_TAG_PREFIX) else key


def _as_values(value: Any) -> list[str]:
    return [str(v) for v in value] if isinstance(value, (list, tuple)) else [str(value)]


def declared_spec(select: Mapping[str, Any] | None) -> SelectionSpec:
    """The spec of a policy plan's `select:` block (a mapping with tags, conditions, resource_types)."""
    select = select or {}
    any_tags = tuple(
        (str(k), v) for k, value in (select.get("tags") or {}).items() for v in _as_values(value)
    )
    conditions: list[tuple[str, str, Any]] = []
    for name, op in _DECLARED_OPS.items():
        for key, value in ((select.get("conditions") or {}).get(name) or {}).items():
            conditions.extend((op, str(key), v) for v in _as_values(value))
    return SelectionSpec(
        any_tags=any_tags,
        conditions=tuple(conditions),
        resource_types=tuple(select.get("resource_types") or ()),
    )


def _json(value: Any) -> Any:
    if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA:
        return None
    if isinstance(value, str):
        value = value.strip()
        return json.loads(value) if value else None
    return value


def aws_selection_spec(selection: Mapping[str, Any]) -> SelectionSpec:
    """The spec of an AWS Backup selection.

    Accepts AWS's ``BackupSelection`` shape (``Resources``, ``NotResources``, ``ListOfTags``,
    ``Conditions``) or a row of the inventory's `backup_selections` table (``resources``,
    ``not_resources``, ``list_of_tags``, ``conditions`` as JSON strings).
    """

    def get(*names: str) -> Any:
        for name in names:
            if name in selection:
                return _json(selection[name])
        return None

    resources = tuple(get("Resources", "resources") or ())
    not_resources = tuple(get("NotResources", "not_resources") or ())
    any_tags = []
    for entry in get("ListOfTags", "list_of_tags") or ():
        kind = str(entry.get("ConditionType", "STRINGEQUALS")).upper()
        if kind != "STRINGEQUALS":
            continue  # AWS accepts only StringEquals here
        any_tags.append((_tag_key(str(entry["ConditionKey"])), str(entry["ConditionValue"])))
    conditions = []
    for op, entries in (get("Conditions", "conditions") or {}).items():
        if op not in OPERATORS:
            continue
        for entry in entries or ():
            conditions.append(
                (op, _tag_key(str(entry["ConditionKey"])), str(entry["ConditionValue"]))
            )
    return SelectionSpec(
        any_tags=tuple(any_tags),
        conditions=tuple(conditions),
        resources=resources,
        not_resources=not_resources,
    )


def _plan_select(plan: Any) -> Mapping[str, Any]:
    if isinstance(plan, Mapping):
        return plan.get("select", plan)
    return plan.select


# --- public masks and scalar helpers (one code path) ----------------------------------------------


def declared_mask(
    plan: Any, resources: pd.DataFrame, tags: pd.DataFrame, view: TagView | None = None
) -> pd.Series:
    """Which `resources` the declared `plan` (a Plan or a mapping with `select`) selects."""
    view = view or TagView(resources["resource_arn"], tags)
    spec = plan.spec if hasattr(plan, "spec") else declared_spec(_plan_select(plan))
    return pd.Series(spec_mask(spec, resources, view), index=resources.index)


def aws_selection_mask(
    selection_row: Mapping[str, Any],
    resources: pd.DataFrame,
    tags: pd.DataFrame,
    view: TagView | None = None,
) -> pd.Series:
    """Which `resources` a deployed AWS Backup selection (inventory row or AWS shape) selects."""
    view = view or TagView(resources["resource_arn"], tags)
    return pd.Series(
        spec_mask(aws_selection_spec(selection_row), resources, view), index=resources.index
    )


def _one(
    resource_arn: str, resource_type: str, tags: Mapping[str, str]
) -> tuple[pd.DataFrame, TagView]:
    resources = pd.DataFrame({"resource_arn": [resource_arn], "resource_type": [resource_type]})
    tag_frame = pd.DataFrame(
        {
            "arn": [resource_arn] * len(tags),
            "key": list(tags),
            "value": [str(v) for v in tags.values()],
        },
        columns=["arn", "key", "value"],
    )
    return resources, TagView(resources["resource_arn"], tag_frame)


def declared_selects(
    plan: Any, resource_type: str, tags: Mapping[str, str], resource_arn: str = ""
) -> bool:
    """Scalar form of `declared_mask` for one resource (e.g. one resource of a template)."""
    resources, view = _one(resource_arn, resource_type, tags)
    return bool(declared_mask(plan, resources, view=view, tags=None).iloc[0])


def aws_selection_selects(
    selection: Mapping[str, Any], resource_arn: str, resource_type: str, tags: Mapping[str, str]
) -> bool:
    """Scalar form of `aws_selection_mask`: does this AWS BackupSelection select this resource?"""
    resources, view = _one(resource_arn, resource_type, tags)
    return bool(aws_selection_mask(selection, resources, tags=None, view=view).iloc[0])
