"""`auditor plan-check` with --fail-on, --skip-control and --baseline."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from auditor.cli import app

runner = CliRunner()
FIXTURES = Path(__file__).resolve().parents[1] / "plancheck" / "fixtures"
POLICIES = FIXTURES / "policies" / "backup.yaml"
# Two EBS/EFS resources no declared plan selects: two resource-covered FAILs (high).
UNCOVERED = FIXTURES / "cfn" / "uncovered.yaml"
# A plan whose rules fall short (plan-deployed, high) and keep backups forever (max-retention, low).
SHORT = FIXTURES / "cfn" / "short-retention.yaml"
AS_OF = "2026-11-26T00:00:00Z"


def _plan_check(*args):
    base = ["plan-check", "--policies", str(POLICIES), "--as-of", AS_OF]
    return runner.invoke(app, [*base, *map(str, args)])


def test_fail_on(tmp_path):
    assert _plan_check(UNCOVERED).exit_code == 3
    assert _plan_check(UNCOVERED, "--fail-on", "high").exit_code == 3
    result = _plan_check(UNCOVERED, "--fail-on", "critical")
    assert result.exit_code == 0, result.output
    assert "2 below --fail-on critical" in result.output
    assert _plan_check(UNCOVERED, "--fail-on", "nope").exit_code == 2


def test_skip_control_listed_in_the_report(tmp_path):
    out = tmp_path / "report.json"
    result = _plan_check(
        UNCOVERED, "--skip-control", "resource-covered", "--format", "json", "--out", out
    )
    assert result.exit_code == 0, result.output
    doc = json.loads(out.read_text())
    assert doc["summary"]["skipped_controls"] == ["resource-covered"]
    assert not [f for f in doc["findings"] if f["control_id"] == "resource-covered"]
    # Skipping plan-deployed leaves a low-severity FAIL: exit 3, unless --fail-on medium.
    skip = ["--skip-control", "plan-deployed"]
    assert _plan_check(SHORT, *skip).exit_code == 3
    assert _plan_check(SHORT, *skip, "--fail-on", "medium").exit_code == 0
    assert _plan_check(SHORT, "--skip-control", "plan-deployd").exit_code == 2


def test_baseline_from_a_plan_check_report(tmp_path):
    base = tmp_path / "base.json"
    assert _plan_check(UNCOVERED, "--format", "json", "--out", base, "--no-fail").exit_code == 0
    same = _plan_check(UNCOVERED, "--baseline", base)
    assert same.exit_code == 0, same.output
    assert "2 already in the baseline" in same.output
    # The second template's FAILs are new.
    assert _plan_check(UNCOVERED, SHORT, "--baseline", base).exit_code == 3
    assert _plan_check(UNCOVERED, "--baseline", POLICIES).exit_code == 2


def test_console_script(tmp_path, g):
    base = ["plan-check", "--policies", POLICIES, "--as-of", AS_OF, UNCOVERED]
    assert g.run_cli([*base, "--fail-on", "critical"]).returncode == 0
    skip = g.run_cli([*base, "--skip-control", "resource-covered"])
    assert skip.returncode == 0 and "skipped controls: resource-covered" in skip.stderr
    report = tmp_path / "base.json"
    assert g.run_cli([*base, "--format", "json", "--out", report]).returncode == 3
    assert g.run_cli([*base, "--baseline", report]).returncode == 0
