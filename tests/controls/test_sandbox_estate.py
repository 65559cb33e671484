"""End to end on the emulated estate: seed, collect through boto3, check, compare with ground truth."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from moto import mock_aws

import auditor.sandbox
from auditor.aws import CollectOptions, collect_inventory
from auditor.controls import check_inventory
from auditor.policy import load_policies
from auditor.sandbox.seed import seed_estate

AS_OF = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
POLICY = """
version: 1
plans:
  - name: gold
    select: {tags: {backup: gold}}
    frequency: cron(0 5 ? * * *)
    grace: 4h
    retention_days: 35
    accept: [aws-backup]
  - name: silver
    select: {tags: {backup: silver}}
    frequency: 7d
    grace: 1d
    retention_days: 90
    accept: [aws-backup]
"""


@pytest.fixture(scope="module")
def estate_check(tmp_path_factory):
    env = {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    mp = pytest.MonkeyPatch()
    for key, value in env.items():
        mp.setenv(key, value)
    for key in ("AWS_ENDPOINT_URL", "AWS_PROFILE"):
        mp.delenv(key, raising=False)
    auditor.sandbox.install()
    try:
        with mock_aws():
            truth = seed_estate(AS_OF)
            inventory = collect_inventory(
                CollectOptions(regions=["us-east-1", "eu-west-1"], as_of=AS_OF)
            )
    finally:
        mp.undo()
    path = tmp_path_factory.mktemp("policy") / "p.yaml"
    path.write_text(POLICY)
    findings = check_inventory(inventory, load_policies(path), AS_OF)
    return truth, inventory, findings.frame


def _verdicts(frame, control, plan=None):
    rows = frame[
        (frame["control_id"] == control)
        & ((frame["plan"] == plan) if plan else frame["plan"].isna())
    ]
    return dict(zip(rows["resource_arn"], rows["status"]))


def test_orphans_match_ground_truth(estate_check):
    truth, _inventory, frame = estate_check
    backups = truth.backups
    expected = set(
        backups[backups["orphan"].astype(bool) & ~backups["status"].isin(["FAILED", "DELETING"])][
            "recovery_point_arn"
        ]
    )
    got = _verdicts(frame, "orphaned-backup")
    assert set(got) == expected
    assert set(got.values()) <= {"FAIL", "NOT_ASSESSED"}


def test_plan_deployed_follows_aws_selection_semantics(estate_check):
    truth, inventory, frame = estate_check
    assessed = set(inventory.resources["resource_arn"])
    res = truth.resources[truth.resources["resource_arn"].isin(assessed)]
    gold = _verdicts(frame, "plan-deployed", "gold")
    silver = _verdicts(frame, "plan-deployed", "silver")
    # AWS Backup backs up an S3 bucket only with versioning enabled ("Amazon S3 backups")
    found = inventory.resources
    unversioned = set(
        found.loc[
            (found["resource_type"] == "s3-bucket") & (found["versioning"] != "Enabled"),
            "resource_arn",
        ]
    )
    checked = 0
    for row in res.itertuples(index=False):
        tags = row.tags or {}
        if (
            tags.get("backup") == "gold"
            and row.resource_arn in gold
            and gold[row.resource_arn] != "NOT_ASSESSED"
        ):
            # Aurora clusters are supported by AWS Backup (the default 'aws' profile).
            expected = "FAIL" if row.resource_arn in unversioned else "PASS"
            assert gold[row.resource_arn] == expected, row.resource_arn
            checked += 1
        if (
            tags.get("backup") == "silver"
            and row.resource_arn in silver
            and silver[row.resource_arn] != "NOT_ASSESSED"
        ):
            # the deployed silver selection excludes env=dev (StringNotEquals)
            ok = tags.get("env") != "dev" and row.resource_arn not in unversioned
            assert silver[row.resource_arn] == ("PASS" if ok else "FAIL"), row.resource_arn
            checked += 1
    assert checked >= 10


def test_untagged_resources_are_uncovered(estate_check):
    truth, _inventory, frame = estate_check
    covered = _verdicts(frame, "resource-covered")
    untagged = [
        r.resource_arn
        for r in truth.resources.itertuples()
        if not (r.tags or {}).get("backup")
        and r.resource_arn in covered
        and covered[r.resource_arn] != "NOT_ASSESSED"
    ]
    assert untagged and all(covered[a] == "FAIL" for a in untagged)


def _orphans(frame):
    rows = frame[(frame["control_id"] == "orphaned-backup") & (frame["status"] == "FAIL")]
    return [(r.detail, r.evidence) for r in rows.itertuples()]


def test_orphan_remediation_names_the_delete_call_for_who_made_it(estate_check):
    """AWS Backup's guide: backups it created cannot be deleted with the backed-up service's API,
    only with its DeleteRecoveryPoint; the others with their own service's delete call."""
    _, _, frame = estate_check
    orphans = _orphans(frame)
    by_backup = [
        (d, e)
        for d, e in orphans
        if e["backup_type"] == "ebs-snapshot"
        and e["created_by"] == "aws-backup"
        and not e.get("deletable_from")
    ]
    native = [
        (d, e)
        for d, e in orphans
        if e["backup_type"] == "ebs-snapshot" and e["created_by"] == "user"
    ]
    assert by_backup and native
    for detail, evidence in by_backup:
        assert evidence["delete_api"] == "backup delete-recovery-point"
        assert "Delete it with aws backup delete-recovery-point" in detail
        assert f"--backup-vault-name {evidence['vault_name']}" in detail
        assert "aws ec2 delete-snapshot --" not in detail
    for detail, evidence in native:
        assert evidence["delete_api"] == "ec2 delete-snapshot"
        assert "Delete it with aws ec2 delete-snapshot --region" in detail


def test_an_orphan_in_a_compliance_locked_vault_cannot_be_deleted_yet(estate_check):
    """Vault Lock: a locked vault's recovery points go only when their lifecycle ends."""
    _, _, frame = estate_check
    locked = [(d, e) for d, e in _orphans(frame) if e.get("vault_name") == "dr-vault"]
    assert locked
    for detail, evidence in locked:
        until = evidence["deletable_from"][:10]
        assert until > AS_OF.date().isoformat()
        assert until <= evidence["delete_at"][:10]
        assert f"nobody can delete this recovery point before {until}" in detail
        assert "compliance-mode Vault Lock" in detail


def test_gateway_volume_backups_list_an_ebs_restore_path(estate_check):
    """A Volume Gateway's snapshots are EBS snapshots: they restore as EBS volumes in the cloud."""
    _, _, frame = estate_check
    rows = frame[
        (frame["control_id"] == "backup-recency")
        & (frame["resource_type"] == "storagegateway-volume")
    ]
    paths = [p for e in rows["evidence"] for p in e.get("restore_paths", [])]
    assert any(p["command"].startswith("aws ec2 create-volume") for p in paths)
    assert any(p["where"].startswith("on premises") for p in paths)
