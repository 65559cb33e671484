"""Failures are data: each failed call is an `errors` row naming what it leaves incomplete, and
everything else is still collected. A listing that fails half-way is dropped whole."""

from __future__ import annotations

import boto3
import pytest

from auditor.errors import CollectionError

ACCOUNT = "123456789012"


def _volumes(region, n, size=1):
    ec2 = boto3.client("ec2", region)
    return [
        ec2.create_volume(Size=size, AvailabilityZone=f"{region}a")["VolumeId"] for _ in range(n)
    ]


def test_denied_call_in_one_service_and_region_is_an_error_row(aws, collect, hooks):
    us = _volumes("us-east-1", 1)[0]
    eu = _volumes("eu-west-1", 1)[0]
    us_snap = boto3.client("ec2", "us-east-1").create_snapshot(VolumeId=us)["SnapshotId"]
    eu_snap = boto3.client("ec2", "eu-west-1").create_snapshot(VolumeId=eu)["SnapshotId"]
    hooks.deny("ec2", "DescribeSnapshots", region="eu-west-1")
    inv = collect(regions=["us-east-1", "eu-west-1"], session_factory=hooks)

    errors = inv.errors
    assert len(errors) == 1
    row = errors.iloc[0]
    assert (
        row["account_id"],
        row["region"],
        row["service"],
        row["operation"],
        row["error_code"],
    ) == (ACCOUNT, "eu-west-1", "ec2", "DescribeSnapshots", "AccessDenied")
    assert row["affects"] == "ebs-volume,storagegateway-volume"
    assert "not authorized" in row["message"]
    rp_ids = set(inv.recovery_points["recovery_point_arn"].str.rsplit("/", n=1).str[1])
    assert us_snap in rp_ids and eu_snap not in rp_ids
    assert {us, eu} <= set(inv.resources["resource_id"])  # volumes of both regions still there


def test_listing_failing_half_way_is_dropped_whole(aws, collect, hooks):
    _volumes("us-east-1", 12)
    hooks.fail_on_page("ec2", "DescribeVolumes", page=2)
    inv = collect(session_factory=hooks, page_size=5)
    assert inv.resources[inv.resources["resource_type"] == "ebs-volume"].empty
    row = inv.errors.iloc[0]
    assert (row["operation"], row["error_code"], row["affects"]) == (
        "DescribeVolumes",
        "ConnectionClosed",
        "ebs-volume",
    )


def test_backup_denied_affects_everything(aws, collect, hooks):
    boto3.client("backup", "us-east-1").create_backup_vault(BackupVaultName="v")
    hooks.deny("backup", "ListBackupVaults")
    inv = collect(session_factory=hooks)
    row = inv.errors.set_index("operation").loc["ListBackupVaults"]
    assert row["affects"] == "*" and row["service"] == "backup"
    assert inv.tables["vaults"].empty
    assert not inv.tables["region_settings"].empty  # the other Backup calls still ran


def test_expired_token_stops_collection_naming_the_call(aws, collect, hooks):
    # Nothing can be gathered without a working identity: stop rather than write an empty inventory.
    hooks.deny("sts", "GetCallerIdentity", code="ExpiredToken", status=400)
    with pytest.raises(CollectionError) as caught:
        collect(session_factory=hooks)
    assert str(caught.value).startswith("sts:GetCallerIdentity ExpiredToken: ")


def test_region_not_enabled_leaves_other_regions_complete(aws, collect, hooks):
    _volumes("us-east-1", 2)
    hooks.deny("*", "*", region="ap-east-1", code="UnrecognizedClientException", status=400)
    inv = collect(regions=["us-east-1", "ap-east-1"], session_factory=hooks)
    assert len(inv.resources) == 2
    errs = inv.errors
    assert set(errs["region"]) == {"ap-east-1"} and set(errs["error_code"]) == {
        "UnrecognizedClientException"
    }
    # every collector of that region reported its failure
    assert {"ec2", "rds", "dynamodb", "efs", "storagegateway", "backup"} <= set(errs["service"])


def test_unexpected_response_shape_drops_that_collectors_rows(aws, collect, hooks):
    _volumes("us-east-1", 2)
    hooks.respond(
        "ec2", "DescribeSnapshots", {"Snapshots": [{"State": "completed"}]}
    )  # no SnapshotId
    inv = collect(session_factory=hooks)
    assert inv.resources[inv.resources["resource_type"] == "ebs-volume"].empty
    row = inv.errors.iloc[0]
    assert (row["service"], row["operation"], row["error_code"]) == ("ebs", "collect", "KeyError")
    assert row["affects"] == "ebs-volume,storagegateway-volume"


def test_throttling_that_outlives_retries_is_an_error_row(aws, collect, hooks, monkeypatch):
    monkeypatch.setenv(
        "AWS_MAX_ATTEMPTS", "2"
    )  # keep the test fast; the default is 10 adaptive attempts
    _volumes("us-east-1", 1)
    hooks.deny("dynamodb", "ListTables", code="ThrottlingException", status=400)
    inv = collect(session_factory=hooks)
    row = inv.errors.iloc[0]
    assert (row["operation"], row["error_code"], row["affects"]) == (
        "ListTables",
        "ThrottlingException",
        "dynamodb-table",
    )
    assert len(inv.resources) == 1


def test_progress_bar_does_not_change_the_result(aws, collect):
    _volumes("us-east-1", 2)
    inv = collect(progress=True)
    assert len(inv.resources) == 2 and inv.errors.empty
