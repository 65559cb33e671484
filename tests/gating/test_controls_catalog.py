"""`auditor controls`: remediation and AWS equivalents per control; docs/controls.md is its output."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from auditor.cli import app
from auditor.controls import REGISTRY
from auditor.frameworks.catalog import render_catalog

DOC = Path(__file__).resolve().parents[2] / "docs" / "controls.md"


def test_committed_controls_doc_is_the_command_output():
    result = CliRunner().invoke(app, ["controls", "--format", "md"])
    assert result.exit_code == 0, result.output
    assert DOC.read_text(encoding="utf-8") == result.output, (
        "docs/controls.md is stale: run `auditor controls --format md > docs/controls.md`"
    )


def test_json_lists_every_control_with_remediation_and_equivalent():
    doc = json.loads(render_catalog("json"))
    items = {c["id"]: c for c in doc["controls"]}
    assert list(items) == list(REGISTRY)
    for cid, item in items.items():
        assert item["remediation"] == REGISTRY[cid].remediation and item["remediation"]
        assert item["severity"] in ("critical", "high", "medium", "low")
        assert "FAIL" in item["description"], cid  # says when it fails
    # Where AWS has the same check, it is named (AWS Backup Audit Manager's control names).
    assert "BACKUP_RECOVERY_POINT_ENCRYPTED" in items["backup-encrypted"]["equivalent"]
    assert "BACKUP_LAST_RECOVERY_POINT_CREATED" in items["backup-recency"]["equivalent"]
    assert items["orphaned-backup"]["equivalent"] is None


def test_text_and_md_show_remediation():
    text = render_catalog("text")
    md = render_catalog("md")
    for control in REGISTRY.values():
        assert control.remediation in text
        assert control.id in md
    assert "| Remediation |" in md and "AWS equivalent" in md
