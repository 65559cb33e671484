"""Through the installed `auditor` console script: usage errors exit 2 with click's usage line, and
a run that cannot reach AWS stops at once without touching the last good results."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from auditor.history import record_run
from auditor.report.sample import make_results

ROOT = Path(__file__).resolve().parents[2]
POLICIES = ROOT / "policies"


def _console_script() -> str:
    beside = Path(sys.executable).with_name("auditor")
    found = str(beside) if beside.exists() else shutil.which("auditor")
    if not found:
        pytest.skip("the auditor console script is not installed")
    return found


def _run(args: list[str], env: dict[str, str] | None = None, cwd: Path | None = None):
    environment = {**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "200", **(env or {})}
    environment.pop("AUDITOR_DEBUG", None)
    return subprocess.run(
        [_console_script(), *args],
        capture_output=True,
        text=True,
        env=environment,
        cwd=cwd,
        timeout=120,
    )


@pytest.mark.parametrize(
    "args",
    [
        ["audti"],
        ["audit", "--bogus"],
        ["audit"],
        ["audit", "--policies", str(POLICIES), "--max-workers", "abc"],
        ["evidence", "verify"],
        ["collect", "--out"],
    ],
    ids=[
        "unknown-command",
        "unknown-option",
        "missing-policies",
        "not-an-int",
        "missing-file",
        "no-value",
    ],
)
def test_usage_errors_exit_2_with_the_usage_line(args, tmp_path):
    proc = _run(args, cwd=tmp_path)
    assert proc.returncode == 2, proc.stderr
    assert "Usage: auditor" in proc.stderr
    assert "internal error" not in proc.stderr and "Traceback" not in proc.stderr
    assert not list(tmp_path.iterdir())  # nothing written


@pytest.mark.parametrize("command", ["audit", "collect"])
def test_help_shows_plain_flags_and_named_values(command):
    proc = _run([command, "--help"])
    assert proc.returncode == 0, proc.stderr
    assert "<bool>" not in proc.stdout and "<list[str]>" not in proc.stdout
    for metavar in ("REGION", "ID", "NAME", "FILE", "N"):
        assert f" {metavar} " in proc.stdout, metavar
    if command == "audit":
        assert " FORMAT " in proc.stdout


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def test_unreachable_endpoint_leaves_the_last_good_run_untouched(tmp_path):
    reports = tmp_path / "reports"
    out = reports / "latest"
    (out / "inventory").mkdir(parents=True)
    (out / "report.html").write_text("<html>the last good report</html>")
    (out / "run.json").write_text('{"exit_code": 3}\n')
    (out / "inventory" / "manifest.json").write_text('{"schema_version": 1}\n')
    record_run(reports / "history.sqlite", make_results(with_inventory=False))
    before = _snapshot(tmp_path)

    started = time.monotonic()
    proc = _run(
        ["audit", "--policies", str(POLICIES), "--region", "us-east-1", "--out", str(out)],
        env={
            "AWS_ENDPOINT_URL": "http://127.0.0.1:1",
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_SESSION_TOKEN": "testing",
        },
    )
    elapsed = time.monotonic() - started

    assert proc.returncode == 1, proc.stderr
    assert elapsed < 30
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(
        "auditor: error: sts:GetCallerIdentity EndpointConnection: "
    ), proc.stderr
    assert _snapshot(tmp_path) == before  # report, inventory and history byte for byte
    assert sorted(p.name for p in reports.iterdir()) == ["history.sqlite", "latest"]
