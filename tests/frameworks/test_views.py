"""The framework view in each format: JSON (strict), CSV, Markdown, and report.html's section."""

from __future__ import annotations

import csv
import io

import pytest

from auditor.frameworks import load_framework
from auditor.report import framework as view_mod
from auditor.report import html, write_reports
from auditor.report.model import Results

AS_OF = "2026-11-26T12:00:00Z"


@pytest.fixture
def results(make_findings) -> Results:
    findings = make_findings(
        [
            ("backup-recency", "PASS"),
            ("backup-recency", "FAIL"),
            ("backup-retention", "WAIVED"),
            ("backup-encrypted", "PASS"),
            ("cross-region-copy", "NOT_ASSESSED"),
            ("vault-lock", "NOT_APPLICABLE"),
        ]
    )
    # a detail that would break a Markdown table or HTML if not escaped
    findings.loc[1, "detail"] = "newest | <b>too old</b>\nsecond line"
    return Results(as_of=AS_OF, findings=findings)


@pytest.fixture
def view(results):
    return view_mod.build_view(results, load_framework("aws-backup-audit-manager"))


def test_json_is_strict_and_complete(view, strict_json):
    doc = strict_json(view_mod.render_json(view))
    assert doc["schema_version"] == 1
    assert doc["as_of"] == AS_OF
    assert doc["framework"]["key"] == "aws-backup-audit-manager"
    assert doc["framework"]["source"].startswith("https://docs.aws.amazon.com/aws-backup/")
    reqs = {r["id"]: r for r in doc["requirements"]}
    assert len(reqs) == 10
    last = reqs["BACKUP_LAST_RECOVERY_POINT_CREATED"]
    assert last["status"] == "not met"
    assert last["counts"] == {
        "FAIL": 1,
        "NOT_ASSESSED": 0,
        "WAIVED": 0,
        "PASS": 1,
        "NOT_APPLICABLE": 0,
    }
    assert [f["status"] for f in last["findings"]] == ["FAIL"]
    assert last["findings"][0]["detail"].startswith("newest |")
    retention = reqs["BACKUP_RECOVERY_POINT_MINIMUM_RETENTION_CHECK"]
    assert retention["status"] == "met"  # WAIVED passes, and is shown
    assert [f["status"] for f in retention["findings"]] == ["WAIVED"]
    assert reqs["BACKUP_RESOURCES_PROTECTED_BY_CROSS_REGION"]["status"] == "unknown"
    assert reqs["BACKUP_RESOURCES_PROTECTED_BY_BACKUP_VAULT_LOCK"]["status"] == "not applicable"
    # served by restore-time-target now; the plan sets no restore time target
    restore = reqs["RESTORE_TIME_FOR_RESOURCES_MEET_TARGET"]
    assert (restore["status"], [c["id"] for c in restore["controls"]], restore["coverage"]) == (
        "not applicable",
        ["restore-time-target"],
        "full",
    )
    assert sum(doc["summary"].values()) == 10
    assert doc["summary"]["no evidence"] == 0


def test_csv_has_one_row_per_requirement(view):
    rows = list(csv.DictReader(io.StringIO(view_mod.render_csv(view))))
    assert len(rows) == 10
    by_id = {r["requirement_id"]: r for r in rows}
    row = by_id["BACKUP_LAST_RECOVERY_POINT_CREATED"]
    assert (row["framework"], row["status"], row["FAIL"], row["PASS"]) == (
        "aws-backup-audit-manager",
        "not met",
        "1",
        "1",
    )
    assert by_id["BACKUP_RECOVERY_POINT_MANUAL_DELETION_DISABLED"]["controls"] == (
        "deletion-protected (partial);vault-lock (partial)"
    )


def test_markdown_table_and_escaped_findings(view):
    text = view_mod.render_md(view)
    assert text.startswith("## AWS Backup Audit Manager: compliance per requirement")
    table = [line for line in text.splitlines() if line.startswith("| BACKUP_LAST_RECOVERY")]
    assert len(table) == 1 and "**not met**" in table[0]
    assert "| RESTORE_TIME_FOR_RESOURCES_MEET_TARGET |" in text
    failing = [line for line in text.splitlines() if "newest" in line]
    assert failing == [line for line in failing if "\\|" in line and "<b>" not in line]
    assert len(failing) == 1  # the newline inside the detail stayed in its cell


def test_markdown_says_how_many_more_findings_there_are(make_findings):
    results = Results(as_of=AS_OF, findings=make_findings([("backup-recency", "FAIL")] * 13))
    view = view_mod.build_view(results, load_framework("aws-backup-audit-manager"))
    assert "…and 3 more: see `framework-aws-backup-audit-manager.json`." in view_mod.render_md(
        view, top=10
    )


def test_html_section_only_with_a_framework(results, view):
    page = html.render(results, framework_view=view)
    assert 'id="framework" data-framework="aws-backup-audit-manager"' in page
    assert 'data-requirement="BACKUP_LAST_RECOVERY_POINT_CREATED" data-status="not met"' in page
    assert "<b>too old</b>" not in page and "&lt;b&gt;too old&lt;/b&gt;" in page
    assert 'id="framework"' not in html.render(results)


def test_write_reports_writes_the_framework_files(tmp_path, results, strict_json):
    framework = load_framework("soc2")
    written = write_reports(results, tmp_path, ["html", "md", "json", "csv"], framework=framework)
    names = {p.name for p in written}
    assert {"framework-soc2.json", "framework-soc2.csv", "framework-soc2.md"} <= names
    assert strict_json((tmp_path / "framework-soc2.json").read_text())["framework"]["key"] == "soc2"
    assert 'data-framework="soc2"' in (tmp_path / "report.html").read_text()
    # only the chosen formats
    other = tmp_path / "junit-only"
    names = {p.name for p in write_reports(results, other, ["junit"], framework=framework)}
    assert names == {"junit.xml"}
