"""Why a selection did not pick a resource, in words, for the evidence of uncovered resources.

A declared plan's selection, or an AWS Backup selection deployed in the resource's account and
region, is taken apart into the tests `auditor.policy.selection.spec_mask` combines (resource
types, the Resources/ListOfTags union, NotResources, each condition); every test that fails for a
resource is named with the resource's own value, e.g. "tag backup=daily required, resource has
backup=weekly" or "excluded by NotResources". Selection semantics follow AWS Backup's
BackupSelection (API reference, "BackupSelection": ListOfTags and Resources select by OR,
Conditions all apply, NotResources excludes; a missing tag fails StringEquals/StringLike and
passes StringNotEquals/StringNotLike).

Each test is evaluated on whole columns for the rows asked about; the texts are built per
distinct tag value, then joined per row.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from auditor.arrow_take import take_series
from auditor.controls.evidence import JsonArray, json_quote
from auditor.policy.selection import SelectionSpec, aws_selection_spec, spec_mask

if TYPE_CHECKING:
    from auditor.controls.context import Context

__all__ = ["declared_reasons", "deployed_reasons", "resource_tags", "selection_reasons"]

# Tags shown per resource in evidence: AWS allows 50 user tags per resource, so this keeps all
# of a normal resource's (Tagging AWS resources, "Tag naming limits and requirements").
MAX_TAGS_SHOWN = 60


def _has_text(ctx: Context, key: str, positions: np.ndarray, prefix: str = "") -> np.ndarray:
    """`prefix` + "resource has KEY=VALUE" (or "resource has no KEY tag"), per resource at
    `positions`: one text per distinct value, then looked up by code."""
    codes, categories = ctx.view.codes(key)
    # once per check: a tag may have a value per resource, and every batch of findings asks
    table = ctx.memo(
        f"has_text:{prefix}:{key}",
        lambda: np.array(
            [f"{prefix}resource has {key}={value}" for value in categories]
            + [f"{prefix}resource has no {key} tag"],
            dtype=object,
        ),
    )
    picked = codes[positions]
    return table[np.where(picked >= 0, picked, len(categories))]


def _add(reasons: np.ndarray, failed: np.ndarray, text: np.ndarray | str) -> None:
    """Append `text` to the reasons of the rows that `failed` ("; " between reasons)."""
    if not failed.any():
        return
    piece = text[failed] if isinstance(text, np.ndarray) else np.full(failed.sum(), text, object)
    current = reasons[failed]
    reasons[failed] = np.where(current == "", piece, current + "; " + piece)


def _tag_test(ctx: Context, op: str, key: str, value: str, positions: np.ndarray):
    """(passes, failure text) of one tag condition for `positions` (the predicate runs once per
    distinct value of the tag)."""
    from auditor.policy.selection import wildcard_regex

    if op in ("StringEquals", "StringNotEquals"):
        matches = ctx.view.value_in(key, lambda v: v == value, positions)
    else:
        regex = wildcard_regex(value)
        matches = ctx.view.value_in(key, lambda v: regex.fullmatch(v) is not None, positions)
    if op == "StringEquals":
        return matches, _has_text(ctx, key, positions, f"tag {key}={value} required, ")
    if op == "StringLike":
        return matches, _has_text(ctx, key, positions, f"tag {key} like {value} required, ")
    if op == "StringNotEquals":
        return ~matches, _has_text(ctx, key, positions, f"tag {key} must not be {value}, ")
    return ~matches, _has_text(ctx, key, positions, f"tag {key} must not be like {value}, ")


def selection_reasons(
    spec: SelectionSpec, ctx: Context, positions: np.ndarray, types_label: str = "resource_types"
) -> np.ndarray:
    """Per resource at `positions`: why `spec` does not select it ("" where it does)."""
    res = ctx.res
    n = len(positions)
    reasons = np.full(n, "", dtype=object)
    if not n:
        return reasons
    if spec.resource_types:
        rtype = take_series(res["resource_type"], positions).astype(object).to_numpy()
        inside = np.isin(rtype, list(spec.resource_types))
        _add(
            reasons,
            ~inside,
            "type "
            + rtype.astype(str).astype(object)
            + f" not in {types_label} [{', '.join(sorted(spec.resource_types))}]",
        )
    if spec.resources or spec.any_tags:
        union = SelectionSpec(resources=spec.resources, any_tags=spec.any_tags)
        selected = spec_mask(union, res, ctx.view, positions=positions)
        parts: list[Any] = []
        if spec.resources:
            parts.append(f"ARN matches none of Resources [{', '.join(spec.resources)}]")
        if len(spec.any_tags) == 1:
            key, value = spec.any_tags[0]
            parts.append(_has_text(ctx, key, positions, f"tag {key}={value} required, "))
        elif spec.any_tags:
            wanted = ", ".join(f"{k}={v}" for k, v in spec.any_tags)
            seen = np.full(n, "", dtype=object)
            for key in dict.fromkeys(k for k, _ in spec.any_tags):
                _add(seen, np.ones(n, bool), _has_text(ctx, key, positions))
            parts.append(f"one of tags {wanted} required (" + seen + ")")
        text = parts[0]
        for part in parts[1:]:
            text = text + ", and " + part
        _add(reasons, ~selected, text)
    if spec.not_resources:
        excluded = ~spec_mask(
            SelectionSpec(not_resources=spec.not_resources), res, ctx.view, positions=positions
        )
        _add(reasons, excluded, f"excluded by NotResources [{', '.join(spec.not_resources)}]")
    for op, key, value in spec.conditions:
        passes, text = _tag_test(ctx, op, key, value, positions)
        _add(reasons, ~passes, text)
    return reasons


def _objects(names: list[str], columns: list[np.ndarray], n: int) -> pa.Array:
    """Per row, a JSON object {name: reason} of the non-empty reasons (null when there is none)."""
    if not names or not n:
        return pa.nulls(n, pa.string())
    fragments = []
    for name, reasons in zip(names, columns):
        text = pc.if_else(
            pa.array(reasons == "", pa.bool_()),
            pa.nulls(n, pa.string()),
            pa.array(reasons, type=pa.string()),
        )
        # a null reason gives a null fragment, which the join below skips
        fragments.append(pc.binary_join_element_wise(json.dumps(name), json_quote(text), ": "))
    marker = pa.array(["\x00"] * n, type=pa.string())
    body = pc.binary_join_element_wise(*fragments, marker, ", ", null_handling="skip")
    body = pc.replace_substring(pc.replace_substring(body, ", \x00", ""), "\x00", "")
    objects = pc.binary_join_element_wise("{", body, "}", "")
    return pc.if_else(pc.equal(body, ""), pa.nulls(n, pa.string()), objects)


def _scatter(values: pa.Array, rows: np.ndarray, n: int) -> JsonArray:
    """`values` (one per row of `rows`) placed among `n` rows (null elsewhere)."""
    where = np.zeros(n, dtype=np.int64)
    where[rows] = np.arange(len(rows))
    missing = np.ones(n, dtype=bool)
    missing[rows] = False
    return JsonArray(values.take(pa.array(where, mask=missing)))


def declared_reasons(ctx: Context, ridx: np.ndarray) -> JsonArray:
    """Per row (a resource position, -1 for none): why each declared plan does not select it."""
    rows = np.flatnonzero(ridx >= 0)
    positions = ridx[rows]
    names = [f"plan {plan.name}" for plan in ctx.plans]
    columns = [selection_reasons(plan.spec, ctx, positions) for plan in ctx.plans]
    return _scatter(_objects(names, columns, len(rows)), rows, len(ridx))


def deployed_reasons(ctx: Context, ridx: np.ndarray) -> JsonArray:
    """Per row: why each AWS Backup selection deployed in the resource's account and region does
    not select it (selections elsewhere cannot: a selection picks only its own account and region)."""
    from auditor.policy.columns import codes_of

    selections = ctx.inventory["backup_selections"]
    rows = np.flatnonzero(ridx >= 0)
    if not len(selections) or not len(rows):
        return _scatter(pa.nulls(0, pa.string()), rows[:0], len(ridx))
    positions = ridx[rows]
    plan_names = {
        (p.account_id, p.region, p.backup_plan_id): p.backup_plan_name
        for p in ctx.inventory["backup_plans"].itertuples(index=False)
    }
    # the asked-about resources grouped by (account, region) once, by codes
    acc, acc_names = codes_of(ctx.res["account_id"])
    reg, reg_names = codes_of(ctx.res["region"])
    key = acc[positions].astype(np.int64) * (len(reg_names) + 1) + reg[positions]
    groups: dict[tuple[str, str], np.ndarray] = {}
    for code in np.unique(key):
        a, r = divmod(int(code), len(reg_names) + 1)
        if 0 <= a < len(acc_names) and 0 <= r < len(reg_names):
            groups[(acc_names[a], reg_names[r])] = np.flatnonzero(key == code)
    names, columns = [], []
    for sel in selections.itertuples(index=False):
        here = groups.get((sel.account_id, sel.region))
        if here is None:
            continue
        try:
            spec = aws_selection_spec(sel._asdict())
        except (ValueError, KeyError, TypeError, AttributeError, json.JSONDecodeError):
            continue  # an unreadable selection: the coverage check ignores it too
        reasons = np.full(len(rows), "", dtype=object)
        reasons[here] = selection_reasons(spec, ctx, positions[here])
        plan = plan_names.get((sel.account_id, sel.region, sel.backup_plan_id), sel.backup_plan_id)
        names.append(f"AWS Backup plan '{plan}' selection '{sel.selection_name}'")
        columns.append(reasons)
    return _scatter(_objects(names, columns, len(rows)), rows, len(ridx))


def resource_tags(ctx: Context, ridx: np.ndarray) -> JsonArray:
    """Per row, the resource's tags as a JSON object (null for rows without tags or resource)."""
    n = len(ridx)
    if not len(ctx.inventory["tags"]) or not n or not (ridx >= 0).any():
        return JsonArray(pa.nulls(n, pa.string()))
    # every resource's object, made once per check: each batch of findings asks for its rows
    objects = ctx.memo("resource_tags_json", lambda: _tags_json_by_resource(ctx))
    return JsonArray(objects.take(pa.array(np.where(ridx >= 0, ridx, ctx.n))))


def _tags_json_by_resource(ctx: Context) -> pa.Array:
    """Per resource number (and one null after the last), its tags as a JSON object: at most
    MAX_TAGS_SHOWN of them, by key, the last value of a key repeated; null without tags.

    On codes: keys and values are quoted once per distinct text, the tags are put in (resource,
    key) order by integer ranks, and each resource's pairs are joined as one list slice."""
    tags = ctx.inventory["tags"]
    owner = ctx.view.positions  # each tag's resource, found once per check by the tag view
    key_code, key_json, key_rank = _quoted_codes(tags["key"])
    value_code, value_json, _ = _quoted_codes(tags["value"], missing='""')
    wanted = pd.DataFrame({"ridx": owner, "key": key_rank[key_code], "row": np.arange(len(tags))})
    wanted = wanted[owner >= 0]
    # the last value of a repeated key wins; then by resource, and by key text within it
    wanted = wanted.drop_duplicates(["ridx", "key"], keep="last").sort_values(["ridx", "key"])
    wanted = wanted[wanted.groupby("ridx", sort=False).cumcount().to_numpy() < MAX_TAGS_SHOWN]
    rows = wanted["row"].to_numpy()
    pairs = pc.binary_join_element_wise(
        key_json.take(pa.array(key_code[rows])), value_json.take(pa.array(value_code[rows])), ": "
    )
    ridx = wanted["ridx"].to_numpy()
    starts = np.flatnonzero(np.r_[True, ridx[1:] != ridx[:-1]]) if len(ridx) else np.zeros(0, int)
    offsets = pa.array(np.append(starts, len(ridx)).astype(np.int32))
    bodies = pc.binary_join(pa.ListArray.from_arrays(offsets, pairs), ", ")
    bodies = pc.binary_join_element_wise("{", bodies, "}", "")
    at = np.full(ctx.n + 1, -1, dtype=np.int64)
    at[ridx[starts]] = np.arange(len(starts))
    return bodies.take(pa.array(at, mask=at < 0))


def _quoted_codes(
    column: pd.Series, missing: str | None = None
) -> tuple[np.ndarray, pa.Array, np.ndarray]:
    """A text column as (code per row, JSON literal per code, rank of each code's text): each
    distinct text is quoted once. A missing value gets the last code, `missing` as its literal."""
    codes, uniques = pd.factorize(
        column.astype(object) if not isinstance(column.dtype, pd.CategoricalDtype) else column
    )
    texts = pd.Series(np.asarray(uniques, dtype=object)).astype(str).to_numpy(dtype=object)
    codes = np.where(codes < 0, len(texts), codes)
    quoted = json_quote(pa.array(texts, type=pa.string()))
    quoted = pa.concat_arrays([quoted, pa.array([missing], type=pa.string())])
    rank = np.empty(len(texts) + 1, dtype=np.int64)
    rank[np.argsort(texts.astype(str), kind="stable")] = np.arange(len(texts))
    rank[len(texts)] = -1
    return codes, quoted, rank
