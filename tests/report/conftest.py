"""Fixtures for the renderer tests: the hand-made results of `auditor.report.sample`, golden files."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from auditor.report import sample

GOLDEN = Path(__file__).parent / "golden"
UPDATE = os.environ.get("AUDITOR_UPDATE_GOLDEN") == "1"


@pytest.fixture
def results():
    return sample.make_results()


@pytest.fixture
def results_dir(tmp_path) -> Path:
    return sample.write_results_folder(tmp_path / "results")


def _check_golden(name: str, text: str) -> None:
    """Compare with tests/report/golden/<name>; AUDITOR_UPDATE_GOLDEN=1 rewrites it deliberately."""
    path = GOLDEN / name
    if UPDATE:
        path.write_text(text, encoding="utf-8")
        return
    if not path.exists():
        pytest.fail(f"golden file {path} is missing; run with AUDITOR_UPDATE_GOLDEN=1 to create it")
    assert text == path.read_text(encoding="utf-8"), (
        f"{name} differs from its golden file (AUDITOR_UPDATE_GOLDEN=1 to accept)"
    )


@pytest.fixture
def golden():
    """`golden(name, text)`: assert `text` equals the golden file."""
    return _check_golden


@pytest.fixture
def S():
    """The sample module (constants and builders)."""
    return sample
