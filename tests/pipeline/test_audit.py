"""`auditor audit` on the emulated estate (moto in-process): outputs, exit codes, history, failures."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws
from typer.testing import CliRunner

import auditor.sandbox
from auditor.cli import app
from auditor.evidence import export_bundle, verify_bundle
from auditor.pipeline import AuditOptions, exit_code_for, run_audit
from auditor.report import load_results

AS_OF = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
REGIONS = ["us-east-1", "eu-west-1"]
POLICIES = Path(__file__).resolve().parents[2] / "policies"


@pytest.fixture(scope="module")
def estate():
    """One seeded estate for the whole module (seeding is the costly part)."""
    with pytest.MonkeyPatch.context() as mp:
        for key, value in {
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_SESSION_TOKEN": "testing",
            "AWS_DEFAULT_REGION": "us-east-1",
        }.items():
            mp.setenv(key, value)
        for key in ("AWS_ENDPOINT_URL", "AWS_PROFILE", "AWS_MAX_ATTEMPTS"):
            mp.delenv(key, raising=False)
        mp.setenv("AWS_MAX_ATTEMPTS", "1")
        auditor.sandbox.install()
        with mock_aws():
            yield auditor.sandbox.seed_estate(AS_OF, regions=tuple(REGIONS), scale=0.5)


@pytest.fixture(scope="module")
def audited(estate, tmp_path_factory):
    out = tmp_path_factory.mktemp("audit") / "results"
    outcome = run_audit(
        AuditOptions(
            policies=POLICIES, out=out, as_of=AS_OF, regions=REGIONS, command="auditor audit"
        )
    )
    return outcome


def test_audit_writes_every_output(audited):
    out = audited.out
    for name in (
        "findings.json",
        "findings.csv",
        "metering.json",
        "metering.csv",
        "report.html",
        "report.md",
        "junit.xml",
        "report.sarif",
        "run.json",
        "history.json",
        "inventory/manifest.json",
        "policies/backup-plans.yaml",
    ):
        assert (out / name).is_file(), name
    assert audited.exit_code == 3 and audited.counts["FAIL"] > 0
    assert audited.history_path == out.resolve().parent / "history.sqlite"
    run = json.loads((out / "run.json").read_text())
    assert run["collection"]["complete"] is True and run["collection"]["errors"] == 0
    assert run["scope"]["regions"] == REGIONS and run["exit_code"] == 3
    results = load_results(out)
    assert len(results.findings) == sum(audited.counts.values())
    assert results.inventory is not None and len(results.inventory.resources) == audited.resources
    html = (out / "report.html").read_text()
    assert "Backup compliance report" in html and "AWSBackup" in html


def test_as_of_and_collected_at_are_two_fields(audited):
    """as_of is the instant judged (--as-of); collected_at is the real clock when the calls ran."""
    now = datetime.now(UTC)
    run = json.loads((audited.out / "run.json").read_text())
    manifest = json.loads((audited.out / "inventory" / "manifest.json").read_text())
    for doc in (run, manifest):
        assert datetime.fromisoformat(doc["as_of"].replace("Z", "+00:00")) == AS_OF
        collected = datetime.fromisoformat(doc["collected_at"].replace("Z", "+00:00"))
        assert abs((now - collected).total_seconds()) < 3600  # today, not the fixed as_of
    html = (audited.out / "report.html").read_text()
    assert f'collected at <b id="collected-at">{run["collected_at"]}</b>' in html


def test_report_command_renders_the_same_reports_again(audited, tmp_path):
    res = CliRunner().invoke(
        app,
        [
            "report",
            "--results",
            str(audited.out),
            "--out",
            str(tmp_path),
            "--format",
            "md,junit,sarif,html",
        ],
    )
    assert res.exit_code == 0, res.output
    for name in ("report.md", "junit.xml", "report.sarif", "report.html"):
        assert (tmp_path / name).read_text() == (audited.out / name).read_text(), name


def test_evidence_of_an_audit_verifies(audited, tmp_path):
    bundle, manifest, _ = export_bundle(audited.out, tmp_path / "e.zip", command="test")
    assert verify_bundle(bundle).ok
    assert manifest["collection"]["api_calls"] > 0 and manifest["collection"]["complete"] is True
    assert "policies/backup-plans.yaml" in manifest["files"]


def test_no_fail_and_formats(estate, tmp_path):
    res = CliRunner().invoke(
        app,
        [
            "audit",
            "--policies",
            str(POLICIES),
            "--region",
            "us-east-1",
            "--out",
            str(tmp_path / "r"),
            "--format",
            "md",
            "--as-of",
            AS_OF.isoformat(),
            "--no-fail",
            "--no-history",
            "-q",
        ],
    )
    assert res.exit_code == 0, res.output
    names = sorted(p.name for p in (tmp_path / "r").iterdir())
    assert "report.md" in names and "report.html" not in names and "junit.xml" not in names
    assert (
        "findings.json" in names and "metering.json" in names
    )  # the data files are always written
    assert not (tmp_path / "history.sqlite").exists()


def test_incomplete_collection_exits_1_and_shows_not_assessed(estate, tmp_path):
    def factory(**kwargs):
        session = boto3.Session(**kwargs)

        def deny(**_):
            raise ClientError(
                {"Error": {"Code": "AccessDeniedException", "Message": "not authorized"}},
                "ListBackups",
            )

        session.events.register("before-call.dynamodb.ListBackups", deny)
        return session

    outcome = run_audit(
        AuditOptions(
            policies=POLICIES,
            out=tmp_path / "r",
            as_of=AS_OF,
            regions=REGIONS,
            session_factory=factory,
            keep_history=False,
        )
    )
    assert outcome.exit_code == 1 and outcome.collection_errors > 0
    assert outcome.counts["NOT_ASSESSED"] > 0
    assert (tmp_path / "r" / "findings.json").is_file()
    html = (tmp_path / "r" / "report.html").read_text()
    assert "AccessDeniedException" in html and "could not be assessed" in html


def test_incomplete_run_replaces_the_folder_whole_and_is_marked_in_history(estate, tmp_path):
    """An incomplete run is written (and says so), but the history marks it and never compares
    with it; the results folder holds only this run's files."""

    def factory(**kwargs):
        session = boto3.Session(**kwargs)

        def deny(**_):
            raise ClientError(
                {"Error": {"Code": "AccessDeniedException", "Message": "not authorized"}},
                "ListBackups",
            )

        session.events.register("before-call.dynamodb.ListBackups", deny)
        return session

    out = tmp_path / "r"
    out.mkdir()
    (out / "stale-from-an-older-run.txt").write_text("old")
    first = run_audit(AuditOptions(policies=POLICIES, out=out, as_of=AS_OF, regions=REGIONS))
    assert first.exit_code == 3
    assert not (out / "stale-from-an-older-run.txt").exists()
    broken = run_audit(
        AuditOptions(
            policies=POLICIES,
            out=out,
            as_of=AS_OF + timedelta(hours=1),
            regions=REGIONS,
            session_factory=factory,
        )
    )
    assert broken.exit_code == 1
    run = json.loads((out / "run.json").read_text())
    assert run["collection"]["complete"] is False
    history = json.loads((out / "history.json").read_text())
    assert history["trend"][-1]["complete"] is False and history["changes"]["incomplete"] is True
    assert history["changes"]["removed_resources"] == []
    third = run_audit(
        AuditOptions(policies=POLICIES, out=out, as_of=AS_OF + timedelta(hours=2), regions=REGIONS)
    )
    assert third.exit_code == 3
    history = json.loads((out / "history.json").read_text())
    assert [p["as_of"][11:16] for p in history["trend"]] == ["12:00", "14:00"]
    assert history["changes"]["previous_as_of"].startswith("2026-11-26T12:00")
    assert history["changes"]["new_resources_count"] == 0
    assert history["changes"]["removed_resources_count"] == 0
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_exit_codes():
    assert exit_code_for(incomplete=False, failed=False, no_fail=False) == 0
    assert exit_code_for(incomplete=False, failed=True, no_fail=False) == 3
    assert exit_code_for(incomplete=False, failed=True, no_fail=True) == 0
    assert (
        exit_code_for(incomplete=True, failed=True, no_fail=True) == 1
    )  # --no-fail never hides it


def test_history_across_runs(audited):
    """A second run three days later into a sibling folder shares the default history store."""
    later = AS_OF + timedelta(days=3)  # no new backups in three days: more recency failures
    out = audited.out.parent / "three-days-later"
    second = run_audit(AuditOptions(policies=POLICIES, out=out, as_of=later, regions=REGIONS))
    assert second.history_path == audited.history_path
    history = json.loads((out / "history.json").read_text())
    assert [p["as_of"][:10] for p in history["trend"]] == ["2026-11-26", "2026-11-29"]
    changes = history["changes"]
    assert changes["previous_as_of"].startswith("2026-11-26T12:00")
    assert changes["new_failures_count"] > 0
    assert any(f["control_id"] == "backup-recency" for f in changes["new_failures"])
    assert second.counts["FAIL"] > audited.counts["FAIL"]
    # the trend counts the resources the page counts (collected resources, not backups)
    run = json.loads((out / "run.json").read_text())
    assert history["trend"][-1]["resources"] == run["collection"]["resources"] == second.resources
    assert changes["new_resources_count"] == 0 and changes["removed_resources_count"] == 0
    html = (out / "report.html").read_text()
    assert "Trend and changes since the previous run" in html


def test_bad_policy_fails_fast_with_exit_2(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("version: 1\nplans:\n  - name: x\n    frequency: sometimes\n")
    res = CliRunner().invoke(
        app,
        ["audit", "--policies", str(bad), "--out", str(tmp_path / "r"), "--region", "us-east-1"],
    )
    assert res.exit_code == 2
    assert not (tmp_path / "r").exists()
