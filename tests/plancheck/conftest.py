"""Fixtures for plan-check tests: fixture templates of both kinds, the policy folder, a fixed as_of."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace

import pytest

FIXTURES = Path(__file__).parent / "fixtures"
POLICIES = FIXTURES / "policies"
AS_OF = datetime(2026, 11, 26, tzinfo=UTC)


def check(*names: str, parameters: dict | None = None, policies: Path = POLICIES):
    """Run plan_check on fixture templates (paths relative to fixtures/)."""
    from auditor.plancheck import plan_check

    return plan_check(policies, [FIXTURES / n for n in names], AS_OF, parameters)


def verdicts(result) -> dict[tuple[str, str, str | None], str]:
    """{(resource, control_id, plan): status} of a result."""
    return {(f["resource"], f["control_id"], f["plan"]): f["status"] for f in result.findings}


def line_of_text(path: Path, needle: str) -> int:
    """1-based line of the first line of `path` containing `needle` (an independent line count)."""
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        if needle in line:
            return number
    raise AssertionError(f"{needle!r} not in {path}")


@pytest.fixture
def pc() -> SimpleNamespace:
    """Helpers and constants for plan-check tests (tests import nothing from conftest)."""
    return SimpleNamespace(
        FIXTURES=FIXTURES,
        POLICIES=POLICIES,
        AS_OF=AS_OF,
        check=check,
        verdicts=verdicts,
        line_of_text=line_of_text,
    )


@pytest.fixture
def write(tmp_path):
    """Write a text file under tmp_path and return its path."""

    def _write(name: str, text: str) -> Path:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        return path

    return _write
