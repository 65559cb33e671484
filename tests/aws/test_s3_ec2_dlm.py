"""S3 buckets, EC2 instances with their AMIs, and Data Lifecycle Manager schedules, through the emulator.

Expectations follow AWS's documentation: ListBuckets with BucketRegion lists the region's buckets
only; GetBucketVersioning has no Status for a bucket never versioned; an AMI's storage is the EBS
snapshots in its block device mappings; a DLM policy targets resources carrying its target tag.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

import boto3
import pytest

from auditor.aws import ec2 as ec2_collector

from .conftest import AS_OF

GIB = 1024**3


def _bucket(name: str, region: str, *, versioning: str | None, tags: dict[str, str] | None):
    s3 = boto3.client("s3", region)
    if region == "us-east-1":
        s3.create_bucket(Bucket=name)
    else:
        s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": region})
    if versioning:
        s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": versioning})
    if tags:
        s3.put_bucket_tagging(
            Bucket=name, Tagging={"TagSet": [{"Key": k, "Value": v} for k, v in tags.items()]}
        )


def test_buckets_of_each_region_with_tags_and_versioning(aws, collect, hooks):
    _bucket("east-versioned", "us-east-1", versioning="Enabled", tags={"backup": "gold"})
    _bucket("east-suspended", "us-east-1", versioning="Suspended", tags=None)
    _bucket("west-never", "eu-west-1", versioning=None, tags={"team": "data"})

    inv = collect(regions=["us-east-1", "eu-west-1"], session_factory=hooks)
    assert inv.errors.empty, inv.errors
    buckets = inv.tables["resources"].query("resource_type == 's3-bucket'").set_index("resource_id")
    assert buckets.loc["east-versioned", "region"] == "us-east-1"
    assert buckets.loc["west-never", "region"] == "eu-west-1"  # listed once, by its own region
    assert len(buckets) == 3
    assert buckets["versioning"].to_dict() == {
        "east-versioned": "Enabled",
        "east-suspended": "Suspended",
        "west-never": "Disabled",
    }
    assert buckets.loc["east-versioned", "resource_arn"] == "arn:aws:s3:::east-versioned"
    tags = inv.tables["tags"]
    assert set(tags.loc[tags["arn"] == "arn:aws:s3:::east-versioned", "key"]) == {"backup"}
    # a bucket without tags answers NoSuchTagSet: no tags, not an error
    assert tags.loc[tags["arn"] == "arn:aws:s3:::east-suspended"].empty
    # one GetBucketTagging and one GetBucketVersioning per bucket, never more
    calls = [(s, op) for s, op, _ in hooks.calls]
    assert calls.count(("s3", "GetBucketTagging")) == 3
    assert calls.count(("s3", "GetBucketVersioning")) == 3


def test_a_bucket_whose_versioning_cannot_be_read_is_incomplete_not_disabled(aws, collect, hooks):
    _bucket("east-versioned", "us-east-1", versioning="Enabled", tags=None)
    hooks.deny("s3", "GetBucketVersioning")
    inv = collect(regions=["us-east-1"], session_factory=hooks)
    assert (inv.tables["resources"]["resource_type"] == "s3-bucket").sum() == 1
    assert inv.tables["resources"]["versioning"].isna().all()  # unknown, not "Disabled"
    assert "s3-bucket" in set(inv.errors["affects"])


def test_instances_and_their_amis_counted_with_their_snapshots(aws, collect):
    from auditor.sandbox import seed_estate

    estate = seed_estate(AS_OF, regions=("us-east-1",))
    inv = collect(regions=["us-east-1"], as_of=AS_OF)
    assert inv.errors.empty, inv.errors
    truth = estate.resources.query("resource_type == 'ec2-instance'")
    got = inv.tables["resources"].query("resource_type == 'ec2-instance'")
    assert set(got["resource_arn"]) == set(truth["resource_arn"])
    images = inv.tables["recovery_points"].query("backup_type == 'ec2-image'")
    expected = estate.backups.query("backup_type == 'ec2-image' and region == 'us-east-1'")
    assert set(images["recovery_point_arn"]) == set(expected["recovery_point_arn"])
    # the AMI's size is its snapshot's exact size, and that snapshot is not listed a second time
    sizes = expected.set_index("recovery_point_arn")["size_bytes"].astype(int).to_dict()
    got_sizes = images.set_index("recovery_point_arn")["size_bytes"].astype(int).to_dict()
    assert got_sizes == sizes
    assert set(images["size_basis"]) == {"FullSnapshotSizeInBytes(sum of AMI snapshots)"}
    snapshot_descriptions = inv.tables["recovery_points"].query("backup_type == 'ebs-snapshot'")
    assert len(snapshot_descriptions) == len(
        estate.backups.query("backup_type == 'ebs-snapshot' and region == 'us-east-1'")
    )
    # AWS Backup's AMIs are AWS Backup's; DLM's are native, made automatically
    by_source = images.groupby(["source", "created_by"]).size().to_dict()
    assert by_source.get(("aws-backup", "aws-backup"), 0) > 0
    assert by_source.get(("native", "automated"), 0) > 0


def test_dlm_policy_is_the_native_schedule_of_the_volumes_and_instances_it_targets(aws, collect):
    ec2 = boto3.client("ec2", "us-east-1")
    tagged = ec2.create_volume(
        AvailabilityZone="us-east-1a",
        Size=10,
        TagSpecifications=[
            {"ResourceType": "volume", "Tags": [{"Key": "snapshot", "Value": "daily"}]}
        ],
    )["VolumeId"]
    other = ec2.create_volume(AvailabilityZone="us-east-1a", Size=10)["VolumeId"]
    from auditor.sandbox.moto_ext.dlm.models import dlm_backends

    dlm = dlm_backends["123456789012"]["us-east-1"]
    details = {
        "PolicyType": "EBS_SNAPSHOT_MANAGEMENT",
        "ResourceTypes": ["VOLUME"],
        "TargetTags": [{"Key": "snapshot", "Value": "daily"}],
        "Schedules": [
            {
                "Name": "every-12h",
                "CreateRule": {"Interval": 12, "IntervalUnit": "HOURS"},
                "RetainRule": {"Count": 14},
            },
            {
                "Name": "weekly",
                "CreateRule": {"CronExpression": "cron(0 4 ? * SUN *)"},
                "RetainRule": {"Interval": 8, "IntervalUnit": "WEEKS"},
            },
        ],
    }
    created = datetime(2026, 1, 1, tzinfo=UTC)
    dlm.add_policy(
        "policy-0aaa", description="d", state="ENABLED", details=details, created=created
    )
    dlm.add_policy(
        "policy-0bbb", description="off", state="DISABLED", details=details, created=created
    )

    inv = collect(regions=["us-east-1"])
    assert inv.errors.empty, inv.errors
    volumes = inv.tables["resources"].set_index("resource_id")
    assert (
        volumes.loc[tagged, "native_schedule"] == "dlm:policy-0aaa"
    )  # a disabled policy runs nothing
    assert volumes.loc[tagged, "native_frequency_hours"] == 12
    assert volumes.loc[tagged, "native_retention_days"] == 56  # eight weeks, the longest kept
    assert volumes["native_schedule"].isna()[other]
    policies = inv.tables["lifecycle_policies"]
    assert set(policies["policy_id"]) == {"policy-0aaa", "policy-0bbb"}
    assert json.loads(policies.iloc[0]["target_tags"]) == [{"Key": "snapshot", "Value": "daily"}]


@pytest.mark.parametrize(
    ("create", "retain", "expected"),
    [
        ({"Interval": 24, "IntervalUnit": "HOURS"}, {"Count": 7}, (24.0, 7)),
        ({"Interval": 6, "IntervalUnit": "HOURS"}, {"Count": 8}, (6.0, 2)),
        ({"Times": ["03:00"]}, {"Interval": 2, "IntervalUnit": "MONTHS"}, (24.0, 56)),
        (
            {"CronExpression": "cron(0 5 ? * MON *)"},
            {"Interval": 1, "IntervalUnit": "YEARS"},
            (168.0, 365),
        ),
    ],
)
def test_dlm_schedule_figures(create, retain, expected):
    """CreateRule and RetainRule as the DLM API reference defines them."""
    assert (
        ec2_collector.schedule_figures([{"CreateRule": create, "RetainRule": retain}]) == expected
    )


def test_image_row_of_a_dlm_ami():
    class Ctx:
        region, account_id, partition = "us-east-1", "123456789012", "aws"

        def arn(self, service, resource, *, region=None, account=None):
            account = self.account_id if account is None else account
            return f"arn:aws:{service}:{region or self.region}:{account}:{resource}"

    row = ec2_collector.image_row(
        Ctx(),  # type: ignore[arg-type]
        {
            "ImageId": "ami-0abc",
            "State": "available",
            "CreationDate": "2026-11-20T03:00:00.000Z",
            "SourceInstanceId": "i-0123",
            "Tags": [{"Key": "aws:dlm:lifecycle-policy-id", "Value": "policy-1"}],
            "BlockDeviceMappings": [
                {"DeviceName": "/dev/xvda", "Ebs": {"SnapshotId": "snap-1", "VolumeSize": 8}},
                {"DeviceName": "/dev/xvdb", "Ebs": {"SnapshotId": "snap-2", "VolumeSize": 100}},
                {"DeviceName": "/dev/sdc", "VirtualName": "ephemeral0"},
            ],
        },
    )
    assert row["recovery_point_arn"] == "arn:aws:ec2:us-east-1::image/ami-0abc"
    assert row["resource_arn"] == "arn:aws:ec2:us-east-1:123456789012:instance/i-0123"
    assert (row["source"], row["created_by"]) == ("native", "automated")
    assert row["size_bytes"] == 108 * GIB and row["size_basis"] == "VolumeSize(upper-bound)"
    assert json.loads(row["_image_snapshot_ids"]) == ["snap-1", "snap-2"]
    assert row["created_at"] == datetime(2026, 11, 20, 3, 0, tzinfo=UTC)
