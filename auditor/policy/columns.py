"""Fast column helpers on Arrow-backed pandas columns (shared by selection, the controls and metering)."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

__all__ = ["arrow_of", "codes_of", "encode", "equals", "index_in", "string_mask", "take"]

# Below this many values, hashing them on two threads costs more than it saves.
PARALLEL_MIN_ROWS = 300_000


def arrow_of(series: pd.Series) -> pa.Array | pa.ChunkedArray:
    """The column as a pyarrow (chunked) array, zero-copy for Arrow-backed string columns.

    Chunks are kept as they are: combining them would copy every string of a large table.
    """
    if isinstance(series.dtype, pd.CategoricalDtype):
        codes = series.array.codes
        return pa.DictionaryArray.from_arrays(
            pa.array(codes, mask=codes < 0), _categories_of(series)
        )
    arrow = getattr(series.array, "__arrow_array__", None)
    if arrow is not None:
        result = arrow()
    else:
        result = pa.array(
            series.to_numpy(dtype=object, na_value=None), type=pa.string(), from_pandas=True
        )
    if isinstance(result, pa.ChunkedArray) and result.num_chunks == 1:
        result = result.chunk(0)
    return result


def _categories_of(series: pd.Series) -> pa.Array:
    """A categorical column's categories as an Arrow string array."""
    labels = series.cat.categories
    # Arrow-backed categories convert without a Python object each (there may be many).
    to_arrow = getattr(labels.array, "__arrow_array__", None)
    if to_arrow is not None:
        return _array(to_arrow()).cast(pa.string())
    return pa.array([str(c) for c in labels], type=pa.string())


def _array(values) -> pa.Array:
    return values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values


def _is_string(values) -> bool:
    return pa.types.is_string(values.type) or pa.types.is_large_string(values.type)


def index_in(
    values: pd.Series,
    lookup: pd.Series,
    pool: ThreadPoolExecutor | None = None,
    parallel_min_rows: int = PARALLEL_MIN_ROWS,
) -> np.ndarray:
    """Position of each value in `lookup` (first occurrence), -1 where absent or null.

    With a `pool`, the values are hashed in two halves on two threads (Arrow releases the GIL) once
    there are at least `parallel_min_rows` of them.
    """
    n = len(values)
    if not n or not len(lookup):
        return np.full(n, -1, dtype=np.int64)
    if isinstance(values.dtype, pd.CategoricalDtype):
        # Dictionary-encoded once (when read): look up each distinct value, not each row.
        categories = pd.Series(values.cat.categories.astype(str), dtype="str")
        found = np.append(index_in(categories, lookup), -1)  # code -1 (null) -> -1
        return found[values.array.codes]
    found_in = arrow_of(values)
    if not _is_string(found_in):
        found_in = found_in.cast(pa.string())
    value_set = _array(arrow_of(lookup))
    if value_set.type != found_in.type:
        value_set = value_set.cast(found_in.type)

    def positions(piece) -> np.ndarray:
        found = pc.index_in(piece, value_set=value_set).fill_null(-1)
        return found.to_numpy(zero_copy_only=False).astype(np.int64, copy=False)

    if pool is None or n < max(parallel_min_rows, 2):
        return positions(found_in)
    half = n // 2
    first = pool.submit(positions, found_in.slice(0, half))
    second = positions(found_in.slice(half))
    return np.concatenate([first.result(), second])


def equals(series: pd.Series, value: str) -> np.ndarray:
    """Boolean mask series == value (null -> False)."""
    if isinstance(series.dtype, pd.CategoricalDtype):  # compare the codes, not the strings
        categories = [str(c) for c in series.cat.categories]
        if value not in categories:
            return np.zeros(len(series), dtype=bool)
        return series.array.codes == categories.index(value)
    return pc.fill_null(pc.equal(arrow_of(series), value), False).to_numpy(zero_copy_only=False)


def string_mask(series: pd.Series, test: Callable[[pd.Series], pd.Series]) -> np.ndarray:
    """Per row, `test` (a vectorised predicate on a string Series) of a string column; null -> False.

    A categorical column is tested once per category, not once per row.
    """
    if isinstance(series.dtype, pd.CategoricalDtype):
        categories = pd.Series([str(c) for c in series.cat.categories], dtype="str")
        hit = np.append(test(categories).to_numpy(dtype=bool, na_value=False), False)
        return hit[series.cat.codes.to_numpy()]  # code -1 (null) -> the appended False
    return test(series.astype("str")).to_numpy(dtype=bool, na_value=False)


def take(series: pd.Series, idx: np.ndarray) -> pa.Array:
    """Rows `idx` of a string column as an Arrow array, without copying the whole column.

    (`take` on a ChunkedArray concatenates its chunks first, an O(n) copy per call.)
    A categorical column gives a dictionary array of the taken rows' codes (its categories as the
    dictionary), without turning every row's code into Arrow first.
    """
    if isinstance(series.dtype, pd.CategoricalDtype):
        codes = series.array.codes[idx]
        return pa.DictionaryArray.from_arrays(
            pa.array(codes, mask=codes < 0), _categories_of(series)
        )
    arr = arrow_of(series)
    positions = pa.array(idx, type=pa.int64())
    if isinstance(arr, pa.Array):
        return arr.take(positions)
    if arr.num_chunks == 1:
        return arr.chunk(0).take(positions)
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
    where = np.concatenate([sel for sel, _ in pieces]) if pieces else np.zeros(0, np.int64)
    return merged.take(pa.array(np.argsort(where, kind="stable"), type=pa.int64()))


def codes_of(series: pd.Series) -> tuple[np.ndarray, list]:
    """(int32 codes with -1 for null, distinct values) of a string column, via Arrow's dictionary encoding."""
    if not len(series):
        return np.empty(0, dtype=np.int32), []
    if isinstance(series.dtype, pd.CategoricalDtype):  # already encoded (e.g. read as dictionary)
        return series.array.codes.astype(np.int32), [str(c) for c in series.cat.categories]
    return encode(arrow_of(series))


def encode(values) -> tuple[np.ndarray, list]:
    """Dictionary-encode a (chunked) string array: (int32 codes, -1 for null; distinct values)."""
    encoded = pc.dictionary_encode(values.cast(pa.string()))
    if isinstance(encoded, pa.ChunkedArray):
        if encoded.num_chunks == 0:
            return np.empty(0, dtype=np.int32), []
        encoded = encoded.unify_dictionaries()
        dictionary = encoded.chunk(0).dictionary
        codes = np.concatenate(
            [c.indices.fill_null(-1).to_numpy(zero_copy_only=False) for c in encoded.chunks]
        )
        return codes.astype(np.int32), dictionary.to_pylist()
    codes = encoded.indices.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int32)
    return codes, encoded.dictionary.to_pylist()
