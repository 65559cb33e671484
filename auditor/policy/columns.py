"""Fast column helpers on Arrow-backed pandas columns (shared by selection and the controls)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

__all__ = ["arrow_of", "index_in", "codes_of"]


def arrow_of(series: pd.Series) -> pa.Array:
    """The column as one pyarrow array (zero-copy for Arrow-backed string columns)."""
    arrow = getattr(series.array, "__arrow_array__", None)
    if arrow is not None:
        result = arrow()
    else:
        result = pa.array(series.to_numpy(dtype=object, na_value=None), type=pa.string(), from_pandas=True)
    if isinstance(result, pa.ChunkedArray):
        result = result.combine_chunks() if result.num_chunks != 1 else result.chunk(0)
    return result


def index_in(values: pd.Series, lookup: pd.Series) -> np.ndarray:
    """Position of each value in `lookup` (first occurrence), -1 where absent or null."""
    if not len(values) or not len(lookup):
        return np.full(len(values), -1, dtype=np.int64)
    found = pc.index_in(arrow_of(values).cast(pa.string()), value_set=arrow_of(lookup).cast(pa.string()))
    return found.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int64)


def codes_of(series: pd.Series) -> tuple[np.ndarray, list]:
    """(int32 codes with -1 for null, distinct values) of a string column, via Arrow's dictionary encoding."""
    if not len(series):
        return np.empty(0, dtype=np.int32), []
    encoded = pc.dictionary_encode(arrow_of(series).cast(pa.string()))
    codes = encoded.indices.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int32)
    return codes, encoded.dictionary.to_pylist()
