"""What a whole `audit` sends on the wire: page sizes, owner filters, no per-item calls in bulk's place.

Parameters are recorded with a botocore `before-parameter-build` hook, i.e. exactly what each call
(and each page of a paginated listing) is given before serialisation.
"""

from __future__ import annotations

import threading
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import botocore.session
import pytest

from auditor.pipeline import AuditOptions, run_audit

AS_OF = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


POLICIES = Path(__file__).resolve().parents[2] / "policies"
REGIONS = ["us-east-1", "eu-west-1"]

# EC2's API reference: without an owner filter DescribeSnapshots/DescribeImages return every
# snapshot or image the caller may use, public ones of every AWS account included (millions of
# rows). DescribeSnapshots names the filter OwnerIds, DescribeImages Owners.
OWNER_SCOPED = {("ec2", "DescribeSnapshots"): "OwnerIds", ("ec2", "DescribeImages"): "Owners"}

# Per-item calls AWS has no bulk form of; every other operation must stay O(pages), not O(items).
PER_ITEM = {
    ("dynamodb", "DescribeTable"),
    ("dynamodb", "DescribeContinuousBackups"),
    ("backup", "GetBackupPlan"),
    ("backup", "ListBackupSelections"),
    ("backup", "GetBackupSelection"),
    ("backup", "ListRecoveryPointsByBackupVault"),
    ("backup", "ListRestoreTestingSelections"),  # per restore testing plan
    ("storagegateway", "ListVolumes"),  # per gateway
    ("storagegateway", "DescribeCachediSCSIVolumes"),  # per gateway, 50 volumes a call
    ("storagegateway", "DescribeStorediSCSIVolumes"),
    ("storagegateway", "ListTagsForResource"),  # volumes are not in the tagging API
    ("sts", "AssumeRole"),  # once per account
    ("backup", "GetBackupVaultAccessPolicy"),  # per vault
    # per manual snapshot (bounded per region): whether it is shared with everyone
    ("rds", "DescribeDBSnapshotAttributes"),
    ("rds", "DescribeDBClusterSnapshotAttributes"),
}
# Per-item calls that are bounded: exactly one call per item of a listing, counted below.
# S3 has no bulk form of a bucket's tags or versioning; DLM's summaries carry no schedules.
BOUNDED_PER_ITEM = {
    ("s3", "GetBucketTagging"): ("s3", "ListBuckets", "Buckets"),
    ("s3", "GetBucketVersioning"): ("s3", "ListBuckets", "Buckets"),
    ("dlm", "GetLifecyclePolicy"): ("dlm", "GetLifecyclePolicies", "Policies"),
}
# Parameters that turn a listing into a per-item describe.
ITEM_PARAMS = {"VolumeIds", "SnapshotIds", "DBInstanceIdentifier", "DBClusterIdentifier"}


class Recorder:
    """A session factory recording every call's operation and parameters."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, dict[str, Any]]] = []
        self._lock = threading.Lock()

    def _record(self, params: dict, model: Any, **_: Any) -> None:
        with self._lock:
            self.calls.append((model.service_model.service_name, model.name, dict(params)))

    def __call__(self, **kwargs: Any) -> boto3.Session:
        session = boto3.Session(**kwargs)
        session.events.register("before-parameter-build", self._record)
        return session


def _limit_keys() -> dict[tuple[str, str], str]:
    """(service, operation) -> the page-size parameter of every paginated listing botocore knows."""
    session = botocore.session.get_session()
    cache: dict[tuple[str, str], str] = {}

    def limit_key(service: str, operation: str) -> str | None:
        key = (service, operation)
        if key not in cache:
            try:
                model = session.get_paginator_model(service).get_paginator(operation)
                cache[key] = model.get("limit_key") or ""
            except Exception:  # not paginated at all
                cache[key] = ""
        return cache[key] or None

    return limit_key  # type: ignore[return-value]


@pytest.fixture(scope="module")
def recorded(tmp_path_factory):
    from moto import mock_aws

    import auditor.sandbox

    with pytest.MonkeyPatch.context() as mp:
        for key, value in {
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": "us-east-1",
        }.items():
            mp.setenv(key, value)
        for key in ("AWS_ENDPOINT_URL", "AWS_PROFILE", "AWS_SESSION_TOKEN"):
            mp.delenv(key, raising=False)
        auditor.sandbox.install()
        with mock_aws():
            auditor.sandbox.seed_estate(AS_OF, regions=tuple(REGIONS), scale=0.3)
            org = boto3.client("organizations", "us-east-1")
            org.create_organization(FeatureSet="ALL")
            org.create_account(AccountName="member", Email="member@example.com")
            recorder = Recorder()
            outcome = run_audit(
                AuditOptions(
                    policies=POLICIES,
                    out=tmp_path_factory.mktemp("wire") / "out",
                    as_of=AS_OF,
                    regions=REGIONS,
                    formats=("json",),
                    session_factory=recorder,
                    collect_extra={"org": True},
                )
            )
            yield recorder, outcome


def test_every_listing_sends_a_page_size(recorded):
    recorder, _ = recorded
    limit_key = _limit_keys()
    unpaged = sorted(
        {
            f"{service}:{op}"
            for service, op, params in recorder.calls
            if (key := limit_key(service, op)) and key not in params
        }
    )
    assert recorder.calls
    assert not unpaged, f"listings sent without a page size: {unpaged}"


def test_snapshot_and_image_listings_ask_for_own_only(recorded):
    recorder, _ = recorded
    owner_calls = [(s, op, p) for s, op, p in recorder.calls if (s, op) in OWNER_SCOPED]
    assert {(s, op) for s, op, _ in owner_calls} == set(OWNER_SCOPED)  # both are made
    for service, op, params in owner_calls:
        assert params.get(OWNER_SCOPED[(service, op)]) == ["self"], (op, params)


def test_public_backups_are_found_in_bulk(recorded):
    recorder, _ = recorded
    scopes = len(REGIONS) * 2  # two accounts
    # One listing (a page or more) per account and region for public EBS snapshots and AMIs.
    public_snapshots = [
        p
        for s, op, p in recorder.calls
        if (s, op) == ("ec2", "DescribeSnapshots") and p.get("RestorableByUserIds") == ["all"]
    ]
    assert len(public_snapshots) == scopes
    assert all(p["OwnerIds"] == ["self"] for p in public_snapshots)
    images = [p for s, op, p in recorder.calls if (s, op) == ("ec2", "DescribeImages")]
    assert len(images) == scopes
    assert all(p["Filters"] == [{"Name": "is-public", "Values": ["true"]}] for p in images)
    # No per-snapshot EBS attribute calls at all.
    assert not [op for s, op, _ in recorder.calls if op == "DescribeSnapshotAttribute"]
    # RDS attribute calls only for manual snapshots (automated ones are named rds:..., AWS
    # Backup's awsbackup:...).
    asked = [
        p.get("DBSnapshotIdentifier") or p.get("DBClusterSnapshotIdentifier")
        for s, op, p in recorder.calls
        if op in ("DescribeDBSnapshotAttributes", "DescribeDBClusterSnapshotAttributes")
    ]
    assert asked, "the seeded estate has manual RDS snapshots"
    assert not [a for a in asked if a.startswith(("rds:", "awsbackup:"))]


def test_no_per_item_call_where_a_bulk_call_exists(recorded):
    recorder, outcome = recorded
    assert outcome.resources > 20
    counts = Counter((s, op) for s, op, _ in recorder.calls)
    per_item = [
        (s, op, sorted(set(p) & ITEM_PARAMS))
        for s, op, p in recorder.calls
        if set(p) & ITEM_PARAMS and (s, op) not in PER_ITEM
    ]
    assert not per_item, per_item[:5]
    # Two accounts × two regions: a bulk listing is a handful of pages per account and region.
    pages_per_scope = 4
    heavy = {
        f"{s}:{op}": n
        for (s, op), n in counts.items()
        if (s, op) not in PER_ITEM | set(BOUNDED_PER_ITEM)
        and n > pages_per_scope * 2 * len(REGIONS) * 6
    }
    assert not heavy, f"calls that grow with resources: {heavy}"


def test_restore_jobs_are_listed_from_the_window_start(recorded):
    """ListRestoreJobs asks only for jobs created after the window's start (ByCreatedAfter): the
    demo policy's restore_test_days (30) reaches back as far as the default jobs window."""
    recorder, _ = recorded
    listed = [p for s, op, p in recorder.calls if (s, op) == ("backup", "ListRestoreJobs")]
    assert len(listed) == 2 * len(REGIONS)  # one listing per account and region
    for params in listed:
        since = params["ByCreatedAfter"]
        assert since == datetime(2026, 10, 27, 12, 0, tzinfo=UTC), params
    # and no per-resource restore listing
    assert not [c for c in recorder.calls if c[1] == "ListRestoreJobsByProtectedResource"]


def test_bounded_per_item_calls_are_one_per_listed_item(recorded):
    """GetBucketTagging/GetBucketVersioning once per listed bucket, GetLifecyclePolicy once per
    listed policy: never more, and no per-item call of any other kind beyond PER_ITEM."""
    recorder, outcome = recorded
    counts = Counter((s, op) for s, op, _ in recorder.calls)
    for (service, op), (list_service, list_op, _key) in BOUNDED_PER_ITEM.items():
        assert counts[(service, op)] > 0, f"{service}:{op} never called"
        assert counts[(list_service, list_op)] > 0
    from auditor.inventory import read_inventory

    tables = read_inventory(outcome.out / "inventory").tables
    listed = {
        "Buckets": int((tables["resources"]["resource_type"] == "s3-bucket").sum()),
        "Policies": len(tables["lifecycle_policies"]),
    }
    for (service, op), (_s, _op, key) in BOUNDED_PER_ITEM.items():
        assert counts[(service, op)] == listed[key], (service, op, counts[(service, op)], listed)
    per_item_names = {op for _, op in PER_ITEM | set(BOUNDED_PER_ITEM)}
    singles = {
        f"{s}:{op}"
        for s, op, p in recorder.calls
        if (s, op) not in PER_ITEM | set(BOUNDED_PER_ITEM)
        and {"Bucket", "PolicyId", "ImageId", "InstanceId"} & set(p)
        and op not in per_item_names
    }
    assert not singles, f"per-item calls outside the listed ones: {sorted(singles)}"
