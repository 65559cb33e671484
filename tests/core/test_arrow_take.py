"""Rows of a chunked text column taken chunk by chunk: the same values, order, nulls and dtype as
pyarrow's and pandas' own take."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa

from auditor.arrow_take import take_rows, take_series


def _chunked() -> pa.ChunkedArray:
    return pa.chunked_array([pa.array(["a", "b"]), pa.array(["c"]), pa.array([None, "e", "f"])])


def test_take_rows_follows_the_order_asked_and_nulls_negative_rows() -> None:
    rows = np.array([4, -1, 0, 2, 3, 1, 5, 4])
    assert take_rows(_chunked(), rows).to_pylist() == ["e", None, "a", "c", None, "b", "f", "e"]


def test_take_rows_of_one_array_and_of_nothing() -> None:
    assert take_rows(pa.array(["x", "y"]), np.array([1, -1])).to_pylist() == ["y", None]
    assert take_rows(_chunked(), np.array([], dtype=np.int64)).to_pylist() == []


def test_take_series_equals_pandas_take_for_every_dtype() -> None:
    rng = np.random.default_rng(3)
    text = pd.Series(pd.array(_chunked(), dtype=pd.StringDtype("pyarrow", na_value=np.nan)))
    many = pd.concat([text] * 50, ignore_index=True)
    frame = {
        "text": many,
        "category": many.astype("category"),
        "number": pd.Series(np.arange(len(many))),
    }
    rows = rng.integers(0, len(many), 200)
    for series in frame.values():
        pd.testing.assert_series_equal(
            take_series(series, rows), series.take(rows).reset_index(drop=True)
        )
