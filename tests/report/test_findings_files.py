"""The findings files at scale: Parquet always, CSV/JSON/JSON Lines streamed, reports from Parquet.

The inventory is the benchmark's synthetic estate at a small scale (1,000 resources, 10,000
recovery points, 20 plans; about 15,000 findings), written as `auditor collect` writes one, so
`auditor check` runs on it offline exactly as on a collected inventory.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from auditor import findings as findings_files
from auditor.cli import app

BENCH = Path(__file__).resolve().parents[2] / "bench" / "bench_check.py"
AS_OF = "2026-11-26T12:00:00Z"


def _bench():
    spec = importlib.util.spec_from_file_location("bench_check_for_tests", BENCH)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def estate(tmp_path_factory):
    """(inventory folder, policy file) of the synthetic estate at scale 0.001."""
    bench = _bench()
    root = tmp_path_factory.mktemp("estate")
    bench.generate(0.001, root / "inventory")
    policy = root / "policy.yaml"
    policy.write_text(bench.policy_text())
    return root / "inventory", policy


def _check(estate, out: Path, *formats: str):
    inventory, policy = estate
    args = ["check", "--inventory", inventory, "--policies", policy, "--out", out]
    args += ["--as-of", AS_OF, "--no-fail", "-q"]
    for fmt in formats:
        args += ["--format", fmt]
    return CliRunner().invoke(app, [str(a) for a in args])


@pytest.fixture(scope="module")
def checked(estate, tmp_path_factory):
    """A results folder of `check --format json,csv,jsonl` on the estate."""
    out = tmp_path_factory.mktemp("checked")
    result = _check(estate, out, "json,csv", "jsonl")
    assert result.exit_code == 0, result.output
    return out


def _refuse(name: str):
    raise ValueError(f"{name} is not JSON")


def test_check_always_writes_parquet_with_the_rows_of_json_and_csv(checked):
    doc = json.loads((checked / "findings.json").read_text(), parse_constant=_refuse)
    rows = pd.DataFrame(doc["findings"])
    assert len(rows) > 10_000  # more than one writing batch would hold at small BATCH_ROWS
    table = pq.read_table(checked / "findings.parquet")
    assert table.num_rows == len(rows) == doc["summary"]["total"]
    parquet = table.to_pandas()
    for col in findings_files.COLUMNS:
        if col == "evidence":
            assert [json.loads(t) for t in parquet[col]] == list(rows[col])
        else:
            expected = rows[col].astype(object).where(rows[col].notna(), None)
            assert list(parquet[col].astype(object).where(parquet[col].notna(), None)) == list(
                expected
            ), col
    csv = pd.read_csv(checked / "findings.csv", dtype=str, keep_default_na=False, na_values=[])
    assert list(csv["resource_arn"]) == list(rows["resource_arn"])
    assert list(csv["status"]) == list(rows["status"])


# sha256 of findings.csv, and of findings.json from its "findings" array on (its header carries the
# inventory's collected_at, the real clock), for this estate: re-pinned when findings gained the
# `remediation` and `resource_name` columns, and again when they gained the owner-tag columns,
# evidence naming backups and uncovered resources' tags, and per-situation remediation (nothing
# else differs, row for row), with the air-gapped-copy control's rows (the rest unchanged), and
# when restore-tested / restore-time-target joined the controls (and the estate gained restore
# jobs); the streamed writers must keep these bytes. Re-pinned when the batched writers met main's
# later controls and types: main's whole-table writer gives these same bytes on this estate.
BEFORE = {
    "findings.json": "b35bb33a127f9cde25d45ffd61d954a11f6f5d001b4e5537f99fd4101be3bee9",
    "findings.csv": "42221890b88e944cae8364a4f225ce78899bef06bb47e3b1b38cfc13c700ff05",
}


def _pinned_bytes(path) -> bytes:
    data = path.read_bytes()
    return data[data.index(b'"findings": [') :] if path.suffix == ".json" else data


@pytest.mark.parametrize("name", sorted(BEFORE))
def test_json_and_csv_bytes_are_unchanged(checked, name):
    import hashlib

    assert hashlib.sha256(_pinned_bytes(checked / name)).hexdigest() == BEFORE[name]


def test_parquet_metadata_carries_the_rest_of_the_json_document(checked):
    doc = json.loads((checked / "findings.json").read_text())
    head = findings_files.read_parquet_head(checked / "findings.parquet")
    assert head == {k: v for k, v in doc.items() if k != "findings"}
    assert head["as_of"] == AS_OF


def test_json_lines_are_the_objects_of_findings_json_in_order(checked):
    doc = json.loads((checked / "findings.json").read_text())
    lines = (checked / "findings.jsonl").read_bytes().split(b"\n")
    assert lines[-1] == b""  # every line ends with a newline, the file too
    assert [json.loads(line, parse_constant=_refuse) for line in lines[:-1]] == doc["findings"]


def test_batched_writing_gives_the_same_bytes(checked, monkeypatch):
    findings = findings_files.read_findings(checked / "findings.parquet")
    monkeypatch.setattr(findings_files, "BATCH_ROWS", 997)  # many batches, one partly filled
    out = checked.parent / "small-batches"
    findings_files.write_findings(findings, out, formats=("json", "csv", "jsonl"))
    # The rewrite has no policy files to locate the plans in, so findings.json's head differs by
    # its "plans" list; every row must be byte for byte the same.
    for name in ("findings.json", "findings.csv", "findings.jsonl"):
        assert _pinned_bytes(out / name) == _pinned_bytes(checked / name), name
    # One row group per batch: the same columns and values, in more row groups (each with its
    # own dictionaries, so the values are compared, not the encodings).
    small, whole = (
        pq.read_table(out / "findings.parquet"),
        pq.read_table(checked / "findings.parquet"),
    )
    assert small.schema.equals(whole.schema)
    assert _values(small).equals(_values(whole))
    assert pq.ParquetFile(out / "findings.parquet").num_row_groups == -(-small.num_rows // 997)


def _values(table: pa.Table) -> pa.Table:
    """The table with its dictionary columns as plain text, in one chunk per column."""
    return pa.table(
        {
            name: column.cast(pa.string()) if pa.types.is_dictionary(column.type) else column
            for name, column in zip(table.column_names, table.columns)
        }
    ).combine_chunks()


def test_read_findings_from_parquet_equals_from_json(checked):
    from_json = findings_files.read_findings(checked / "findings.json")
    from_parquet = findings_files.read_findings(checked / "findings.parquet")
    assert from_parquet.as_of == from_json.as_of
    assert from_parquet.summary == from_json.summary
    pd.testing.assert_frame_equal(from_parquet.frame, from_json.frame)


def test_jsonl_only_check_then_report_and_evidence_from_parquet(estate, tmp_path):
    out = tmp_path / "r"
    result = _check(estate, out, "jsonl")
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == ["findings.jsonl", "findings.parquet"]
    assert "findings.parquet" in result.output
    report = CliRunner().invoke(app, ["report", "--results", str(out), "--format", "html,md,json"])
    assert report.exit_code == 0, report.output
    html = (out / "report.html").read_text()
    total = pq.read_metadata(out / "findings.parquet").num_rows
    # every finding is in the page's data; the typed rows are in findings.parquet
    assert f"All {total} findings" in html and "findings.parquet" in html
    doc = json.loads((out / "findings.json").read_text(), parse_constant=_refuse)
    assert len(doc["findings"]) == total
    bundle = CliRunner().invoke(
        app, ["evidence", "export", "--results", str(out), "--out", str(tmp_path / "e.zip")]
    )
    assert bundle.exit_code == 0, bundle.output
    import zipfile

    with zipfile.ZipFile(tmp_path / "e.zip") as zf:
        manifest = json.loads(zf.read("manifest.json"))
    assert "findings.parquet" in manifest["files"]
    assert manifest["as_of"] == AS_OF and manifest["summary"]["total"] == total


def test_unknown_findings_format_is_a_usage_error(estate, tmp_path):
    result = _check(estate, tmp_path / "x", "xml")
    assert result.exit_code == 2
    assert "'xml'" in result.output and "jsonl" in result.output
    assert not (tmp_path / "x").exists()  # refused before reading anything


def test_a_results_folder_without_findings_names_both_files(tmp_path):
    result = CliRunner().invoke(app, ["report", "--results", str(tmp_path)])
    assert result.exit_code == 2
    assert "findings.parquet" in result.output


def test_a_parquet_file_that_is_not_findings_is_refused(tmp_path):
    import pyarrow as pa

    pq.write_table(pa.table({"a": [1]}), tmp_path / "findings.parquet")
    with pytest.raises(findings_files.InputError, match="not a findings file"):
        findings_files.read_findings(tmp_path)


def test_reports_from_parquet_are_the_bytes_of_reports_from_json(checked, tmp_path):
    # `audit` renders its reports from findings.parquet (evidence kept as text until a report
    # shows it); `report` on a folder with findings.json from the parsed JSON: same files.
    from auditor.report import load_results, write_reports

    formats = ["sarif", "junit", "md", "html", "json", "csv"]
    made = {}
    for source, prefer_parquet in (("json", False), ("parquet", True)):
        results = load_results(checked, with_inventory=False, prefer_parquet=prefer_parquet)
        made[source] = tmp_path / source
        write_reports(results, made[source], formats)
    for name in ("report.sarif", "junit.xml", "report.md", "findings.json", "findings.csv"):
        assert (made["parquet"] / name).read_bytes() == (made["json"] / name).read_bytes(), name
    # the page's evidence: the same texts for every finding that has one on both pages
    pages = [(made[s] / "report.html").read_text() for s in ("json", "parquet")]
    assert pages[0].count("<tr") == pages[1].count("<tr")


def test_evidence_read_as_text_is_one_string_per_distinct_value(checked):
    from auditor.jsonsafe import JsonText
    from auditor.report.model import evidence_of

    lean = findings_files.read_findings(checked / "findings.parquet", parse_evidence=False).frame
    parsed = findings_files.read_findings(checked / "findings.parquet").frame
    assert all(isinstance(v, JsonText) for v in lean["evidence"])
    assert [evidence_of(v) for v in lean["evidence"]] == list(parsed["evidence"])
    for column in ("evidence", "control_id", "detail", "resource_arn"):
        values = lean[column].tolist()
        assert len({id(v) for v in values}) == len(set(values)), column
    assert lean.drop(columns="evidence").equals(parsed.drop(columns="evidence"))


@pytest.mark.parametrize("cases_per_piece", [7, 2000])
def test_streamed_sarif_and_junit_are_the_text_their_libraries_write(
    checked, monkeypatch, cases_per_piece
):
    # Written a result or a few testcases at a time, the files must still be exactly what
    # json.dumps (indent 2) and ElementTree (ET.indent) write for the whole document.
    import xml.etree.ElementTree as ET

    from auditor.report import junit, load_results, sarif

    monkeypatch.setattr(junit, "CASES_PER_PIECE", cases_per_piece)
    results = load_results(checked, with_inventory=False, prefer_parquet=True)
    pieces = list(junit.render_pieces(results))
    assert max(piece.count("<testcase ") for piece in pieces) <= cases_per_piece
    assert len(pieces) > len(results.findings) // cases_per_piece
    text = sarif.render(results)
    doc = json.loads(text, parse_constant=_refuse)
    assert len(doc["runs"][0]["results"]) > 1000
    assert text == json.dumps(doc, indent=2, ensure_ascii=False) + "\n"
    xml = "".join(pieces)
    root = ET.fromstring(xml)
    assert int(root.get("tests")) == len(results.findings) == len(root.findall("./*/testcase"))
    assert int(root.get("failures")) == len(root.findall("./*/testcase/failure"))
    for element in root.iter():  # drop the indentation, then let ElementTree indent it again
        element.tail = None if element.tail is None or not element.tail.strip() else element.tail
        if len(element) and element.text is not None and not element.text.strip():
            element.text = None
    ET.indent(root)
    declaration = '<?xml version="1.0" encoding="UTF-8"?>\n'
    assert xml == declaration + ET.tostring(root, encoding="unicode") + "\n"
