"""`auditor check` and `auditor validate` through the CLI: outputs and exit codes."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from auditor.cli import app
from auditor.inventory import write_inventory

runner = CliRunner()


def _setup(tmp_path, estate, h, fresh: bool):
    arn = estate.resource("vol-1", tags=h.GOLD)
    estate.backup(arn, age_hours=2 if fresh else 40, keep_days=None)
    estate.backup(arn, age_hours=24 * 40, keep_days=None)
    inv = write_inventory(estate.inventory(), tmp_path / "inv")
    pol = tmp_path / "p.yaml"
    pol.write_text(h.plan_text(accept="[aws-backup]"))
    return inv, pol


def _run(*args):
    return runner.invoke(app, list(map(str, args)))


def test_check_exit_codes(tmp_path, estate, h):
    inv, pol = _setup(tmp_path, estate, h, fresh=False)
    common = ["check", "--inventory", inv, "--policies", pol, "--as-of", "2026-11-26T12:00:00Z"]
    result = _run(*common, "--out", tmp_path / "out")
    assert result.exit_code == 3, result.output
    assert "FAIL" in result.output
    doc = json.loads((tmp_path / "out" / "findings.json").read_text())
    assert doc["summary"]["by_control"]["backup-recency"] == {"FAIL": 1}
    assert (tmp_path / "out" / "findings.csv").is_file()
    assert _run(*common, "--out", tmp_path / "out2", "--no-fail").exit_code == 0


def test_check_compliant_exits_zero(tmp_path, estate, h):
    inv, pol = _setup(tmp_path, estate, h, fresh=True)
    pol.write_text(
        h.plan_text(accept="[aws-backup]", select="{tags: {backup: gold}}")
        + "waivers:\n  - {resource: '*', controls: [plan-deployed], reason: tested elsewhere, expires: 2030-01-01}\n"
    )
    result = _run(
        "check",
        "--inventory",
        inv,
        "--policies",
        pol,
        "--out",
        tmp_path / "out",
        "--as-of",
        "2026-11-26T12:00:00Z",
    )
    assert result.exit_code == 0, result.output


def test_check_bad_inputs_exit_2(tmp_path, estate, h):
    inv, pol = _setup(tmp_path, estate, h, fresh=True)
    bad = tmp_path / "bad.yaml"
    bad.write_text("version: 1\nplans:\n  - name: x\n    frequency: 24h\n")
    result = _run("check", "--inventory", inv, "--policies", bad, "--out", tmp_path / "o")
    assert result.exit_code == 2
    assert f"{bad}:3: plan 'x': missing required field 'retention_days'" in result.output
    assert "Traceback" not in result.output
    result = _run(
        "check", "--inventory", tmp_path / "nope", "--policies", pol, "--out", tmp_path / "o"
    )
    assert result.exit_code == 2 and "auditor: error:" in result.output
    result = _run("check", "--inventory", inv, "--policies", pol, "--as-of", "yesterday")
    assert result.exit_code == 2


def test_validate_exit_codes(tmp_path, h):
    good = tmp_path / "good.yaml"
    good.write_text(
        h.plan_text() + "waivers:\n  - {resource: 'arn:x', reason: r, expires: 2020-01-01}\n"
    )
    result = _run("validate", good)
    assert result.exit_code == 0, result.output
    assert "warning: waiver #1" in result.output and "expired on 2020-01-01" in result.output
    bad = tmp_path / "bad.yaml"
    bad.write_text(h.plan_text(max_retention_days="10"))
    result = _run("validate", bad)
    assert result.exit_code == 2
    assert (
        f"{bad}:8: plan 'p': max_retention_days (10) is below retention_days (35)" in result.output
    )


def test_example_policies_are_valid():
    from pathlib import Path

    root = Path(__file__).resolve().parents[2] / "policies"
    result = _run("validate", root, "--as-of", "2026-11-26T00:00:00Z")
    assert result.exit_code == 0, result.output
    from auditor.policy import load_policies

    names = [p.name for p in load_policies(root).plans]
    assert "gold" in names and "silver" in names
