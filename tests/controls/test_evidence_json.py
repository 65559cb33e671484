"""The evidence writer: one JSON object per row, the same text `json.dumps` writes for the same
values (nulls left out, dotted names nested), whatever form the columns come in."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from auditor.controls.evidence import JsonArray, evidence_json
from auditor.controls.text import first_of


def _expected(rows: list[dict]) -> list[str]:
    return [json.dumps(row, ensure_ascii=False) for row in rows]


def test_rows_whose_first_member_is_missing_start_with_their_first_present_member():
    ev = {
        "a": pd.Series([1.5, None, None, 4.0]),
        "b": pa.array(["x", None, 'say "hi"\n', "tab\there"]),
        "c": pd.Series([True, None, False, None], dtype="boolean"),
    }
    out = evidence_json(ev).to_pylist()
    assert out == _expected(
        [
            {"a": 1.5, "b": "x", "c": True},
            {},
            {"b": 'say "hi"\n', "c": False},
            {"a": 4, "b": "tab\there"},
        ]
    )


def test_a_nested_object_without_any_member_on_a_row_is_left_out_of_that_row():
    ev = {
        "when": pd.to_datetime(["2026-11-26T08:30:00Z", None, "2026-01-02T00:00:59Z"], utc=True),
        "copy.us-west-2": pd.to_datetime([None, None, "2026-11-01T00:00:00Z"], utc=True),
        "copy.eu-west-1": pd.to_datetime(["2026-10-01T12:00:00Z", None, None], utc=True),
        "note": np.array([None, "only this", None], dtype=object),
    }
    out = evidence_json(ev).to_pylist()
    assert out == _expected(
        [
            {"when": "2026-11-26T08:30:00Z", "copy": {"eu-west-1": "2026-10-01T12:00:00Z"}},
            {"note": "only this"},
            {"when": "2026-01-02T00:00:59Z", "copy": {"us-west-2": "2026-11-01T00:00:00Z"}},
        ]
    )


def test_ready_json_is_embedded_and_dictionary_text_is_quoted():
    paths = JsonArray(pa.array(['[{"target": "volume"}]', None, "[]"]))
    region = pa.array(["eu-west-1", "us-east-1", None]).dictionary_encode()
    out = evidence_json({"restore_paths": paths, "region": region}).to_pylist()
    assert [json.loads(text) for text in out] == [
        {"restore_paths": [{"target": "volume"}], "region": "eu-west-1"},
        {"region": "us-east-1"},
        {"restore_paths": []},
    ]
    assert out[0] == '{"restore_paths": [{"target": "volume"}], "region": "eu-west-1"}'


@pytest.mark.parametrize(
    ("values", "texts"),
    [
        ([35.0, 7.0, 365.0], ["35", "7", "365"]),  # whole numbers: no ".0"
        ([35.0, 2.556, 0.1], ["35", "2.56", "0.1"]),  # rounded to two decimals
        ([1.0, -0.0], ["1", "-0"]),  # negative zero keeps its sign, as the float cast writes it
        ([float("nan"), 3.0], [None, "3"]),  # missing: the member is left out
    ],
)
def test_numbers_are_written_short(values, texts):
    out = evidence_json({"n": pd.Series(values, dtype="float64")})
    assert out.to_pylist() == ["{}" if t is None else '{"n": ' + t + "}" for t in texts]


def test_no_columns_or_no_values_give_empty_objects():
    assert evidence_json(pd.DataFrame(index=range(2))).to_pylist() == ["{}", "{}"]
    assert evidence_json({"a": pa.nulls(2, pa.string())}).to_pylist() == ["{}", "{}"]
    assert evidence_json({"a": pa.array([], pa.string())}).to_pylist() == []


def test_first_of_takes_the_first_condition_that_holds_on_each_row():
    texts = first_of(
        [
            (np.array([True, False, False, True]), "first"),
            (np.array([True, True, False, False]), pa.array(["x", "second", "y", "z"])),
        ],
        "default",
    )
    assert texts.to_pylist() == ["first", "second", "default", "first"]
