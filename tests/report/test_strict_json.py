"""Every JSON writer emits strict JSON: a missing value is null, never NaN or Infinity."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

from auditor import jsonsafe
from auditor.report import render


def test_missing_values_of_every_pandas_kind_become_null(strict_json):
    frame = pd.DataFrame(
        {
            "text": ["a", None, np.nan],
            "number": [1.5, np.nan, np.inf],
            "nullable": pd.array([1, pd.NA, 3], dtype="Int64"),
            "when": [pd.Timestamp("2026-11-26T12:00Z"), pd.NaT, pd.Timestamp("2026-11-27T00:00Z")],
        }
    )
    text = jsonsafe.dumps({"rows": jsonsafe.records(frame), "worst": -math.inf})
    doc = strict_json(text)
    assert doc["rows"][1] == {"text": None, "number": None, "nullable": None, "when": None}
    assert doc["rows"][2]["text"] is None and doc["rows"][2]["number"] is None
    assert doc["rows"][0] == {
        "text": "a",
        "number": 1.5,
        "nullable": 1,
        "when": "2026-11-26T12:00:00+00:00",
    }
    assert doc["worst"] is None


def test_numpy_scalars_and_nested_containers():
    doc = json.loads(
        jsonsafe.dumps({"n": np.int64(3), "f": np.float32(0.5), "nested": [{"x": (np.nan,)}]})
    )
    assert doc == {"n": 3, "f": 0.5, "nested": [{"x": [None]}]}


def test_sample_results_render_strict_json_in_every_json_format(results, strict_json):
    # The sample holds a finding whose plan is missing: pandas stores it as NaN in the frame.
    assert results.findings["plan"].isna().any()
    for fmt in ("json", "sarif"):
        doc = strict_json(render(results, fmt))
        assert doc
    sarif = strict_json(render(results, "sarif"))
    plans = [r["properties"]["plan"] for r in sarif["runs"][0]["results"]]
    assert None in plans and not any(isinstance(p, float) for p in plans)


def test_a_nan_the_converter_misses_fails_instead_of_writing_nan(monkeypatch):
    monkeypatch.setattr(jsonsafe, "jsonable", lambda value: value)
    with pytest.raises(ValueError):
        jsonsafe.dumps({"x": float("nan")})
