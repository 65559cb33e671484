"""`auditor check` and `auditor meter` re-check an inventory written before newer columns existed."""

from __future__ import annotations

import json

import pyarrow.parquet as pq
from typer.testing import CliRunner

from auditor.cli import app
from auditor.inventory import write_inventory

runner = CliRunner()
# The newest columns: resources.attached_to (EBS attachments), backup_rules.recovery_point_tags.
NEWEST = {"resources": ["attached_to"], "backup_rules": ["recovery_point_tags"]}


def _drop_newest(folder) -> None:
    for table, columns in NEWEST.items():
        for path in (folder / table).glob("*.parquet"):
            arrow = pq.read_table(path, partitioning=None)
            pq.write_table(arrow.drop_columns(columns), path)


def _statuses(folder) -> dict:
    doc = json.loads((folder / "findings.json").read_text())
    return {(f["resource_arn"], f["control_id"], f["plan"]): f["status"] for f in doc["findings"]}


def test_check_judges_an_older_inventory_as_the_current_one_and_says_so_once(tmp_path, estate, h):
    arn = estate.resource("vol-1", tags=h.GOLD, attached_to='["i-0123456789abcdef0"]')
    estate.backup(arn, age_hours=40, keep_days=None)
    estate.backup("arn:aws:ec2:us-east-1:111122223333:volume/vol-gone", age_hours=100)
    current = write_inventory(estate.inventory(), tmp_path / "current")
    older = write_inventory(estate.inventory(), tmp_path / "older")
    _drop_newest(older)
    policies = tmp_path / "p.yaml"
    policies.write_text(h.plan_text(accept="[aws-backup]"))
    runs = {}
    for name, folder in (("current", current), ("older", older)):
        runs[name] = runner.invoke(
            app,
            [
                "check",
                "--inventory",
                str(folder),
                "--policies",
                str(policies),
                "--out",
                str(tmp_path / f"out-{name}"),
                "--as-of",
                "2026-11-26T12:00:00Z",
            ],
        )
    assert runs["current"].exit_code == runs["older"].exit_code == 3, runs["older"].output
    assert _statuses(tmp_path / "out-current") == _statuses(tmp_path / "out-older")
    assert "note:" not in runs["current"].output
    notes = [line for line in runs["older"].output.splitlines() if "note:" in line]
    assert len(notes) == 1 and "resources.attached_to" in notes[0], runs["older"].output
    summary = json.loads((tmp_path / "out-older" / "findings.json").read_text())["summary"]
    assert summary["notes"] == [notes[0].split("note: ", 1)[1]]


def test_meter_warns_once_about_an_older_inventory(tmp_path, estate, h):
    estate.resource("vol-1", tags=h.GOLD, attached_to="[]")
    older = write_inventory(estate.inventory(), tmp_path / "older")
    _drop_newest(older)
    result = runner.invoke(
        app,
        ["meter", "--inventory", str(older), "--out", str(tmp_path / "m"), "--as-of", "2026-11-26"],
    )
    assert result.exit_code == 0, result.output
    assert result.output.count("resources.attached_to") == 1
