"""Denied and failing calls, end to end: the rest is collected, what could not be gathered is
NOT_ASSESSED with the reason (never PASS), the reports show it, and the run exits 1. A listing
that breaks half-way contributes no rows at all."""

from __future__ import annotations

import json
from datetime import UTC

import pandas as pd
import pytest

import auditor.aws.session
from auditor.aws import CollectOptions, collect_inventory
from auditor.inventory import read_inventory, write_inventory

# Resource types collected through the RDS API (DocumentDB and Neptune clusters are RDS clusters).
RDS_API_TYPES = ("rds-instance", "rds-cluster", "docdb-cluster", "neptune-cluster")


def _audit(h, out, regions, *extra):
    args = [
        "audit",
        "--policies",
        h.POLICIES,
        "--out",
        out,
        "--as-of",
        "2026-11-26T12:00:00Z",
        "--no-history",
        "-q",
    ]
    for region in regions:
        args += ["--region", region]
    return h.invoke(args + list(extra))


def _findings(out) -> pd.DataFrame:
    doc = json.loads((out / "findings.json").read_text())
    return pd.DataFrame(doc["findings"])


@pytest.fixture(scope="module")
def complete(estate, tmp_path_factory):
    """An audit of the same estate with nothing failing (what the failing runs are compared with)."""
    from datetime import datetime

    from auditor.pipeline import AuditOptions, run_audit

    out = tmp_path_factory.mktemp("complete") / "r"
    as_of = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
    # moto settles new databases on their first description; audit twice so both runs see the same
    run_audit(
        AuditOptions(
            policies=_policies(),
            out=out,
            as_of=as_of,
            regions=["us-east-1", "eu-west-1"],
            keep_history=False,
        )
    )
    outcome = run_audit(
        AuditOptions(
            policies=_policies(),
            out=out,
            as_of=as_of,
            regions=["us-east-1", "eu-west-1"],
            keep_history=False,
        )
    )
    assert outcome.collection_errors == 0
    return out


def _policies():
    from pathlib import Path

    return Path(__file__).resolve().parents[2] / "policies"


def test_denied_service_and_disabled_region(estate, complete, injector, h, tmp_path, monkeypatch):
    """AccessDenied on RDS in eu-west-1, and ap-east-1 not enabled for the account, via `auditor audit`."""
    injector.fail(
        "rds",
        "*",
        "AccessDenied",
        status=403,
        region="eu-west-1",
        message="User: arn:aws:iam::123456789012:user/auditor is not authorized to perform: rds:Describe*",
    )
    injector.fail(
        "ec2", "*", "AuthFailure", status=401, region="ap-east-1"
    )  # EC2's answer in a disabled region
    injector.fail(
        "*",
        "*",
        "UnrecognizedClientException",
        region="ap-east-1",
        message="The security token included in the request is invalid",
    )
    monkeypatch.setattr(auditor.aws.session, "default_session_factory", injector)
    # enabled for the account (a region it has not enabled is skipped, not called), yet failing
    from auditor.sandbox.moto_ext.services import set_region_enabled

    set_region_enabled("123456789012", "ap-east-1")
    out = tmp_path / "r"
    try:
        result = _audit(h, out, ["us-east-1", "eu-west-1", "ap-east-1"])
    finally:
        set_region_enabled("123456789012", "ap-east-1", enabled=False)

    assert result.exit_code == 1, (result.stderr, result.exception)
    assert "Traceback" not in result.stderr
    assert "collection incomplete" in result.stderr
    run = json.loads((out / "run.json").read_text())
    assert run["exit_code"] == 1 and run["collection"]["complete"] is False
    # the failed calls are named on stderr: at most 10, then how many more
    failed = read_inventory(out / "inventory").errors
    lines = [line for line in result.stderr.splitlines() if line.startswith("auditor: failed: ")]
    assert len(lines) == min(10, len(failed))
    assert (
        any(" region eu-west-1 rds:" in line and " AccessDenied: " in line for line in lines)
        or len(failed) > 10
    )
    if len(failed) > 10:
        assert f"auditor: ... and {len(failed) - 10} more" in result.stderr

    # the rest is collected: everything but eu-west-1's RDS API resources (RDS, Aurora, and the
    # DocumentDB and Neptune clusters listed through the same API) matches the complete run
    inv = read_inventory(out / "inventory").resources
    ref = read_inventory(complete / "inventory").resources
    keep = ~((ref["region"] == "eu-west-1") & ref["resource_type"].isin(RDS_API_TYPES))
    assert sorted(inv["resource_arn"]) == sorted(ref.loc[keep, "resource_arn"])
    assert not (inv["region"] == "ap-east-1").any()

    findings = _findings(out)
    denied = (findings["region"] == "eu-west-1") & findings["resource_type"].isin(RDS_API_TYPES)
    disabled = findings["region"] == "ap-east-1"
    # nothing that depends on the missing data is PASS (or FAIL): it is NOT_ASSESSED, with the reason
    assert set(findings.loc[denied | disabled, "status"]) == {"NOT_ASSESSED"}
    assert (
        findings.loc[denied, "detail"]
        .str.contains("rds:DescribeDBInstances failed \\(AccessDenied\\)")
        .any()
    )
    assert findings.loc[disabled, "detail"].str.contains("AuthFailure").any()
    assert findings.loc[disabled, "detail"].str.contains("UnrecognizedClientException").any()
    # every RDS resource of eu-west-1 the complete run judged is still named, and not PASS
    ref_findings = _findings(complete)
    ref_rds = set(
        ref_findings.loc[
            (ref_findings["region"] == "eu-west-1")
            & ref_findings["resource_type"].str.startswith("rds-", na=False),
            "resource_arn",
        ].dropna()
    )
    judged = findings[findings["resource_arn"].isin(ref_rds)]
    assert not (judged["status"] == "PASS").any()
    key = ["resource_arn", "control_id", "plan"]
    us = findings[findings["region"] == "us-east-1"].set_index(key)["status"].sort_index()
    ref_us = (
        ref_findings[ref_findings["region"] == "us-east-1"].set_index(key)["status"].sort_index()
    )
    # us-east-1's verdicts are unchanged, but for copies held there of eu-west-1 RDS backups: whether
    # their source still exists is unknown now, so orphaned-backup cannot FAIL them; and for
    # restores: ap-east-1's restore jobs could not be listed, and the restore of a copy kept in
    # another Region runs, and is listed, there (AWS Backup API reference: StartRestoreJob,
    # ListRestoreJobs), so a missing restore (restore-tested) or the latest one
    # (restore-time-target) of a us-east-1 resource may be one not seen
    changed = us[us != ref_us]
    assert set(changed) <= {"NOT_ASSESSED"}, changed.to_string()
    controls = changed.index.get_level_values("control_id")
    assert set(controls) <= {"orphaned-backup", "restore-tested", "restore-time-target"}
    orphans = changed[controls == "orphaned-backup"]
    assert all(":rds:" in arn for arn in orphans.index.get_level_values("resource_arn"))
    # restore-tested still PASSes on a restore that was seen
    assert set(ref_us[changed[controls == "restore-tested"].index]) <= {"FAIL"}

    for report in ("report.html", "report.md"):
        text = (out / report).read_text()
        for code in ("AccessDenied", "AuthFailure", "UnrecognizedClientException"):
            assert code in text, (report, code)
        assert "NOT_ASSESSED" in text or "Not assessed" in text or "not assessed" in text.lower()


def test_expired_token(estate, injector, h, tmp_path, monkeypatch):
    """The session token expired: nothing can be gathered, so the run stops at once (exit 1) with
    one line naming the call, and writes nothing (an earlier good result would stay as it was)."""
    injector.fail(
        "sts",
        "*",
        "ExpiredToken",
        region=None,
        message="The security token included in the request is expired",
    )
    injector.fail(
        "*",
        "*",
        "ExpiredTokenException",
        message="The security token included in the request is expired",
    )
    monkeypatch.setattr(auditor.aws.session, "default_session_factory", injector)
    out = tmp_path / "r"
    result = _audit(h, out, ["us-east-1"])
    assert result.exit_code == 1, (result.stderr, result.exception)
    assert result.stderr.strip().splitlines() == [
        "auditor: error: sts:GetCallerIdentity ExpiredToken:"
        " The security token included in the request is expired"
    ]
    assert not out.exists()


def test_token_expiring_half_way(estate, injector, h, tmp_path, monkeypatch):
    """Only the DynamoDB calls fail: DynamoDB tables are NOT_ASSESSED, the other services are judged."""
    injector.fail(
        "dynamodb",
        "*",
        "ExpiredTokenException",
        message="The security token included in the request is expired",
    )
    monkeypatch.setattr(auditor.aws.session, "default_session_factory", injector)
    out = tmp_path / "r"
    result = _audit(h, out, ["us-east-1"], "--no-fail")
    assert result.exit_code == 1, (
        result.stderr,
        result.exception,
    )  # --no-fail never hides an incomplete run
    findings = _findings(out)
    tables = findings["resource_type"].str.contains("dynamodb-table", na=False)
    assert tables.any() and set(findings.loc[tables, "status"]) == {"NOT_ASSESSED"}
    assert {"PASS", "FAIL"} <= set(
        findings.loc[findings["resource_type"] == "ebs-volume", "status"]
    )


def test_connection_reset_mid_pagination(estate, injector, h, tmp_path):
    """DescribeSnapshots' second page fails in us-east-1: no snapshot of that listing is kept, the EBS
    verdicts that need them are NOT_ASSESSED, `auditor check` exits 1 and the reports say why."""
    injector.reset_on_page("ec2", "DescribeSnapshots", page=2, region="us-east-1")
    inv = collect_inventory(
        CollectOptions(regions=["us-east-1"], as_of=h.AS_OF, page_size=5, session_factory=injector)
    )
    sent = [s for s in injector.sent if s == ("ec2", "DescribeSnapshots", "us-east-1")]
    # page 1 arrived; page 2 broke on every attempt botocore made (10)
    assert injector.injected == {"ConnectionReset": 10} and len(sent) == 11

    errors = inv.errors
    assert (
        list(errors["operation"]) == ["DescribeSnapshots"]
        and errors.iloc[0]["region"] == "us-east-1"
    )
    rps = inv.recovery_points
    snaps = rps[(rps["backup_type"] == "ebs-snapshot") & (rps["source"] == "native")]
    assert snaps.empty, "half a listing was kept"

    write_inventory(inv, tmp_path / "inv")
    out = tmp_path / "results"
    result = h.invoke(
        [
            "check",
            "--inventory",
            tmp_path / "inv",
            "--policies",
            h.POLICIES,
            "--out",
            out,
            "--as-of",
            "2026-11-26T12:00:00Z",
        ]
    )
    assert result.exit_code == 1, (result.stderr, result.exception)
    assert "Traceback" not in result.stderr and "incomplete" in result.stderr
    findings = _findings(out)
    ebs = findings["resource_type"] == "ebs-volume"
    needs_snapshots = ebs & findings["control_id"].isin(
        ["backup-recency", "backup-retention", "backup-encrypted"]
    )
    assert needs_snapshots.any()
    assert not (findings.loc[needs_snapshots, "status"] == "PASS").any()
    assert (
        findings.loc[needs_snapshots & (findings["status"] == "NOT_ASSESSED"), "detail"]
        .str.contains("ec2:DescribeSnapshots failed")
        .any()
    )

    # check writes no inventory beside the findings: the reports show the reasons the findings carry
    result = h.invoke(["report", "--results", out, "--format", "html,md"])
    assert result.exit_code == 0, (result.stderr, result.exception)
    assert "ec2:DescribeSnapshots failed (ConnectionClosed)" in (out / "report.html").read_text()
    assert "| NOT_ASSESSED | " in (out / "report.md").read_text()


def test_unreachable_region_endpoint(estate, injector, h, tmp_path):
    """A region whose endpoints do not answer: its data is NOT_ASSESSED, the other region is judged."""
    from auditor.controls import check_inventory
    from auditor.policy import load_policies

    injector.unreachable("eu-west-1")
    inv = collect_inventory(
        CollectOptions(regions=["us-east-1", "eu-west-1"], as_of=h.AS_OF, session_factory=injector)
    )
    errors = inv.errors
    assert set(errors["region"]) == {"eu-west-1"} and set(errors["error_code"]) == {
        "EndpointConnection"
    }
    assert (
        not (inv.resources["region"] == "eu-west-1").any()
        and (inv.resources["region"] == "us-east-1").any()
    )
    findings = check_inventory(inv, load_policies(h.POLICIES, as_of=h.AS_OF), h.AS_OF).frame
    eu = findings[findings["region"] == "eu-west-1"]
    assert len(eu) and set(eu["status"]) == {"NOT_ASSESSED"}
    assert eu["detail"].str.contains("EndpointConnection").all()
    assert {"PASS", "FAIL"} <= set(findings.loc[findings["region"] == "us-east-1", "status"])
