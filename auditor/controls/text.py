"""Finding text on whole columns with Arrow: numbers as short text, sentences joined from pieces,
per-code texts spread over the rows.

A batch of findings holds hundreds of thousands of rows; a Python f-string or an object-array
`+` per row costs microseconds each, an Arrow kernel over the column a few nanoseconds. Every
helper here takes and returns Arrow string arrays (or takes NumPy arrays), never loops over rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from typing import TypeAlias

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

__all__ = [
    "Piece",
    "by_code",
    "choose",
    "first_of",
    "join",
    "number_text",
    "present",
    "replace_rows",
    "text_of",
]

# A piece of a sentence: the same text on every row, or one text per row.
Piece: TypeAlias = "str | pa.Array | pa.ChunkedArray | np.ndarray"

# `format(x, "g")` writes up to six significant digits in plain notation from 1e-4 up to 1e6:
# numbers inside that range with at most six digits are written by integer arithmetic here.
_G_DIGITS = 6
_MAX_DIGITS = 4


def text_of(values: Piece, n: int | None = None) -> pa.Array:
    """A piece as a string array (a plain text repeated `n` times)."""
    if isinstance(values, str):
        if n is None:
            raise ValueError("a repeated text needs the row count")
        return by_code([values], np.zeros(n, dtype=np.int32))
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    if isinstance(values, pa.Array):
        return values if values.type == pa.string() else values.cast(pa.string())
    return pa.array(values, type=pa.string(), from_pandas=True)


def _arrow_piece(piece: Piece) -> pa.Array | pa.Scalar:
    if isinstance(piece, str):
        return pa.scalar(piece, pa.string())
    return text_of(piece)


def join(*pieces: Piece) -> pa.Array:
    """The pieces concatenated row by row (null where any piece is null)."""
    arrays = [_arrow_piece(p) for p in pieces]
    if not any(isinstance(a, pa.Array) for a in arrays):
        raise ValueError("join needs at least one column")
    return pc.binary_join_element_wise(*arrays, pa.scalar("", pa.string()))


def choose(condition: np.ndarray, yes: Piece, no: Piece) -> pa.Array:
    """Per row, `yes` where `condition` holds, else `no`."""
    mask = pa.array(np.asarray(condition, dtype=bool))
    return pc.if_else(mask, _arrow_piece(yes), _arrow_piece(no))


def first_of(conditions: Sequence[tuple[np.ndarray, Piece]], default: Piece) -> pa.Array:
    """Per row, the piece of the first condition that holds (`default` where none does).

    One `case_when` pass writes each row's text once (a chain of `if_else` wrote every row's
    text once per condition)."""
    pieces = [_arrow_piece(piece) for _, piece in conditions]
    otherwise = _arrow_piece(default)
    if not conditions:
        if isinstance(otherwise, pa.Scalar):
            raise ValueError("first_of needs at least one column")
        return otherwise
    which = pa.StructArray.from_arrays(
        [pa.array(np.asarray(condition, dtype=bool)) for condition, _ in conditions],
        names=[str(i) for i in range(len(conditions))],
    )
    return pc.case_when(which, *pieces, otherwise)


def present(texts: pa.Array) -> np.ndarray:
    """Per row, whether the text is there and not empty (what `if text:` tests)."""
    has = pc.fill_null(pc.greater(pc.utf8_length(texts), 0), False)
    return np.asarray(has.to_numpy(zero_copy_only=False), dtype=bool)


def by_code(texts: Sequence[str | None], codes: np.ndarray) -> pa.Array:
    """Per row, `texts[code]` (null where the code is negative or the text is None): each text is
    made once and spread over the rows by a dictionary cast."""
    codes = np.asarray(codes)
    if not len(texts):
        return pa.nulls(len(codes), pa.string())
    indices = pa.array(codes.astype(np.int32), mask=codes < 0)
    return pa.DictionaryArray.from_arrays(indices, pa.array(list(texts), pa.string())).cast(
        pa.string()
    )


def replace_rows(
    texts: pa.Array, rows: np.ndarray, values: pa.Array | Sequence[str | None]
) -> pa.Array:
    """`texts` with the rows at positions `rows` (ascending) replaced by `values`."""
    if not len(rows):
        return texts
    mask = np.zeros(len(texts), dtype=bool)
    mask[rows] = True
    if not isinstance(values, pa.Array):
        values = pa.array(list(values), pa.string())
    return pc.replace_with_mask(texts, pa.array(mask), values)


@lru_cache(maxsize=_MAX_DIGITS + 1)
def _decimals(digits: int) -> list[str]:
    """Per number of 10**-digits units below one, how `g` writes it after the point."""
    texts = [f"{i:0{digits}d}".rstrip("0") for i in range(10**digits)]
    return ["." + t if t else "" for t in texts]


def number_text(values: np.ndarray, digits: int = 1) -> pa.Array:
    """Numbers as short text, exactly as ``f"{round(float(v), digits):g}"`` writes them ('26',
    '30.5', '-0'); NaN -> '?'.

    Rounded to `digits` decimals, half to even on the number's exact value as `round` does: the
    scaled number decides, except within a millionth of a half, where the float product could
    round either way; those rows, and numbers `g` would write with an exponent or fewer digits,
    are written by Python itself (rare: ages and limits are far from both).
    """
    x = np.asarray(values, dtype=np.float64).reshape(-1)
    n = len(x)
    if not n:
        return pa.array([], pa.string())
    if not 0 <= digits <= _MAX_DIGITS:
        return pa.array(["?" if v != v else f"{round(float(v), digits):g}" for v in x], pa.string())
    with np.errstate(invalid="ignore", over="ignore"):
        scaled = np.abs(x) * 10.0**digits
        whole = np.floor(scaled)
        rounded = np.floor(scaled + 0.5)
        plain = (
            np.isfinite(scaled)
            & (rounded < 10.0**_G_DIGITS)
            & (np.abs(scaled - whole - 0.5) > 1e-6)
        )
    k = np.where(plain, rounded, 0).astype(np.int64)
    unit = 10**digits
    pieces: list[pa.Array] = []
    negative = np.signbit(x)
    if negative.any():
        pieces.append(choose(negative, "-", ""))
    pieces.append(pa.array(k // unit).cast(pa.string()))
    if digits:
        # the decimals by table lookup: "" for none, else "." and the digits without trailing 0s
        pieces.append(by_code(_decimals(digits), k % unit))
    texts = pc.binary_join_element_wise(*pieces, "") if len(pieces) > 1 else pieces[0]
    missing = np.isnan(x)
    if missing.any():
        texts = pc.if_else(pa.array(missing), "?", texts)
    other = np.flatnonzero(~plain & ~missing)
    return replace_rows(texts, other, [f"{round(float(x[i]), digits):g}" for i in other])
