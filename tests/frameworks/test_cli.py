"""`auditor controls`, and the --framework/--frameworks options' errors."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from auditor.cli import app
from auditor.controls import CONTROL_IDS


def _run(*args: str):
    return CliRunner().invoke(app, list(args))


def test_controls_lists_every_control():
    done = _run("controls")
    assert done.exit_code == 0, done.output
    for control in CONTROL_IDS:
        assert f"{control}  [" in done.output
    assert "serves" not in done.output


def test_controls_framework_soc2_text():
    done = _run("controls", "--framework", "soc2")
    assert done.exit_code == 0, done.output
    assert done.output.startswith("SOC 2 2017 TSC")
    blocks = {b.split("  ")[0]: b for b in done.output.split("\n\n") if b.strip()}
    assert "serves SOC 2: CC9.1 (partial), A1.2" in blocks["resource-covered"]
    assert "serves SOC 2: CC6.1 (partial)" in blocks["backup-encrypted"]
    assert "serves SOC 2: A1.2 (partial)" in blocks["cross-region-copy"]
    assert "serves SOC 2: CC7.5 (partial)" in blocks["cross-account-copy"]
    # A1.3 (recovery plan testing) is served by restore-tested now: every requirement has a control.
    assert "serves SOC 2: CC7.5 (partial), A1.3 (partial)" in blocks["restore-tested"]
    assert "No control gives evidence yet" not in done.output


def test_controls_framework_soc2_json(strict_json):
    done = _run("controls", "--framework", "soc2", "--format", "json")
    assert done.exit_code == 0, done.output
    doc = strict_json(done.output)
    assert doc["framework"]["key"] == "soc2"
    assert doc["requirements_without_controls"] == []
    by_id = {c["id"]: c for c in doc["controls"]}
    assert list(by_id) == list(CONTROL_IDS)
    assert [r["id"] for r in by_id["backup-max-retention"]["requirements"]] == ["C1.2"]
    assert by_id["backup-max-retention"]["requirements"][0]["partial"]
    assert by_id["resource-covered"]["severity"] == "high"
    assert by_id["resource-covered"]["description"]


def test_controls_markdown():
    done = _run("controls", "--framework", "soc2", "--format", "md")
    assert done.exit_code == 0, done.output
    assert (
        "| Control | Severity | Title | Checks, and when it FAILs | Remediation | AWS equivalent"
        " | SOC 2 requirements |" in done.output
    )
    assert "| `resource-covered` | high |" in done.output


def test_controls_bad_format_and_unknown_framework_exit_2():
    done = _run("controls", "--format", "xml")
    assert done.exit_code == 2 and "--format 'xml'" in done.output
    done = _run("controls", "--framework", "nope")
    assert done.exit_code == 2 and "'nope' is not one of" in done.output


def test_report_unknown_framework_exits_2_before_reading(tmp_path):
    done = _run("report", "--results", str(tmp_path), "--framework", "nope")
    assert done.exit_code == 2
    assert "'nope' is not one of" in done.output


def test_controls_with_user_framework_folder(write_framework):
    folder = write_framework(
        "mine",
        'name: Mine\nversion: "1"\nsource: https://example.com\nrequirements:\n'
        "  - id: R1\n    title: t\n    description: d\n    controls: [{id: vault-lock}]\n",
    )
    done = _run("controls", "--framework", "mine", "--frameworks", str(folder), "--format", "json")
    assert done.exit_code == 0, done.output
    served = {c["id"]: c["requirements"] for c in json.loads(done.output)["controls"]}
    assert served["vault-lock"] == [{"id": "R1", "title": "t", "partial": None}]
