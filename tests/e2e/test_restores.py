"""restore-tested and restore-time-target through the AWS Backup API on the sandbox.

Restore jobs are made with StartRestoreJob (and a restore test's job as AWS Backup's restore
testing records it: CreatedBy.RestoreTestingPlanArn and ValidationStatus), then backdated.
A restore's time is CompletionDate - CreationDate (AWS Backup API reference, DescribeRestoreJob).
"""

from __future__ import annotations

import sys
from datetime import timedelta
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

import auditor.sandbox

sys.path.insert(0, str(Path(__file__).parent))
from e2e_estate import ACCOUNT, REGION, ROLE, Estate, as_of_now, collect_and_check

H = timedelta(hours=1)
D = timedelta(days=1)

POLICY = """
version: 1
scope: {resource_types: [ebs-volume]}
plans:
  - {name: tested, select: {tags: {backup: gold}}, frequency: 24h, grace: 2h, retention_days: 7,
     accept: [aws-backup], restore_test_days: 14, restore_time_target: 4h}
"""


def _restore(e: Estate, rp_arn: str, age: timedelta, took: timedelta, **fields) -> str:
    """StartRestoreJob, then set its dates (and restore-test fields) as AWS would report them."""
    from moto.backup.models import backup_backends

    job_id = e.backup.start_restore_job(RecoveryPointArn=rp_arn, Metadata={}, IamRoleArn=ROLE)[
        "RestoreJobId"
    ]
    job = backup_backends[ACCOUNT][REGION].restore_jobs[job_id]
    job["CreationDate"] = e.as_of - age
    job["CompletionDate"] = e.as_of - age + took
    job.update(fields)
    return job_id


@pytest.fixture(scope="module")
def restored(tmp_path_factory):
    auditor.sandbox.install()
    with mock_aws():
        e = Estate(as_of_now())
        e.vault("v")
        for name in ("quick", "slow", "stale", "never", "bad-test", "future", "failed"):
            e.volume(name, {"backup": "gold"}, age_days=40)
            e.backup_job(name, "v", 3 * H)
        e.volume("young", {"backup": "gold"}, age_days=3)  # its first restore is not due yet
        e.backup_job("young", "v", 3 * H)
        rp = {n: e.backup_job(n, "v", 25 * D) for n in e.arns if n != "young"}
        plan = f"arn:aws:backup:{REGION}:{ACCOUNT}:restore-testing-plan:weekly-abc123"
        _restore(e, rp["quick"], 2 * D, 30 * 60 * timedelta(seconds=1))
        _restore(e, rp["slow"], 3 * D, 6 * H)
        _restore(e, rp["stale"], 20 * D, H)
        # A restore test whose validation failed is no proof, however fast.
        _restore(
            e,
            rp["bad-test"],
            D,
            H,
            CreatedBy={"RestoreTestingPlanArn": plan},
            ValidationStatus="FAILED",
            ValidationStatusMessage="row count differs",
        )
        _restore(e, rp["future"], -D, H)  # after as_of: does not count
        _restore(e, rp["failed"], D, H, Status="FAILED", StatusMessage="Access denied to KMS key")
        findings = collect_and_check(tmp_path_factory.mktemp("restores"), POLICY, e.as_of)
    return e, findings


EXPECTED = {
    # volume: (restore-tested, restore-time-target)
    "quick": ("PASS", "PASS"),
    "slow": ("PASS", "FAIL"),
    "stale": ("FAIL", "PASS"),
    "never": ("FAIL", "FAIL"),
    "bad-test": ("FAIL", "FAIL"),
    "future": ("FAIL", "FAIL"),
    "failed": ("FAIL", "FAIL"),
    "young": ("PASS", "FAIL"),
}


@pytest.mark.parametrize("volume", list(EXPECTED))
def test_restore_verdicts(restored, volume):
    e, findings = restored
    arn = e.arns[volume]
    got = (
        findings[(arn, "restore-tested", "tested")]["status"],
        findings[(arn, "restore-time-target", "tested")]["status"],
    )
    assert got == EXPECTED[volume]


def test_evidence_and_detail(restored):
    e, findings = restored
    slow = findings[(e.arns["slow"], "restore-time-target", "tested")]
    assert slow["evidence"]["restore_minutes"] == pytest.approx(360)
    assert slow["evidence"]["target_minutes"] == pytest.approx(240)
    assert "360 minutes" in slow["detail"]
    failed = findings[(e.arns["failed"], "restore-tested", "tested")]
    assert failed["evidence"]["last_failed_restore"]["message"] == "Access denied to KMS key"
    assert "Access denied to KMS key" in failed["detail"]


def test_denied_listing_is_not_assessed(tmp_path):
    """ListRestoreJobs denied: both controls are NOT_ASSESSED, never PASS or FAIL."""
    from datetime import UTC, datetime

    from auditor.aws import CollectOptions, collect_inventory
    from auditor.controls import check_inventory
    from auditor.policy import load_policies

    def denying(**kwargs):
        from botocore.awsrequest import AWSResponse

        def deny(model, params, context, **_):
            if model.name != "ListRestoreJobs":
                return None
            return AWSResponse("https://denied.invalid", 403, {}, None), {
                "Error": {"Code": "AccessDenied", "Message": "not authorized"},
                "ResponseMetadata": {"HTTPStatusCode": 403},
            }

        session = boto3.Session(**kwargs)
        session.events.register("before-call", deny)
        return session

    auditor.sandbox.install()
    with mock_aws():
        e = Estate(datetime.now(UTC).replace(microsecond=0) + timedelta(minutes=5))
        e.vault("v")
        e.volume("one", {"backup": "gold"}, age_days=40)
        rp = e.backup_job("one", "v", 3 * H)
        _restore(e, rp, D, H)
        inv = collect_inventory(
            CollectOptions(regions=[REGION], as_of=e.as_of, session_factory=denying)
        )
    assert set(inv.errors["operation"]) == {"ListRestoreJobs"}
    (tmp_path / "p.yaml").write_text(POLICY)
    findings = check_inventory(inv, load_policies(tmp_path / "p.yaml"), e.as_of)
    rows = findings.frame
    mine = rows[rows["control_id"].isin(["restore-tested", "restore-time-target"])]
    assert len(mine) == 2
    assert set(mine["status"]) == {"NOT_ASSESSED"}
