"""Fixtures for the gating tests: a small inventory whose only FAIL is a low-severity orphan.

The inventory builder is the control tests' (`tests/controls/conftest.py`), loaded from its file:
conftest modules are not importable by name under pytest's importlib mode.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

from auditor.inventory import write_inventory

_spec = importlib.util.spec_from_file_location(
    "controls_conftest", Path(__file__).resolve().parents[1] / "controls" / "conftest.py"
)
builder = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(builder)

AS_OF = "2026-11-26T12:00:00Z"
# The one plan of the control tests, with plan-deployed waived: the gold volume is compliant.
POLICY = builder.plan_text(accept="[aws-backup]", select="{tags: {backup: gold}}") + (
    "waivers:\n  - {resource: '*', controls: [plan-deployed], reason: tested elsewhere,"
    " expires: 2030-01-01}\n"
)


def write_estate(folder: Path, *, orphan: bool = False, stale: bool = False) -> Path:
    """A gold volume backed up 2 hours ago (compliant); with `orphan`, a backup whose source
    volume no longer exists (orphaned-backup, severity low); with `stale`, a second gold volume
    last backed up 40 hours ago (backup-recency, severity high)."""
    estate = builder.Estate()
    arn = estate.resource("vol-1", tags=builder.GOLD)
    estate.backup(arn, age_hours=2, keep_days=None)
    estate.backup(arn, age_hours=24 * 40, keep_days=None)
    if orphan:  # first, so the orphan keeps its recovery point ARN whatever follows
        gone = arn.replace("vol-1", "vol-gone")
        estate.backup(gone, age_hours=24 * 90, keep_days=None)
    if stale:
        old = estate.resource("vol-stale", tags=builder.GOLD)
        estate.backup(old, age_hours=40, keep_days=None)
    return write_inventory(estate.inventory(), folder)


@pytest.fixture
def policy_file(tmp_path) -> Path:
    path = tmp_path / "policy.yaml"
    path.write_text(POLICY)
    return path


def console_script() -> str:
    """The installed `auditor` script next to this interpreter (it honours PYTHONPATH)."""
    script = Path(sys.executable).with_name("auditor")
    return str(script) if script.exists() else "auditor"


def run_cli(args: list, env: dict | None = None) -> subprocess.CompletedProcess:
    """`auditor ARGS` as a separate process, with this checkout first on PYTHONPATH."""
    root = str(Path(__file__).resolve().parents[2])
    environment = {**os.environ, **(env or {})}
    environment["PYTHONPATH"] = os.pathsep.join(
        [root, *filter(None, [os.environ.get("PYTHONPATH")])]
    )
    return subprocess.run(
        [console_script(), *map(str, args)],
        capture_output=True,
        text=True,
        env=environment,
        timeout=300,
    )


@pytest.fixture
def g():
    """The helpers above (conftest modules are not importable under importlib mode)."""
    from types import SimpleNamespace

    return SimpleNamespace(AS_OF=AS_OF, run_cli=run_cli, write_estate=write_estate)


# The control tests' builder fixtures, for the remediation tests.
estate = pytest.fixture(builder.estate.__wrapped__)
policy = pytest.fixture(builder.policy.__wrapped__)
h = pytest.fixture(builder.h.__wrapped__)
