"""Job evidence (auditor.jobs): what is listed, what is counted, the window, jobs.csv."""

from __future__ import annotations

import csv
from datetime import UTC, datetime, timedelta

import pytest

from auditor.errors import UsageError
from auditor.inventory import Inventory, frame
from auditor.jobs import job_report, parse_jobs_since, resolve_jobs_since, write_jobs_csv

AS_OF = datetime(2026, 11, 26, 12, tzinfo=UTC)
ACCT, REGION = "111122223333", "us-east-1"
VOL = f"arn:aws:ec2:{REGION}:{ACCT}:volume/vol-1"
DB = f"arn:aws:rds:{REGION}:{ACCT}:db:orders"


def _inventory(manifest: dict | None = None) -> Inventory:
    at = lambda days: AS_OF - timedelta(days=days)  # noqa: E731
    base = {"account_id": ACCT, "region": REGION}
    jobs = [
        # failed backup job of plan p1, with AWS's message
        dict(
            base,
            job_id="b1",
            job_type="backup",
            state="FAILED",
            resource_arn=VOL,
            backup_plan_id="p1",
            created_at=at(2),
            completed_at=at(2) + timedelta(minutes=5),
            status_message="Insufficient privileges to perform this action.",
        ),
        dict(
            base,
            job_id="b2",
            job_type="backup",
            state="EXPIRED",
            resource_arn=DB,
            backup_plan_id="p1",
            created_at=at(3),
        ),
        # outside the window: not counted, not listed
        dict(
            base,
            job_id="b3",
            job_type="backup",
            state="FAILED",
            resource_arn=VOL,
            backup_plan_id="p1",
            created_at=at(45),
        ),
        dict(
            base,
            job_id="c1",
            job_type="copy",
            state="COMPLETED",
            resource_arn=VOL,
            backup_plan_id="p1",
            created_at=at(1),
        ),
    ]
    points = [
        dict(
            base,
            recovery_point_arn=f"rp-{i}",
            resource_arn=VOL,
            source="aws-backup",
            created_by="aws-backup",
            status="COMPLETED",
            created_at=at(i),
            backup_plan_id="p1",
        )
        for i in (1, 2, 4)
    ] + [
        # a native snapshot is not an AWS Backup job; a copy is counted by its copy job
        dict(
            base,
            recovery_point_arn="snap-x",
            resource_arn=VOL,
            source="native",
            created_by="user",
            status="COMPLETED",
            created_at=at(1),
        ),
        dict(
            base,
            recovery_point_arn="rp-copy",
            resource_arn=VOL,
            source="aws-backup",
            created_by="aws-backup",
            status="COMPLETED",
            created_at=at(1),
            copy_source_arn="rp-1",
        ),
    ]
    restores = [
        dict(
            base,
            restore_job_id="r1",
            status="COMPLETED",
            resource_arn=DB,
            created_at=at(5),
            completed_at=at(5) + timedelta(hours=6, minutes=30),
        ),
        dict(
            base,
            restore_job_id="r2",
            status="COMPLETED",
            resource_arn=VOL,
            created_at=at(3),
            completed_at=at(3) + timedelta(minutes=40),
            restore_testing_plan_arn=f"arn:aws:backup:{REGION}:{ACCT}:restore-testing-plan:weekly-x1",
            validation_status="FAILED",
            validation_message="row count differs",
        ),
    ]
    plans = [dict(base, backup_plan_id="p1", backup_plan_name="gold")]
    return Inventory(
        tables={
            "backup_jobs": frame("backup_jobs", jobs),
            "recovery_points": frame("recovery_points", points),
            "restore_jobs": frame("restore_jobs", restores),
            "backup_plans": frame("backup_plans", plans),
        },
        manifest=manifest or {},
    )


def test_listed_and_counted():
    report = job_report(_inventory(), AS_OF)
    assert report.since == AS_OF - timedelta(days=30)
    listed = report.listed
    assert sorted(listed["job_id"]) == ["b1", "b2", "r1", "r2"]  # completed copy: counted only
    failed = listed.set_index("job_id")
    assert failed.loc["b1", "status_message"] == "Insufficient privileges to perform this action."
    assert failed.loc["b1", "plan"] == "gold"
    assert failed.loc["r1", "duration_minutes"] == pytest.approx(390)
    assert failed.loc["r2", "plan"] == "weekly-x1"
    totals = {r["key"]: r for r in report.totals()}
    # backups: 3 recovery points made in the window (completed) + 2 unsuccessful jobs
    assert totals["backup"]["completed"] == 3 and totals["backup"]["unsuccessful"] == 2
    assert totals["backup"]["rate"] == 60.0
    assert totals["copy"]["completed"] == 1 and totals["copy"]["unsuccessful"] == 0
    # a completed restore test whose validation failed is not a success
    assert totals["restore"]["completed"] == 1 and totals["restore"]["unsuccessful"] == 1
    by_resource = {r["key"]: r for r in report.rates("resource")}
    assert by_resource[DB]["completed"] == 1 and by_resource[DB]["unsuccessful"] == 1
    assert report.rates("resource")[0]["key"] == DB  # lowest rate first


def test_window_from_the_manifest():
    since = (AS_OF - timedelta(days=50)).isoformat()
    report = job_report(_inventory({"jobs_since": since}), AS_OF)
    assert "b3" in set(report.listed["job_id"])


def test_jobs_csv(tmp_path):
    path = write_jobs_csv(job_report(_inventory(), AS_OF), tmp_path)
    rows = list(csv.DictReader(path.open()))
    assert [r["job_id"] for r in rows] == ["b2", "b1", "r1", "r2"]  # by type, then time
    assert rows[1]["created_at"] == "2026-11-24T12:00:00Z"
    assert rows[3]["validation_status"] == "FAILED"


def test_parse_jobs_since():
    assert parse_jobs_since("45d") == timedelta(days=45)
    assert parse_jobs_since("2026-10-01") == datetime(2026, 10, 1, tzinfo=UTC)
    assert resolve_jobs_since(timedelta(days=45), AS_OF) == AS_OF - timedelta(days=45)
    assert resolve_jobs_since(None, AS_OF) == AS_OF - timedelta(days=30)
    with pytest.raises(UsageError, match="--jobs-since"):
        parse_jobs_since("last week")


def test_the_report_section_uses_the_job_report_it_is_given(monkeypatch):
    # `audit` makes the job report once, for jobs.csv, and hands it to report.html
    import auditor.jobs
    from auditor.report.jobs import job_section
    from auditor.report.model import Results, findings_frame

    inventory = _inventory()
    results = Results(as_of=AS_OF.isoformat(), findings=findings_frame([]), inventory=inventory)
    made = job_section(results)
    results.jobs = job_report(inventory, AS_OF)

    def again(*args, **kwargs):
        raise AssertionError("the job report was made again")

    monkeypatch.setattr(auditor.jobs, "job_report", again)
    assert job_section(results) == made
    assert made is not None and made["failures_total"] >= 1


def test_the_report_section_says_since_when_in_utc():
    # --as-of may carry an offset; the page labels the window's start as UTC
    from datetime import timezone

    from auditor.report.jobs import job_section
    from auditor.report.model import Results, findings_frame

    inventory = _inventory()
    as_of = AS_OF.astimezone(timezone(timedelta(hours=8)))  # 20:00 +08:00, the same instant
    results = Results(as_of=AS_OF.isoformat(), findings=findings_frame([]), inventory=inventory)
    results.jobs = job_report(inventory, as_of)
    assert job_section(results)["since"] == f"{AS_OF - timedelta(days=30):%Y-%m-%d %H:%M} UTC"
