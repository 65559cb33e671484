"""History store: one summary per run, trend in time order, changes since the previous run."""

from __future__ import annotations

import sqlite3

import pytest

from auditor.errors import InputError
from auditor.history import default_history_path, history_document, load_trend, record_run
from auditor.report import findings_frame
from auditor.report.sample import EFS, FINDINGS, VOL1, VOL2, make_results


def _results(as_of, rows):
    results = make_results(with_inventory=False)
    results.as_of = as_of
    results.findings = findings_frame(rows)
    return results


def test_first_run_has_a_trend_point_and_no_changes(tmp_path):
    doc = record_run(tmp_path / "h.sqlite", _results("2026-11-01T00:00:00Z", FINDINGS))
    assert [p["as_of"] for p in doc["trend"]] == ["2026-11-01T00:00:00Z"]
    assert doc["trend"][0]["FAIL"] == 3 and doc["trend"][0]["compliance_pct"] == 42.9
    assert doc["changes"] == {}


def test_changes_since_the_previous_run(tmp_path):
    db = tmp_path / "h.sqlite"
    record_run(db, _results("2026-11-01T00:00:00Z", FINDINGS))
    later = [dict(f) for f in FINDINGS if f["resource_arn"] != EFS]  # the EFS file system is gone
    later[0]["status"] = "PASS"  # VOL1 backup-recency resolved
    later.append(
        dict(FINDINGS[1], resource_arn=VOL1 + "-new", status="FAIL")
    )  # a new resource, failing
    doc = record_run(db, _results("2026-11-02T00:00:00Z", later))
    changes = doc["changes"]
    assert changes["previous_as_of"] == "2026-11-01T00:00:00Z"
    assert changes["new_failures"] == [
        {"resource_arn": VOL1 + "-new", "control_id": "resource-covered"}
    ]
    assert {(r["resource_arn"], r["control_id"]) for r in changes["resolved"]} == {
        (VOL1, "backup-recency"),
        (EFS, "backup-retention"),
    }
    assert changes["new_resources"] == [VOL1 + "-new"] and changes["removed_resources"] == [EFS]
    assert [p["as_of"] for p in doc["trend"]] == ["2026-11-01T00:00:00Z", "2026-11-02T00:00:00Z"]
    assert VOL2 not in {
        r["resource_arn"] for r in changes["new_failures"]
    }  # still failing: not new


def test_same_as_of_replaces_the_run(tmp_path):
    db = tmp_path / "h.sqlite"
    record_run(db, _results("2026-11-01T00:00:00Z", FINDINGS))
    record_run(db, _results("2026-11-02T00:00:00Z", FINDINGS))
    doc = record_run(db, _results("2026-11-02T00:00:00Z", FINDINGS[:2]))
    assert len(load_trend(db)) == 2
    assert doc["trend"][-1]["FAIL"] == 1
    with sqlite3.connect(db) as con:
        assert con.execute("SELECT COUNT(*) FROM run_failures").fetchone()[0] == 3 + 1


def test_an_older_as_of_reads_history_up_to_it(tmp_path):
    db = tmp_path / "h.sqlite"
    for day in ("03", "01", "02"):
        record_run(db, _results(f"2026-11-{day}T00:00:00Z", FINDINGS))
    doc = history_document(db, "2026-11-02T00:00:00Z")
    assert [p["as_of"][:10] for p in doc["trend"]] == ["2026-11-01", "2026-11-02"]
    assert doc["changes"]["previous_as_of"].startswith("2026-11-01")


def test_default_path_is_beside_the_output(tmp_path):
    assert (
        default_history_path(tmp_path / "reports" / "prod")
        == (tmp_path / "reports" / "history.sqlite").resolve()
    )


def test_not_a_history_store(tmp_path):
    bad = tmp_path / "h.sqlite"
    bad.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(InputError, match="not a history store"):
        record_run(bad, _results("2026-11-01T00:00:00Z", FINDINGS))
