"""The EC2 tag lookup fix: many tagged snapshots list quickly (sanity, not a timing assertion)."""

from __future__ import annotations


def test_tagged_ec2_listing_is_fast_at_scale(aws):
    """The O(N^2) tag lookup is gone: 6,000 tagged snapshots list quickly (a sanity check, not a timing assert)."""
    from datetime import datetime

    from auditor.sandbox.moto_ext import native

    t0 = datetime(2026, 1, 1)
    for i in range(6000):
        native.add_ebs_snapshot(
            "123456789012",
            "us-east-1",
            volume_id=f"vol-{i:017x}",
            volume_size_gib=8,
            created=t0,
            tags={"team": "data", "n": str(i)},
        )
    ec2 = aws("ec2")
    items = [
        s
        for p in ec2.get_paginator("describe_snapshots").paginate(OwnerIds=["self"])
        for s in p["Snapshots"]
    ]
    assert len(items) == 6000
    assert {t["Key"] for t in items[123]["Tags"]} == {"team", "n"}
    tagging = aws("resourcegroupstaggingapi")
    resp = tagging.get_resources(
        TagFilters=[{"Key": "n", "Values": ["5999"]}], ResourceTypeFilters=["ec2:snapshot"]
    )
    assert len(resp["ResourceTagMappingList"]) == 1


def test_describe_snapshots_honours_owner_ids(aws):
    """OwnerIds=['self'] and the account id return the account's snapshots; another owner none."""
    ec2 = aws("ec2")
    vol = ec2.create_volume(Size=1, AvailabilityZone="us-east-1a")["VolumeId"]
    snap = ec2.create_snapshot(VolumeId=vol)["SnapshotId"]
    mine = ec2.describe_snapshots(OwnerIds=["self"])["Snapshots"]
    assert [s["SnapshotId"] for s in mine] == [snap]
    assert ec2.describe_snapshots(OwnerIds=["123456789012"])["Snapshots"] == mine
    assert ec2.describe_snapshots(OwnerIds=["999999999999"])["Snapshots"] == []
