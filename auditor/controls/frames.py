"""Building blocks for controls: evidence frames, unit conversions, short texts, label columns.

Shared by the built-in controls and open to plug-in controls. Everything works on whole columns.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import pyarrow as pa

from auditor.arrow_take import take_rows, take_series
from auditor.controls.context import US_PER_DAY, US_PER_HOUR, Context
from auditor.controls.text import by_code, number_text
from auditor.controls.verdicts import FAIL, WAIVED
from auditor.policy.columns import arrow_of

__all__ = [
    "bits_to_labels",
    "categorical",
    "col",
    "col_text",
    "days",
    "fmt",
    "hours",
    "num",
    "pair_frame",
    "plan_attr",
    "plan_remedy",
    "plan_text",
    "rp_arn_text",
    "rp_arns",
    "rp_rows",
    "select",
    "status_of",
]


def pair_frame(ctx: Context, status: np.ndarray, **evidence) -> pd.DataFrame:
    """One row per (resource, plan) pair with its status and `ev.` evidence columns."""
    data = {"ridx": ctx.pair_ridx, "plan": ctx.pair_plan, "status": status.astype(np.int8)}
    for name, values in evidence.items():
        # Evidence is kept until findings are written: narrow types halve its memory on big estates.
        if isinstance(values, np.ndarray) and values.dtype == np.float64:
            values = values.astype(np.float32)
        elif isinstance(values, np.ndarray) and values.dtype == np.int64:
            values = values.astype(np.int32)
        elif isinstance(values, np.ndarray):
            values = values.copy()  # the part owns its evidence, whatever the control does next
        data["ev." + name.replace("__", ".")] = values
    # Not copied: every part shares the context's pair columns (never written in place), which
    # saves two columns per part (~200 MiB over 25M pairs).
    return pd.DataFrame(data, copy=False)


def hours(us: np.ndarray, missing: np.ndarray) -> np.ndarray:
    """µs as hours (NaN where `missing`)."""
    out = us.astype(float) / US_PER_HOUR
    out[missing] = np.nan
    return out


def days(us: np.ndarray, missing: np.ndarray) -> np.ndarray:
    """µs as days (NaN where `missing`)."""
    out = us.astype(float) / US_PER_DAY
    out[missing] = np.nan
    return out


def fmt(values: np.ndarray, digits: int = 1) -> np.ndarray:
    """Numbers as short text ('26', '30.5'); NaN -> '?' (as objects; `text.number_text` gives
    the same texts as an Arrow array)."""
    texts = number_text(np.asarray(values, dtype=np.float64).reshape(-1), digits)
    return np.asarray(texts.to_numpy(zero_copy_only=False), dtype=object)


def plan_text(frame: pd.DataFrame, ctx: Context, getter) -> pa.Array:
    """Per row, a text about its plan made once per plan (`str` of the getter's value; "None" for
    rows without a plan, as `plan_attr(...).astype(str)` writes it)."""
    texts = [str(getter(p)) for p in ctx.plans] + ["None"]
    codes = frame["plan"].to_numpy().astype(np.int64)
    return by_code(texts, np.where(codes >= 0, codes, len(ctx.plans)))


def col(frame: pd.DataFrame, name: str) -> np.ndarray:
    """Evidence column `name` as objects (None where absent)."""
    return (
        frame["ev." + name].to_numpy(dtype=object, na_value=None)
        if "ev." + name in frame
        else np.full(len(frame), None, dtype=object)
    )


def col_text(frame: pd.DataFrame, name: str) -> pa.Array:
    """Evidence column `name` as an Arrow string array (null where missing or absent); categories
    are decoded by Arrow, not one Python string per row."""
    if "ev." + name not in frame:
        return pa.nulls(len(frame), pa.string())
    values = arrow_of(frame["ev." + name])
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    return values.cast(pa.string())


def rp_arn_text(ctx: Context, rows: np.ndarray) -> pa.Array:
    """Recovery point ARNs of rows of the recovery_points table as Arrow text (-1 -> null)."""
    rows = np.asarray(rows, dtype=np.int64)
    if not len(ctx.rp) or not (rows >= 0).any():
        return pa.nulls(len(rows), pa.string())
    return take_rows(arrow_of(ctx.rp["recovery_point_arn"]), rows).cast(pa.string())


def num(frame: pd.DataFrame, name: str) -> np.ndarray:
    """Evidence column `name` as floats."""
    return frame["ev." + name].to_numpy(dtype=float, na_value=np.nan)


def status_of(frame: pd.DataFrame) -> np.ndarray:
    """The status codes of a part's frame."""
    return frame["status"].to_numpy()


def select(conditions: list[tuple[np.ndarray, object]], default) -> np.ndarray:
    """Per row, the value of the first condition that holds (`default` otherwise)."""
    out = np.full(len(conditions[0][0]) if conditions else 0, None, dtype=object)
    done = np.zeros(len(out), dtype=bool)
    for cond, value in conditions:
        take = cond & ~done
        out[take] = value[take] if isinstance(value, np.ndarray) else value
        done |= take
    rest = ~done
    out[rest] = default[rest] if isinstance(default, np.ndarray) else default
    return out


def plan_attr(frame: pd.DataFrame, ctx: Context, getter) -> np.ndarray:
    """Per row, an attribute of its plan (None for rows without a plan)."""
    table = np.array([getter(p) for p in ctx.plans] + [None], dtype=object)
    return table[frame["plan"].to_numpy().astype(np.int64)]


def plan_remedy(frame: pd.DataFrame, ctx: Context, getter) -> np.ndarray:
    """Per row that calls for a change (FAIL, or waived), a remediation about its plan made once
    per plan; None for the other rows, whose remediation the findings leave empty anyway (so
    their long texts are never copied)."""
    texts = plan_attr(frame, ctx, getter)
    texts[~np.isin(status_of(frame), (FAIL, WAIVED))] = None
    return texts


def bits_to_labels(bits: np.ndarray, names: list[str]) -> pd.Categorical:
    """Per row, the names whose bit is set, comma-joined (None when no bit is set)."""
    uniq, inverse = np.unique(bits, return_inverse=True)
    labels = [", ".join(n for i, n in enumerate(names[:62]) if (u >> i) & 1) or None for u in uniq]
    return categorical(inverse.reshape(-1), labels)


def categorical(codes: np.ndarray, labels: list) -> pd.Categorical:
    """A Categorical from integer codes into `labels` (None labels and codes < 0 become null)."""
    uniq = sorted({label for label in labels if label is not None})
    remap = np.array(
        [uniq.index(label) if label is not None else -1 for label in labels] + [-1], dtype=np.int64
    )
    codes = np.asarray(codes, dtype=np.int64)
    return pd.Categorical.from_codes(
        remap[np.where(codes >= 0, codes, len(labels))], categories=uniq
    )


def rp_arns(ctx: Context, rows: np.ndarray) -> np.ndarray:
    """Recovery point ARNs of rows of the recovery_points table (-1 -> None)."""
    out = np.full(len(rows), None, dtype=object)
    has = rows >= 0
    if has.any():
        out[has] = take_series(ctx.rp["recovery_point_arn"], rows[has]).to_numpy(
            dtype=object, na_value=None
        )
    return out


def rp_text(ctx: Context, column: str, rows: np.ndarray) -> pa.Array:
    """A text column of recovery_points at rows by position (-1 -> null), as Arrow: an
    Arrow-backed or categorical column is taken chunk by chunk without a Python object per row."""
    series = ctx.rp[column]
    if isinstance(series.dtype, pd.CategoricalDtype):
        # the codes of these rows only, and the few categories they use
        has = rows >= 0
        codes = series.array.codes[rows[has]]
        used, inverse = np.unique(codes, return_inverse=True)
        at = np.full(len(rows), -1, dtype=np.int64)
        at[has] = np.where(codes >= 0, inverse, -1)
        texts = np.asarray(series.cat.categories[used[used >= 0]], dtype=object)
        shift = int((used < 0).sum())  # a missing code sorts first and has no category
        return by_code([str(t) for t in texts], np.where(at >= shift, at - shift, -1))
    if isinstance(series.dtype, pd.StringDtype) and series.dtype.storage == "pyarrow":
        return take_rows(arrow_of(series), rows).cast(pa.string())
    out = np.full(len(rows), None, dtype=object)
    has = rows >= 0
    out[has] = take_series(series, rows[has]).to_numpy(dtype=object, na_value=None)
    return pa.array(out, pa.string())


def rp_rows(ctx: Context, rows: np.ndarray, columns: Sequence[str] | None = None) -> pd.DataFrame:
    """Rows of recovery_points by position (in the order given), with a fresh 0..n-1 index;
    every column, or only `columns`.

    Each column is taken by position, a chunk of its file at a time (`take_series`): a batch of
    findings needs a few thousand rows, and neither a mask over the whole table nor pandas'
    `iloc` (which joins a text column's chunks into one first) should cost a pass over every row.
    """
    names = list(ctx.rp.columns) if columns is None else columns
    return pd.DataFrame(
        {c: take_series(ctx.rp[c], rows) for c in names}, index=pd.RangeIndex(len(rows))
    )
