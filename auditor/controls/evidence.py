"""Evidence as JSON text, built column-wise with Arrow (no per-row Python on large results)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from auditor.jsonsafe import JsonText

__all__ = ["arrow_text", "evidence_json", "json_quote"]

_CONTROL_CHARS = "[\\x00-\\x08\\x0b\\x0c\\x0e-\\x1f]"


def json_quote(values: pa.Array) -> pa.Array:
    """JSON string literals of a string array, vectorised (null -> null, not "null")."""
    values = values.cast(pa.string())
    if _may_need_escape(values):
        values = _escape(values)
    return pc.binary_join_element_wise('"', values, '"', "")


def _may_need_escape(values: pa.Array) -> bool:
    """Whether any text holds a quote, a backslash or a control character.

    One scan of the bytes behind the array: text that JSON needs escaped is rare (ARNs, names,
    times never have it), and a regular expression per value costs three times as much. The
    buffer may hold bytes of values outside a sliced array; they can only make this say yes.
    """
    if isinstance(values, pa.ChunkedArray):
        return any(_may_need_escape(chunk) for chunk in values.chunks)
    if not len(values) or values.buffers()[2] is None:
        return False
    data = np.frombuffer(values.buffers()[2], dtype=np.uint8)
    return bool(((data < 0x20) | (data == 0x22) | (data == 0x5C)).any())


def _escape(values):
    values = pc.replace_substring(values, "\\", "\\\\")
    values = pc.replace_substring(values, '"', '\\"')
    values = pc.replace_substring(values, "\n", "\\n")
    values = pc.replace_substring(values, "\r", "\\r")
    values = pc.replace_substring(values, "\t", "\\t")
    return pc.replace_substring_regex(values, _CONTROL_CHARS, " ")


def _json_values(col: pd.Series) -> pa.Array:
    """A JSON value per row (as text; null where the value is missing) for one evidence column."""
    if isinstance(col.dtype, pd.DatetimeTZDtype) or str(col.dtype).startswith("datetime64"):
        stamps = pa.array(
            pd.to_datetime(col, utc=True).dt.tz_convert(None).astype("datetime64[s]"),
            from_pandas=True,
        )
        # Arrow's cast writes "2026-11-26 00:00:00" at a twentieth of strftime's cost per value
        text = pc.replace_substring(stamps.cast(pa.string()), " ", "T", max_replacements=1)
        return pc.binary_join_element_wise('"', text, 'Z"', "")
    if pd.api.types.is_bool_dtype(col.dtype):
        arr = pa.array(col.astype("boolean"), type=pa.bool_(), from_pandas=True)
        return pc.if_else(arr, "true", "false")
    if pd.api.types.is_float_dtype(col.dtype):
        vals = col.to_numpy(dtype=float, na_value=np.nan)  # float32 evidence widens to float64 here
        bad = ~np.isfinite(vals)
        arr = pa.array(np.round(np.where(bad, 0.0, vals), 2), mask=bad)
        return pc.cast(arr, pa.string())
    if pd.api.types.is_integer_dtype(col.dtype):
        return pc.cast(pa.array(col, type=pa.int64(), from_pandas=True), pa.string())
    if isinstance(col.dtype, pd.CategoricalDtype):
        # Quote each category once, then spread the quoted texts over the rows by their codes.
        cats = json_quote(pa.array([str(c) for c in col.cat.categories], type=pa.string()))
        codes = col.cat.codes.to_numpy()
        return (
            pa.DictionaryArray.from_arrays(pa.array(codes, mask=codes < 0), cats).cast(pa.string())
            if len(cats)
            else pa.nulls(len(col), pa.string())
        )
    values = col.to_numpy(dtype=object, na_value=None)
    first = next((v for v in values if v is not None), None)
    if isinstance(first, JsonText):  # already JSON (a list of restore paths): embed as it is
        return pa.array(values, type=pa.string())
    if (
        values.dtype == object
        and len(values)
        and any(isinstance(v, (bool, np.bool_)) for v in values[:1])
    ):
        return pc.if_else(pa.array(values, type=pa.bool_()), "true", "false")
    return json_quote(
        pa.array([None if v is None else str(v) for v in values], type=pa.string())
        if len(values) and not isinstance(values[0], (str, type(None)))
        else pa.array(values, type=pa.string(), from_pandas=True)
    )


def evidence_json(ev: pd.DataFrame) -> pa.Array:
    """One JSON object (text) per row from evidence columns (nulls dropped, ``a.b`` nested)."""
    n = len(ev)
    if ev.shape[1] == 0:
        return pa.repeat(pa.scalar("{}"), n)
    groups: dict[str, list[str]] = {}
    for name in ev.columns:
        head = name.split(".", 1)[0]
        groups.setdefault(head, []).append(name)
    values = []
    for head, names in groups.items():
        if names == [head]:
            value = _json_values(ev[head])
        else:
            inner = [_member(name.split(".", 1)[1], _json_values(ev[name])) for name in names]
            body = _join_members(inner, n)
            value = pc.if_else(
                pc.equal(body, ""),
                pa.nulls(n, pa.string()),
                pc.binary_join_element_wise("{", body, "}", ""),
            )
        values.append((head, value))
    if values[0][1].null_count == 0:
        return _object_led_by_a_value(values)
    members = [_member(head, value) for head, value in values]
    return pc.binary_join_element_wise("{", _join_members(members, n), "}", "")


def _object_led_by_a_value(values: list) -> pa.Array:
    """The objects of members whose first has a value on every row, in one join: a member with
    a value on every row goes in as its quoted key (a scalar) and its values, untouched; only a
    member with missing values is made first (null where missing, so the join skips it)."""
    parts: list = []
    for at, (key, value) in enumerate(values):
        lead = ("{" if at == 0 else ", ") + json.dumps(key, ensure_ascii=False) + ": "
        if value.null_count == 0:
            parts += [pa.scalar(lead), value]
        else:
            parts.append(pc.binary_join_element_wise(pa.scalar(lead), value, ""))
    return pc.binary_join_element_wise(*parts, pa.scalar("}"), "", null_handling="skip")


def _member(key: str, values: pa.Array) -> pa.Array:
    """`, "key": value` per row (null where the value is null); the key is quoted once."""
    return pc.binary_join_element_wise(
        pa.scalar(", " + json.dumps(key, ensure_ascii=False) + ": "), values, ""
    )


def _join_members(members: list, n: int) -> pa.Array:
    """Members (each led by ", ") joined row-wise, nulls skipped; "" for a row with none."""
    # pyarrow 26's "skip" mode drops a row whose inputs are all null: the empty text kept last
    # makes every row have one, and adds nothing to it
    joined = pc.binary_join_element_wise(*members, pa.scalar(""), "", null_handling="skip")
    return pc.utf8_slice_codeunits(joined, 2)


def arrow_text(values) -> pa.Array:
    """Values (Arrow or NumPy/pandas, nulls allowed) as an Arrow string array."""
    if isinstance(values, (pa.Array, pa.ChunkedArray)):
        return values.cast(pa.string())
    return pa.array(values, type=pa.string(), from_pandas=True)
