"""Findings text on whole columns: numbers written exactly as Python's `g` format writes them, and
sentences joined, chosen and looked up row by row."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from auditor.controls import frames as fr
from auditor.controls.text import (
    by_code,
    choose,
    first_of,
    join,
    number_text,
    present,
    replace_rows,
)


def _python(values: np.ndarray, digits: int) -> list[str]:
    return ["?" if v != v else f"{round(float(v), digits):g}" for v in values]


EDGES = np.array(
    [
        0.0,
        -0.0,
        np.nan,
        np.inf,
        -np.inf,
        0.25,  # exactly half: round() goes to the even 0.2
        0.35,  # just below half in binary: round() gives 0.3
        2.5,
        0.05,
        -0.04,  # rounds to -0.0, which `g` writes "-0"
        1e-5,
        99999.95,
        123456.7,  # `g` keeps six digits: "123457"
        999999.5,
        1234567.0,  # `g` switches to an exponent: "1.23457e+06"
        1e20,
        170.0,
        169.99999,
    ]
)


@pytest.mark.parametrize("digits", [0, 1, 2, 3, 4, 5])
def test_number_text_writes_what_round_and_g_write(digits: int) -> None:
    rng = np.random.default_rng(7)
    values = np.concatenate(
        [
            EDGES,
            rng.uniform(-1e3, 2e6, 20_000),
            rng.exponential(50, 20_000),
            rng.integers(-20_000, 20_000, 20_000) / 20,  # many exact halves and quarters
            rng.uniform(0, 1e4, 20_000)
            .astype(np.float32)
            .astype(np.float64),  # evidence is float32
        ]
    )
    assert number_text(values, digits).to_pylist() == _python(values, digits)


def test_fmt_keeps_its_object_texts() -> None:
    values = np.array([26.0, 30.54, np.nan, -0.0])
    texts = fr.fmt(values)
    assert texts.dtype == object
    assert list(texts) == ["26", "30.5", "?", "-0"]


def test_number_text_of_nothing_is_empty() -> None:
    assert len(number_text(np.array([]))) == 0


def test_join_repeats_plain_text_and_nulls_a_row_with_a_missing_piece() -> None:
    names = pa.array(["a", None, "c"])
    assert join("x ", names, ".").to_pylist() == ["x a.", None, "x c."]


def test_choose_and_first_of_take_the_first_condition_that_holds() -> None:
    yes = np.array([True, False, False])
    assert choose(yes, "y", pa.array(["1", "2", "3"])).to_pylist() == ["y", "2", "3"]
    picked = first_of(
        [(np.array([True, True, False]), "first"), (np.array([True, False, True]), "second")],
        pa.array(["d1", "d2", "d3"]),
    )
    assert picked.to_pylist() == ["first", "first", "second"]


def test_by_code_spreads_texts_and_nulls_negative_codes() -> None:
    assert by_code(["a", None, "c"], np.array([2, 0, -1, 1])).to_pylist() == ["c", "a", None, None]
    assert by_code([], np.array([0, 1])).to_pylist() == [None, None]


def test_present_is_what_if_text_tests() -> None:
    assert list(present(pa.array(["x", "", None]))) == [True, False, False]


def test_replace_rows_puts_values_at_the_positions() -> None:
    texts = pa.array(["a", "b", "c", "d"])
    assert replace_rows(texts, np.array([1, 3]), ["B", "D"]).to_pylist() == ["a", "B", "c", "D"]
    assert replace_rows(texts, np.array([], dtype=np.int64), []) is texts
