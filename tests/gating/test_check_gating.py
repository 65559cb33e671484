"""`auditor check` with --fail-on, --skip-control and --baseline: which FAILs decide exit 3."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from auditor.cli import app

runner = CliRunner()


def _check(g, inventory, policy_file, out, *extra):
    args = ["check", "--inventory", inventory, "--policies", policy_file, "--out", out]
    return runner.invoke(app, [*map(str, args), "--as-of", g.AS_OF, *map(str, extra)])


@pytest.fixture
def orphan_only(tmp_path, g):
    """An inventory whose only FAIL is a low-severity orphaned backup."""
    return g.write_estate(tmp_path / "inv", orphan=True)


def test_fail_on_counts_only_graver_failures(tmp_path, orphan_only, policy_file, g):
    assert _check(g, orphan_only, policy_file, tmp_path / "a").exit_code == 3
    assert _check(g, orphan_only, policy_file, tmp_path / "b", "--fail-on", "low").exit_code == 3
    for severity in ("medium", "high", "critical"):
        result = _check(g, orphan_only, policy_file, tmp_path / severity, "--fail-on", severity)
        assert result.exit_code == 0, result.output
        assert f"1 below --fail-on {severity}" in result.output
    # The FAIL is still reported: gating changes the exit code, not the verdicts.
    doc = json.loads((tmp_path / "high" / "findings.json").read_text())
    assert doc["summary"]["by_control"]["orphaned-backup"] == {"FAIL": 1}


def test_fail_on_high_still_fails_a_high_finding(tmp_path, policy_file, g):
    inventory = g.write_estate(tmp_path / "inv", orphan=True, stale=True)
    result = _check(g, inventory, policy_file, tmp_path / "out", "--fail-on", "high")
    assert result.exit_code == 3, result.output
    fails = [
        f
        for f in json.loads((tmp_path / "out" / "findings.json").read_text())["findings"]
        if f["status"] == "FAIL"
    ]
    graver = sum(f["severity"] == "high" for f in fails)
    assert ("backup-recency", "high") in {(f["control_id"], f["severity"]) for f in fails}
    assert f"{graver} of {len(fails)} FAIL counted" in result.output
    assert _check(g, inventory, policy_file, tmp_path / "c", "--fail-on", "critical").exit_code == 0


def test_fail_on_unknown_severity_is_a_usage_error(tmp_path, orphan_only, policy_file, g):
    result = _check(g, orphan_only, policy_file, tmp_path / "out", "--fail-on", "severe")
    assert result.exit_code == 2
    assert "--fail-on 'severe' is not a severity" in result.output
    assert not (tmp_path / "out").exists()


def test_skip_control_is_listed_not_silently_dropped(tmp_path, orphan_only, policy_file, g):
    out = tmp_path / "out"
    result = _check(g, orphan_only, policy_file, out, "--skip-control", "orphaned-backup")
    assert result.exit_code == 0, result.output
    assert "skipped controls: orphaned-backup" in result.output
    doc = json.loads((out / "findings.json").read_text())
    assert doc["summary"]["skipped_controls"] == ["orphaned-backup"]
    assert "orphaned-backup" not in doc["summary"]["by_control"]
    assert not [f for f in doc["findings"] if f["control_id"] == "orphaned-backup"]
    assert "orphaned-backup" not in (out / "findings.csv").read_text()


def test_skip_control_repeatable_and_unknown_id_is_a_usage_error(tmp_path, policy_file, g):
    inventory = g.write_estate(tmp_path / "inv", orphan=True, stale=True)
    skipped = ("orphaned-backup", "backup-recency", "backup-retention")  # every FAIL's control
    every = [arg for cid in skipped for arg in ("--skip-control", cid)]
    assert _check(g, inventory, policy_file, tmp_path / "a", *every).exit_code == 0
    only_one = _check(
        g, inventory, policy_file, tmp_path / "b", "--skip-control", "orphaned-backup"
    )
    assert only_one.exit_code == 3
    unknown = _check(g, inventory, policy_file, tmp_path / "c", "--skip-control", "no-such-control")
    assert unknown.exit_code == 2
    assert "--skip-control 'no-such-control' is not a control id" in unknown.output


def test_baseline_accepts_known_failures_and_fails_new_ones(tmp_path, policy_file, g):
    before = g.write_estate(tmp_path / "before", orphan=True)
    assert _check(g, before, policy_file, tmp_path / "base").exit_code == 3
    baseline = tmp_path / "base" / "findings.json"
    # The same FAIL again: accepted by the baseline.
    same = _check(g, before, policy_file, tmp_path / "same", "--baseline", baseline)
    assert same.exit_code == 0, same.output
    assert "1 already in the baseline" in same.output
    # A new FAIL (a stale volume) that the baseline does not have: exit 3.
    after = g.write_estate(tmp_path / "after", orphan=True, stale=True)
    new = _check(g, after, policy_file, tmp_path / "new", "--baseline", baseline)
    assert new.exit_code == 3
    fails = sum(
        f["status"] == "FAIL"
        for f in json.loads((tmp_path / "new" / "findings.json").read_text())["findings"]
    )
    assert fails > 1 and f"{fails - 1} of {fails} FAIL counted" in new.output


def test_baseline_from_a_compliant_run_accepts_nothing(tmp_path, policy_file, g):
    clean = g.write_estate(tmp_path / "clean")
    assert _check(g, clean, policy_file, tmp_path / "base").exit_code == 0
    dirty = g.write_estate(tmp_path / "dirty", orphan=True)
    baseline = tmp_path / "base" / "findings.json"
    assert _check(g, dirty, policy_file, tmp_path / "o", "--baseline", baseline).exit_code == 3


@pytest.mark.parametrize(
    "content",
    ["not json at all", "[1, 2]", '{"schema_version": 1}', '{"findings": [{"a": 1}]}'],
)
def test_baseline_that_is_not_findings_is_exit_2(tmp_path, orphan_only, policy_file, content, g):
    bad = tmp_path / "bad.json"
    bad.write_text(content)
    result = _check(g, orphan_only, policy_file, tmp_path / "o", "--baseline", bad)
    assert result.exit_code == 2, result.output
    assert f"--baseline {bad}: not a findings.json" in result.output
    assert not (tmp_path / "o").exists()


def test_console_script_exit_codes(tmp_path, orphan_only, policy_file, g):
    """Each option through the installed `auditor` script (the CI's view: exit codes, stderr)."""
    common = ["check", "--inventory", orphan_only, "--policies", policy_file, "--as-of", g.AS_OF]
    assert _check(g, orphan_only, policy_file, tmp_path / "a").exit_code == 3
    fail_on = g.run_cli([*common, "--out", tmp_path / "b", "--fail-on", "medium"])
    assert fail_on.returncode == 0, fail_on.stderr
    skip = g.run_cli([*common, "--out", tmp_path / "c", "--skip-control", "orphaned-backup"])
    assert skip.returncode == 0 and "skipped controls: orphaned-backup" in skip.stderr
    baseline = tmp_path / "a" / "findings.json"
    accepted = g.run_cli([*common, "--out", tmp_path / "d", "--baseline", baseline])
    assert accepted.returncode == 0, accepted.stderr
    bad = g.run_cli([*common, "--out", tmp_path / "e", "--baseline", policy_file])
    assert bad.returncode == 2
    assert bad.stderr.count("\n") == 1 and "not a findings.json" in bad.stderr


def test_no_fail_still_wins_and_incomplete_collection_still_exits_1(tmp_path, policy_file, g):
    inventory = g.write_estate(tmp_path / "inv", orphan=True, stale=True)
    assert _check(g, inventory, policy_file, tmp_path / "a", "--no-fail").exit_code == 0
