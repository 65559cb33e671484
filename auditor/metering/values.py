"""Per-value work on a column once per distinct value when the column is categorical.

A compact inventory's repeated strings arrive as pandas categoricals; a string test such as "is an
Aurora engine" then runs over the few categories and is spread to the rows by their codes, instead
of turning every row back into a string.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd


def per_value(series: pd.Series, test: Callable[[pd.Series], pd.Series]) -> np.ndarray:
    """`test(series)` as a boolean array (missing -> False); `test` must be elementwise."""
    if isinstance(series.dtype, pd.CategoricalDtype):
        n = len(series.cat.categories)
        # every category once, then null (code -1 picks the last)
        each = pd.Series(pd.Categorical.from_codes(np.append(np.arange(n), -1), dtype=series.dtype))
        found = test(each).to_numpy(dtype=bool, na_value=False)
        return found[series.cat.codes.to_numpy()]
    return test(series).to_numpy(dtype=bool, na_value=False)


def codes_among(series: pd.Series, values: list) -> np.ndarray:
    """Per row, the position of its value (as a string) in `values`, -1 where absent or null."""
    index = pd.Index(values)
    if isinstance(series.dtype, pd.CategoricalDtype):
        found = np.append(index.get_indexer(series.cat.categories.astype("str")), -1)
        return found[series.cat.codes.to_numpy()]
    return index.get_indexer(series.astype("str"))
