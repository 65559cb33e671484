"""History store: one summary per run, trend in time order, changes since the previous run."""

from __future__ import annotations

import sqlite3

import pytest

from auditor.errors import InputError
from auditor.history import default_history_path, history_document, load_trend, record_run
from auditor.report import findings_frame
from auditor.report.model import resource_count
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
    later[0]["status"] = "PASS"  # VOL1 backup-recency (plan gold) resolved
    later.append(
        dict(FINDINGS[1], resource_arn=VOL1 + "-new", status="FAIL")
    )  # a new resource, failing
    doc = record_run(db, _results("2026-11-02T00:00:00Z", later))
    changes = doc["changes"]
    assert changes["previous_as_of"] == "2026-11-01T00:00:00Z"
    assert changes["new_failures"] == [
        {"resource_arn": VOL1 + "-new", "control_id": "resource-covered", "plan": "gold"}
    ]
    # resolved: the same finding went FAIL -> PASS; the gone file system's failure is not resolved
    assert changes["resolved"] == [
        {"resource_arn": VOL1, "control_id": "backup-recency", "plan": "gold"}
    ]
    assert changes["gone_failures"] == [
        {"resource_arn": EFS, "control_id": "backup-retention", "plan": "silver"}
    ]
    assert changes["new_resources"] == [VOL1 + "-new"] and changes["removed_resources"] == [EFS]
    assert [p["as_of"] for p in doc["trend"]] == ["2026-11-01T00:00:00Z", "2026-11-02T00:00:00Z"]
    assert VOL2 not in {
        r["resource_arn"] for r in changes["new_failures"]
    }  # still failing: not new


def test_a_failure_that_is_not_assessed_now_is_not_resolved(tmp_path):
    db = tmp_path / "h.sqlite"
    record_run(db, _results("2026-11-01T00:00:00Z", FINDINGS))
    later = [dict(f) for f in FINDINGS]
    later[0]["status"] = "NOT_ASSESSED"  # VOL1 backup-recency could not be judged this time
    later[2]["plan"] = "gold"  # VOL2 resource-covered: now failing under another plan
    changes = record_run(db, _results("2026-11-02T00:00:00Z", later))["changes"]
    assert changes["resolved"] == [] and changes["gone_failures"] == []
    assert changes["new_failures"] == [
        {"resource_arn": VOL2, "control_id": "resource-covered", "plan": "gold"}
    ]


def test_an_orphaned_backup_is_not_a_new_resource(tmp_path):
    db = tmp_path / "h.sqlite"
    record_run(db, _results("2026-11-01T00:00:00Z", FINDINGS))
    snapshot = "arn:aws:ec2:us-east-1::snapshot/snap-0001"
    orphan = dict(FINDINGS[0], resource_arn=snapshot, control_id="orphaned-backup", plan=None)
    doc = record_run(db, _results("2026-11-02T00:00:00Z", [*FINDINGS, orphan]))
    assert doc["changes"]["new_resources"] == []
    assert doc["changes"]["new_failures"] == [
        {"resource_arn": snapshot, "control_id": "orphaned-backup", "plan": None}
    ]
    # the trend counts the same resources as the report page
    assert [p["resources"] for p in doc["trend"]] == [5, 5]
    assert resource_count(_results("2026-11-02T00:00:00Z", [*FINDINGS, orphan])) == 5


def test_incomplete_run_is_never_a_baseline(tmp_path):
    db = tmp_path / "h.sqlite"
    record_run(db, _results("2026-11-01T00:00:00Z", FINDINGS))
    broken = _results("2026-11-02T00:00:00Z", FINDINGS[:1])  # most data missing
    broken.run = {"collection": {"complete": False, "errors": 12}}
    doc = record_run(db, broken)
    # reported, marked incomplete; nothing it could not see counts as gone
    assert doc["trend"][-1]["complete"] is False
    assert doc["changes"]["incomplete"] is True
    assert doc["changes"]["removed_resources"] == [] and doc["changes"]["gone_failures"] == []
    doc = record_run(db, _results("2026-11-03T00:00:00Z", FINDINGS))
    # the next good run compares with the last complete one and leaves the broken one out
    assert [p["as_of"][:10] for p in doc["trend"]] == ["2026-11-01", "2026-11-03"]
    assert doc["changes"]["previous_as_of"] == "2026-11-01T00:00:00Z"
    assert doc["changes"]["new_failures_count"] == 0


def test_an_older_store_is_upgraded_in_place(tmp_path):
    db = tmp_path / "h.sqlite"
    with sqlite3.connect(db) as con:  # the first release's tables, one run in them
        con.executescript(
            "CREATE TABLE runs (run_id INTEGER PRIMARY KEY AUTOINCREMENT, as_of TEXT NOT NULL UNIQUE,"
            " results_dir TEXT, total INTEGER NOT NULL, pass INTEGER NOT NULL, fail INTEGER NOT NULL,"
            " waived INTEGER NOT NULL, not_applicable INTEGER NOT NULL, not_assessed INTEGER NOT NULL,"
            " resources INTEGER NOT NULL, compliance_pct REAL, cost_usd REAL);"
            "CREATE TABLE run_failures (run_id INTEGER NOT NULL, resource_arn TEXT NOT NULL,"
            " control_id TEXT NOT NULL);"
            "CREATE TABLE run_resources (run_id INTEGER NOT NULL, resource_arn TEXT NOT NULL);"
            "INSERT INTO runs VALUES (1, '2026-11-01T00:00:00Z', NULL, 8, 2, 3, 1, 1, 1, 5, 42.9, NULL);"
            f"INSERT INTO run_failures VALUES (1, '{VOL2}', 'resource-covered');"
        )
    changes = record_run(db, _results("2026-11-02T00:00:00Z", FINDINGS))["changes"]
    assert changes["previous_as_of"] == "2026-11-01T00:00:00Z"
    new = {(r["resource_arn"], r["control_id"]) for r in changes["new_failures"]}
    assert new == {(VOL1, "backup-recency"), (EFS, "backup-retention")}  # VOL2 was failing already


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
