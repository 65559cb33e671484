"""Evidence as JSON text, built column-wise with Arrow (no per-row Python on large results)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, NamedTuple

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from auditor.jsonsafe import JsonText

__all__ = ["JsonArray", "arrow_text", "evidence_json", "json_quote"]

_CONTROL_CHARS = "[\\x00-\\x08\\x0b\\x0c\\x0e-\\x1f]"


def json_quote(values: pa.Array) -> pa.Array:
    """JSON string literals of a string array, vectorised (null -> null, not "null")."""
    return pc.binary_join_element_wise('"', _json_escaped(values), '"', "")


def _json_escaped(values: pa.Array) -> pa.Array:
    """The text inside each JSON string literal (escaped; the quotes not added)."""
    values = values.cast(pa.string())
    return _escape(values) if _may_need_escape(values) else values


class _Wrapped(NamedTuple):
    """JSON values still to be written between two texts (a string literal's quotes): the
    object's join adds them, so the values' bytes are not copied once more to add them."""

    before: str
    values: pa.Array
    after: str


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


def _json_values(col: Any) -> pa.Array | _Wrapped:
    """A JSON value per row (as text; null where the value is missing) for one evidence column."""
    if isinstance(col, JsonArray):
        ready = col.values.cast(pa.string())
        return ready.combine_chunks() if isinstance(ready, pa.ChunkedArray) else ready
    if isinstance(col, (pa.Array, pa.ChunkedArray)):
        return _arrow_json_values(col)
    if not isinstance(col, pd.Series):
        # an object array stays objects (pandas would infer text, converting every value)
        objects = isinstance(col, np.ndarray) and col.dtype.kind == "O"
        col = pd.Series(col, dtype=object if objects else None)
    if isinstance(col.dtype, pd.DatetimeTZDtype) or str(col.dtype).startswith("datetime64"):
        stamps = pa.array(
            pd.to_datetime(col, utc=True).dt.tz_convert(None).astype("datetime64[s]"),
            from_pandas=True,
        )
        # Arrow's cast writes "2026-11-26 00:00:00" at a twentieth of strftime's cost per value
        text = pc.replace_substring(stamps.cast(pa.string()), " ", "T", max_replacements=1)
        return _Wrapped('"', text, 'Z"')
    if pd.api.types.is_bool_dtype(col.dtype):
        arr = pa.array(col.astype("boolean"), type=pa.bool_(), from_pandas=True)
        return pc.if_else(arr, "true", "false")
    if pd.api.types.is_float_dtype(col.dtype):
        vals = col.to_numpy(dtype=float, na_value=np.nan)  # float32 evidence widens to float64 here
        bad = ~np.isfinite(vals)
        rounded = np.round(np.where(bad, 0.0, vals), 2)
        return pc.cast(pa.array(_as_whole(rounded), mask=bad), pa.string())
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
    texts = (
        pa.array([None if v is None else str(v) for v in values], type=pa.string())
        if len(values) and not isinstance(values[0], (str, type(None)))
        else pa.array(values, type=pa.string(), from_pandas=True)
    )
    return _Wrapped('"', _json_escaped(texts), '"')


def _as_whole(values: np.ndarray) -> np.ndarray:
    """Floats as int64 when every one is a whole number that Arrow writes without an exponent
    (then the text is the same, "35" either way, at less than half the cost of a float's cast);
    otherwise the floats. Negative zero stays a float: it is written "-0"."""
    whole = (values == np.trunc(values)) & (np.abs(values) < 1e9)
    if not whole.all() or np.signbit(values[values == 0]).any():
        return values
    return values.astype(np.int64)


class JsonArray:
    """Evidence values that already are JSON (an Arrow string array of lists or objects, null
    where missing): embedded as they are, never quoted or converted per row."""

    def __init__(self, values: pa.Array | pa.ChunkedArray):
        self.values = values

    def __len__(self) -> int:
        return len(self.values)


def _arrow_json_values(values: pa.Array | pa.ChunkedArray) -> pa.Array | _Wrapped:
    """JSON values of an Arrow column: text and dictionary-encoded text quoted (a dictionary's
    texts once each), booleans as words; any other type goes through pandas."""
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    kind = values.type
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        return _Wrapped('"', _json_escaped(values), '"')
    if pa.types.is_boolean(kind):
        return pc.if_else(values, "true", "false")
    if pa.types.is_dictionary(kind) and pa.types.is_string(kind.value_type):
        return pa.DictionaryArray.from_arrays(values.indices, json_quote(values.dictionary)).cast(
            pa.string()
        )
    return _json_values(values.to_pandas())


def evidence_json(ev: pd.DataFrame | Mapping[str, Any]) -> pa.Array:
    """One JSON object (text) per row from evidence columns (nulls dropped, ``a.b`` nested).

    The columns are a DataFrame or a mapping of name to values of equal length (pandas Series,
    NumPy arrays, Arrow arrays, or `JsonArray`s of ready JSON).

    The whole object is one row-wise join of every member's values with its lead text (`{"key": `
    for the row's first member, `, "key": ` after one), so each value's bytes are copied once:
    a lead is null where its value is, and the join skips both.
    """
    columns = {name: ev[name] for name in ev.columns} if isinstance(ev, pd.DataFrame) else ev
    n = len(ev) if isinstance(ev, pd.DataFrame) else _length(columns)
    if not columns:
        return pa.repeat(pa.scalar("{}"), n)
    groups: dict[str, list[str]] = {}
    for name in columns:
        head = name.split(".", 1)[0]
        groups.setdefault(head, []).append(name)
    pieces: list = []
    opened = _Opened(n)
    for head, names in groups.items():
        if names == [head]:
            pieces += _member(opened, head, _json_values(columns[head]))
            continue
        inner_pieces: list = []
        inner = _Opened(n)
        for name in names:
            value = _json_values(columns[name])
            inner_pieces += _member(inner, name.split(".", 1)[1], value)
        if inner.rows is False:
            continue  # a nested object with no member on any row is left out, as a null is
        pieces += [opened.lead(head, inner.rows), *inner_pieces, inner.closing(None)]
    pieces.append(opened.closing("{}"))
    if not any(isinstance(piece, (pa.Array, pa.ChunkedArray)) for piece in pieces):
        return pa.repeat(pc.binary_join_element_wise(*pieces, ""), n)
    return pc.binary_join_element_wise(*pieces, "", null_handling="skip")


def _member(opened: _Opened, key: str, value: pa.Array | _Wrapped) -> list:
    """The pieces of one member (its lead, its values, and what follows them); none when it has
    no value at all."""
    before, values, after = value if isinstance(value, _Wrapped) else ("", value, "")
    valid = _valid(values)
    if valid is False:
        return []
    pieces = [opened.lead(key, valid, before), values]
    if after:
        pieces.append(_texts_where(valid, after, None, len(values)))
    return pieces


class _Opened:
    """Which rows of one JSON object already have a member (so the next one is led by ", ")."""

    def __init__(self, n: int):
        self.n = n
        self.rows: np.ndarray | bool = False  # False: no row yet; True: every row

    def lead(self, key: str, valid: np.ndarray | bool, before: str = "") -> pa.Array | pa.Scalar:
        """The text before a member's value on each row: `{"key": ` on a row's first member,
        `, "key": ` after one (each followed by `before`), null where the value is null; a
        scalar when all rows agree."""
        quoted = json.dumps(key, ensure_ascii=False) + ": " + before
        opened, self.rows = self.rows, _either(self.rows, valid)
        if valid is True and opened is True:
            return pa.scalar(", " + quoted)
        if valid is True and opened is False:
            return pa.scalar("{" + quoted)
        later = np.broadcast_to(opened, (self.n,))
        present = np.broadcast_to(valid, (self.n,))
        codes = pa.array(later.astype(np.int8), mask=~present)
        return pa.DictionaryArray.from_arrays(
            codes, pa.array(["{" + quoted, ", " + quoted], pa.string())
        ).cast(pa.string())

    def closing(self, empty: str | None) -> pa.Array | pa.Scalar:
        """The text after the last member: "}" on rows with a member, `empty` on the others."""
        return _texts_where(self.rows, "}", empty, self.n)


def _texts_where(rows: np.ndarray | bool, yes: str, no: str | None, n: int) -> pa.Array | pa.Scalar:
    """`yes` on the rows, `no` (text or null) on the others: a scalar when one holds for all."""
    if rows is True:
        return pa.scalar(yes)
    if rows is False:
        return pa.scalar(no, pa.string())
    has = np.asarray(rows)
    if no is None:
        codes = pa.array(np.zeros(n, np.int8), mask=~has)
        texts = pa.array([yes], pa.string())
    else:
        codes = pa.array((~has).astype(np.int8))
        texts = pa.array([yes, no], pa.string())
    return pa.DictionaryArray.from_arrays(codes, texts).cast(pa.string())


def _either(a: np.ndarray | bool, b: np.ndarray | bool) -> np.ndarray | bool:
    """Row-wise or of two masks, each possibly a plain True/False for every row."""
    if a is True or b is True:
        return True
    if a is False:
        return b
    if b is False:
        return a
    both = np.asarray(a) | np.asarray(b)
    return True if both.all() else both


def _valid(values: pa.Array) -> np.ndarray | bool:
    """The rows with a value: a mask, or True/False when it holds for every row."""
    nulls = values.null_count
    if nulls == 0:
        return True
    if nulls == len(values):
        return False
    return values.is_valid().to_numpy(zero_copy_only=False)


def _length(columns: Mapping[str, Any]) -> int:
    return len(next(iter(columns.values()))) if columns else 0


def arrow_text(values) -> pa.Array:
    """Values (Arrow or NumPy/pandas, nulls allowed) as an Arrow string array."""
    if isinstance(values, (pa.Array, pa.ChunkedArray)):
        return values.cast(pa.string())
    return pa.array(values, type=pa.string(), from_pandas=True)
