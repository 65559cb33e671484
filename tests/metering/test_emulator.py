"""Metering what the collectors read from the emulator (moto plus the sandbox's AWS behaviours):
DynamoDB backups billed by the owner their ARN names, PITR tables metered at their size."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from moto import mock_aws

import auditor.sandbox
from auditor.aws import CollectOptions, collect_inventory
from auditor.metering import load_prices, meter

AS_OF = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
# The sandbox turns DynamoDB's advanced AWS Backup features on in every region but the first.
REGIONS = ["us-east-1", "eu-west-1"]


@pytest.fixture
def metered(monkeypatch):
    for key, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(key, value)
    for key in ("AWS_ENDPOINT_URL", "AWS_PROFILE", "AWS_MAX_ATTEMPTS"):
        monkeypatch.delenv(key, raising=False)
    auditor.sandbox.install()
    with mock_aws():
        auditor.sandbox.seed_estate(AS_OF, regions=tuple(REGIONS))
        inv = collect_inventory(CollectOptions(regions=REGIONS, as_of=AS_OF))
    return inv, meter(inv, load_prices(), AS_OF)


def test_dynamodb_backups_are_billed_by_the_owner_their_arn_names(metered):
    inv, result = metered
    rp = inv.recovery_points
    ddb = rp[(rp["backup_type"] == "dynamodb-backup") & (rp["status"] != "FAILED")]
    by_backup = ddb["recovery_point_arn"].str.startswith("arn:aws:backup:")
    assert by_backup.any() and (~by_backup).any(), "the estate should hold both kinds"
    rows = result.frame[result.frame["service"] == "DynamoDB"]
    backups = rows.groupby("billing_owner")["backups"].sum().to_dict()
    cold_native = (~by_backup & (ddb["storage_class"] == "cold")).sum()
    assert backups.get("AWSBackup", 0) == int(by_backup.sum() + cold_native)
    assert backups.get("AmazonDynamoDB", 0) == int((~by_backup).sum() - cold_native)


def test_tables_with_pitr_are_metered_at_their_size(metered):
    inv, result = metered
    res = inv.resources
    pitr = res[
        (res["resource_type"] == "dynamodb-table") & (res["native_schedule"] == "dynamodb-pitr")
    ]
    rows = result.frame[result.frame["service"] == "DynamoDB PITR"]
    if not len(pitr):
        pytest.skip("the seeded estate has no table with PITR on")
    assert set(rows["usage_type"]) == {"TimedPITRStorage-ByteHrs"}
    assert set(rows["billing_owner"]) == {"AmazonDynamoDB"}
    assert int(rows["backups"].sum()) == len(pitr)
