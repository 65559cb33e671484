"""The one way every output file turns Python and pandas values into JSON text.

pandas marks a missing value as NaN (float columns, and object columns after a merge, reindex or
`concat`), NaT or `pd.NA`; Python's `json` module writes NaN as the bare word `NaN`, which is not
JSON (RFC 8259 has no NaN or Infinity) and which strict parsers, `JSON.parse` among them, reject.
Every writer of findings, SARIF, metering, run, history and manifest files goes through `dumps`,
which turns each missing or non-finite number into `null` and then serialises with
`allow_nan=False`, so a NaN that slips past it fails loudly instead of writing an invalid file.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import math
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["JsonText", "dumps", "jsonable", "records"]


class JsonText(str):
    """Text that already is JSON (a list or object): evidence embeds it as it is, not quoted."""


def _scalar(value: Any) -> Any:
    """A JSON-ready form of one non-container value (None for every kind of missing)."""
    if value is None or isinstance(value, (bool, str, int)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, np.generic):
        return _scalar(value.item())
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    if isinstance(value, (dt.datetime, dt.date)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return _scalar(float(value))
    return str(value)


def jsonable(value: Any) -> Any:
    """`value` with every nested missing value (NaN, NaT, pd.NA, ±inf) turned into None.

    Mappings and sequences (lists, tuples, numpy arrays) are copied; numpy scalars become Python
    numbers; dates and times their ISO 8601 text; anything else its `str`.
    """
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return [jsonable(v) for v in value.tolist()]
    if isinstance(value, (pd.Series, pd.Index)):
        return [jsonable(v) for v in value.tolist()]
    return _scalar(value)


def dumps(
    doc: Any, *, indent: int | None = 2, sort_keys: bool = False, newline: bool = True
) -> str:
    """Strict JSON text of `doc` (UTF-8 characters kept as they are), with a final newline.

    The same text as `json.dumps`; indented text is written into one buffer piece by piece as
    it is made, because `json.dumps` with an indent first lists every piece (millions of small
    strings for a report of 100,000 findings, several times the size of the text), then joins.
    """
    options: dict[str, Any] = {"sort_keys": sort_keys, "ensure_ascii": False, "allow_nan": False}
    if indent is None:  # json's C encoder makes this text, in large pieces
        text = json.dumps(jsonable(doc), **options)
        return text + "\n" if newline else text
    encoder = json.JSONEncoder(indent=indent, **options)
    buffer = io.StringIO()
    for chunk in encoder.iterencode(jsonable(doc)):
        buffer.write(chunk)
    if newline:
        buffer.write("\n")
    return buffer.getvalue()


def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """The rows of `frame` as JSON-ready dicts (missing values None), in column order."""
    columns = [str(c) for c in frame.columns]
    return [
        {c: jsonable(v) for c, v in zip(columns, row)}
        for row in frame.itertuples(index=False, name=None)
    ]
