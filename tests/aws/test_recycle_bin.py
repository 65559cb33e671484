"""EBS Recycle Bin snapshots and managed volumes, collected as AWS documents them.

A snapshot deleted under a Recycle Bin retention rule leaves DescribeSnapshots and shows only in
ListSnapshotsInRecycleBin; it restores nothing until recovered but is billed as snapshot storage
until its RecycleBinExitTime (Amazon EBS User Guide, "Recover deleted Amazon EBS snapshots and
EBS-backed AMIs with Recycle Bin"). Managed volumes appear only with IncludeManagedResources=true
(EC2 API reference, DescribeVolumes).
"""

from __future__ import annotations

from datetime import timedelta

import boto3
import pandas as pd
import pytest

from auditor.controls import check_inventory
from auditor.metering import load_prices, meter
from auditor.policy import load_policies
from auditor.sandbox.moto_ext.recycle_bin import (
    bin_snapshots,
    mark_managed,
    set_snapshot_retention_rule,
)
from tests.aws.conftest import ACCOUNT, AS_OF

R = "us-east-1"


def _volume_with_snapshots(ec2, n: int) -> tuple[str, list[str]]:
    vol = ec2.create_volume(AvailabilityZone=f"{R}a", Size=8)["VolumeId"]
    snaps = [ec2.create_snapshot(VolumeId=vol)["SnapshotId"] for _ in range(n)]
    return vol, snaps


def test_a_deleted_snapshot_in_the_bin_is_listed_kept_and_not_a_backup(aws, collect, hooks):
    ec2 = boto3.client("ec2", R)
    vol, (kept, binned) = _volume_with_snapshots(ec2, 2)
    set_snapshot_retention_rule(ACCOUNT, R, 7)
    ec2.delete_snapshot(SnapshotId=binned)
    # AWS: the bin hides it from DescribeSnapshots
    listed = {s["SnapshotId"] for s in ec2.describe_snapshots(OwnerIds=["self"])["Snapshots"]}
    assert listed == {kept}
    bin_snapshots(ACCOUNT, R)[binned].recycle_bin_exit_time = AS_OF + timedelta(days=5)

    inv = collect(services=("ebs",), session_factory=hooks)
    assert inv.errors.empty, inv.errors
    rp = inv.recovery_points.set_index("recovery_point_arn")
    row = rp.loc[f"arn:aws:ec2:{R}::snapshot/{binned}"]
    assert row["status"] == "DELETING"  # restores nothing until recovered
    assert row["resource_arn"] == f"arn:aws:ec2:{R}:{ACCOUNT}:volume/{vol}"
    assert row["size_bytes"] == 8 * 1024**3 and row["size_basis"] == "VolumeSize(upper-bound)"
    assert row["delete_at"] == pd.Timestamp(AS_OF + timedelta(days=5))
    assert rp.loc[f"arn:aws:ec2:{R}::snapshot/{kept}", "status"] == "COMPLETED"
    # one paged listing (MaxResults sent), no per-snapshot calls
    sent = [p for s, op, p in hooks.params if op == "ListSnapshotsInRecycleBin"]
    assert len(sent) == 1 and sent[0]["body"]["MaxResults"] == 1000


def test_a_binned_snapshot_is_billed_but_does_not_pass_recency(aws, collect, tmp_path):
    ec2 = boto3.client("ec2", R)
    from moto.ec2.models import ec2_backends

    vol, (binned,) = _volume_with_snapshots(ec2, 1)
    ec2_backends[ACCOUNT][R].volumes[vol].create_time = AS_OF - timedelta(days=10)
    ec2.create_tags(Resources=[vol], Tags=[{"Key": "backup", "Value": "daily"}])
    set_snapshot_retention_rule(ACCOUNT, R, 30)
    ec2.delete_snapshot(SnapshotId=binned)
    inv = collect(services=("ebs",))
    (tmp_path / "p.yaml").write_text(
        """
version: 1
scope: {resource_types: [ebs-volume]}
plans:
  - name: daily
    select: {tags: {backup: daily}}
    frequency: 24h
    retention_days: 1
    accept: [native]
"""
    )
    policies = load_policies(tmp_path / "p.yaml")
    later = AS_OF + timedelta(days=3)
    findings = check_inventory(inv, policies, later, controls=["backup-recency"]).frame
    assert list(findings["status"]) == ["FAIL"]
    metered = meter(inv, load_prices(None), AS_OF)
    ebs = metered.frame[metered.frame["billing_owner"] == "AmazonEC2"]
    assert ebs["gb_months"].sum() > 0


def test_a_denied_bin_listing_is_an_error_row(aws, collect, hooks):
    ec2 = boto3.client("ec2", R)
    _volume_with_snapshots(ec2, 1)
    hooks.deny("ec2", "ListSnapshotsInRecycleBin")
    inv = collect(services=("ebs",), session_factory=hooks)
    errors = inv.errors
    assert list(errors["operation"]) == ["ListSnapshotsInRecycleBin"]
    assert set(errors["affects"].iloc[0].split(",")) == {"ebs-volume", "storagegateway-volume"}


@pytest.mark.parametrize("page", [5, 7])
def test_the_bin_listing_pages_like_aws(aws, collect, page):
    ec2 = boto3.client("ec2", R)
    _vol, snaps = _volume_with_snapshots(ec2, 12)
    set_snapshot_retention_rule(ACCOUNT, R, 7)
    for s in snaps:
        ec2.delete_snapshot(SnapshotId=s)
    first = ec2.list_snapshots_in_recycle_bin(MaxResults=page)
    assert len(first["Snapshots"]) == page and first["NextToken"]
    rest = ec2.list_snapshots_in_recycle_bin(MaxResults=page, NextToken=first["NextToken"])
    assert not {s["SnapshotId"] for s in first["Snapshots"]} & {
        s["SnapshotId"] for s in rest["Snapshots"]
    }
    inv = collect(services=("ebs",), page_size=page)
    assert (inv.recovery_points["status"] == "DELETING").sum() == 12


def test_managed_volumes_are_collected(aws, collect, hooks):
    from moto.ec2.models import ec2_backends

    ec2 = boto3.client("ec2", R)
    plain = ec2.create_volume(AvailabilityZone=f"{R}a", Size=4)["VolumeId"]
    managed = ec2.create_volume(AvailabilityZone=f"{R}a", Size=4)["VolumeId"]
    mark_managed(ec2_backends[ACCOUNT][R].volumes[managed], "eks.amazonaws.com")
    # AWS: hidden from a plain DescribeVolumes, shown when asked for
    assert {v["VolumeId"] for v in ec2.describe_volumes()["Volumes"]} == {plain}
    both = ec2.describe_volumes(IncludeManagedResources=True)["Volumes"]
    assert {v["VolumeId"] for v in both} == {plain, managed}
    inv = collect(services=("ebs",), session_factory=hooks)
    assert set(inv.resources["resource_id"]) == {plain, managed}
    sent = [p for s, op, p in hooks.params if op == "DescribeVolumes"]
    assert sent and all(p["body"]["IncludeManagedResources"] == "true" for p in sent)
