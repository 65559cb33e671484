"""Fast column helpers on Arrow-backed pandas columns (shared by selection and the controls)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

__all__ = ["arrow_of", "codes_of", "encode", "index_in"]


def arrow_of(series: pd.Series) -> pa.Array | pa.ChunkedArray:
    """The column as a pyarrow (chunked) array, zero-copy for Arrow-backed string columns.

    Chunks are kept as they are: combining them would copy every string of a large table.
    """
    if isinstance(series.dtype, pd.CategoricalDtype):
        codes = series.cat.codes.to_numpy()
        categories = pa.array([str(c) for c in series.cat.categories], type=pa.string())
        return pa.DictionaryArray.from_arrays(pa.array(codes, mask=codes < 0), categories)
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


def _array(values) -> pa.Array:
    return values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values


def index_in(values: pd.Series, lookup: pd.Series) -> np.ndarray:
    """Position of each value in `lookup` (first occurrence), -1 where absent or null."""
    if not len(values) or not len(lookup):
        return np.full(len(values), -1, dtype=np.int64)
    found = pc.index_in(
        arrow_of(values).cast(pa.string()), value_set=_array(arrow_of(lookup).cast(pa.string()))
    )
    return found.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int64)


def codes_of(series: pd.Series) -> tuple[np.ndarray, list]:
    """(int32 codes with -1 for null, distinct values) of a string column, via Arrow's dictionary encoding."""
    if not len(series):
        return np.empty(0, dtype=np.int32), []
    if isinstance(series.dtype, pd.CategoricalDtype):  # already encoded (e.g. read as dictionary)
        return series.cat.codes.to_numpy().astype(np.int32), [str(c) for c in series.cat.categories]
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
