"""Who bills each backup (docs/metering.md) and which usage type it is."""

from __future__ import annotations

import pytest

from auditor.metering import meter


def _one(mk, prices, rec, **inv_kw):
    result = meter(mk.inventory([rec], **inv_kw), prices, mk.AS_OF)
    assert len(result.frame) == 1, result.frame
    return result.frame.iloc[0]


@pytest.mark.parametrize(
    ("backup_type", "extra", "service", "owner", "usage_type"),
    [
        ("ebs-snapshot", {}, "EBS", "AmazonEC2", "EBS:SnapshotUsage"),
        (
            "ebs-snapshot",
            {"source": "aws-backup", "created_by": "aws-backup"},
            "EBS",
            "AmazonEC2",
            "EBS:SnapshotUsage",
        ),
        (
            "storagegateway-snapshot",
            {"created_by": "storage-gateway"},
            "Storage Gateway",
            "AmazonEC2",
            "EBS:SnapshotUsage",
        ),
        ("rds-snapshot", {}, "RDS", "AmazonRDS", "RDS:ChargedBackupUsage"),
        (
            "rds-snapshot",
            {"source": "aws-backup", "created_by": "aws-backup"},
            "RDS",
            "AmazonRDS",
            "RDS:ChargedBackupUsage",
        ),
        ("dynamodb-backup", {}, "DynamoDB", "AmazonDynamoDB", "TimedBackupStorage-ByteHrs"),
        (
            "efs-backup",
            {"source": "aws-backup", "created_by": "aws-backup"},
            "EFS",
            "AWSBackup",
            "WarmStorage-ByteHrs-EFS",
        ),
    ],
)
def test_billing_owner_per_backup_type(mk, prices, backup_type, extra, service, owner, usage_type):
    row = _one(mk, prices, mk.backup(backup_type, 10, **extra))
    assert (row.service, row.billing_owner, row.usage_type) == (service, owner, usage_type)
    assert not row.unpriced


def test_aurora_cluster_snapshot_vs_multi_az_cluster(mk, prices):
    aurora = mk.backup("rds-cluster-snapshot", 10)
    plain = mk.backup("rds-cluster-snapshot", 10)
    gone = mk.backup("rds-cluster-snapshot", 10)  # cluster deleted: taken as Aurora
    resources = [
        mk.resource_for(aurora, engine="aurora-postgresql", size_bytes=0),
        mk.resource_for(plain, engine="postgres", size_bytes=0),
    ]
    result = meter(mk.inventory([aurora, plain, gone], resources=resources), prices, mk.AS_OF)
    by_service = result.frame.set_index("service")
    assert by_service.loc["Aurora", "usage_type"] == "Aurora:BackupUsage"
    assert by_service.loc["Aurora", "backups"] == 2
    assert by_service.loc["RDS", "usage_type"] == "RDS:ChargedBackupUsage"
    assert set(result.frame["billing_owner"]) == {"AmazonRDS"}


def test_dynamodb_owner_follows_the_backup_arn_not_the_region_setting(mk, prices):
    # AWS Backup's advanced features on in us-east-1, off in us-west-2: the ARN of each backup
    # decides, whatever the region says
    advanced = mk.backup(
        "dynamodb-backup", 10, region="us-west-2", source="aws-backup", created_by="aws-backup"
    )
    assert advanced["recovery_point_arn"].startswith("arn:aws:backup:")
    table = f"arn:aws:dynamodb:us-east-1:{mk.ACCT}:table/ledger"
    plain = mk.backup(
        "dynamodb-backup",
        10,
        region="us-east-1",
        source="aws-backup",
        created_by="aws-backup",
        resource_arn=table,
        recovery_point_arn=f"{table}/backup/01760000000000-aa11bb22",
    )
    settings = [
        dict(
            account_id=mk.ACCT,
            region=region,
            service="DynamoDB",
            opted_in=True,
            full_management=managed,
        )
        for region, managed in (("us-east-1", True), ("us-west-2", False))
    ]
    result = meter(mk.inventory([advanced, plain], region_settings=settings), prices, mk.AS_OF)
    by_region = result.frame.set_index("region")
    assert by_region.loc["us-west-2", "billing_owner"] == "AWSBackup"
    assert by_region.loc["us-west-2", "usage_type"] == "WarmStorage-ByteHrs-DynamoDB"
    assert by_region.loc["us-east-1", "billing_owner"] == "AmazonDynamoDB"
    assert by_region.loc["us-east-1", "usage_type"] == "TimedBackupStorage-ByteHrs"


def test_storage_classes_map_to_their_usage_types(mk, prices):
    recs = [
        mk.backup("ebs-snapshot", 10, storage_class="warm"),
        mk.backup("ebs-snapshot", 20, storage_class="archive"),
        mk.backup("efs-backup", 30, storage_class="warm"),
        mk.backup("efs-backup", 40, storage_class="cold"),
    ]
    result = meter(mk.inventory(recs), prices, mk.AS_OF)
    got = {
        (r.service, r.storage_class): (r.usage_type, r.gb_months) for r in result.frame.itertuples()
    }
    assert got == {
        ("EBS", "warm"): ("EBS:SnapshotUsage", 10),
        ("EBS", "archive"): ("EBS:SnapshotArchiveStorage", 20),
        ("EFS", "warm"): ("WarmStorage-ByteHrs-EFS", 30),
        ("EFS", "cold"): ("ColdStorage-ByteHrs-EFS", 40),
    }
    costs = result.frame.set_index(["service", "storage_class"])["estimated_cost_usd"]
    assert costs[("EBS", "archive")] == pytest.approx(20 * 0.0125, abs=0.005)
    assert costs[("EFS", "cold")] == pytest.approx(40 * 0.01, abs=0.005)
    assert result.allocations["storage_class"].set_index("storage_class")[
        "gb_months"
    ].to_dict() == {"warm": 40, "cold": 40, "archive": 20}


def test_failed_backups_hold_no_storage(mk, prices):
    ok = mk.backup("ebs-snapshot", 10)
    failed = mk.backup("ebs-snapshot", 1000, status="FAILED")
    result = meter(mk.inventory([ok, failed]), prices, mk.AS_OF)
    assert result.totals["gb_months"] == 10
    assert result.totals["backups"] == 1


def test_sizes_keep_their_basis_and_upper_bounds_are_separate(mk, prices):
    # three volumes, one snapshot each: each chain is one full copy, so estimate == plain sum
    exact = mk.backup("ebs-snapshot", 10, size_basis="FullSnapshotSizeInBytes")
    bound = mk.backup("ebs-snapshot", 30, size_basis="VolumeSize(upper-bound)")
    unsized = mk.backup("ebs-snapshot", None, size_basis=None)
    result = meter(mk.inventory([exact, bound, unsized]), prices, mk.AS_OF)
    row = result.frame.iloc[0]
    assert row.gb_months == 40
    assert row.upper_bound_gb_months == 40
    assert row.unsized_backups == 1
    assert (
        row.size_basis
        == "(none); FullSnapshotSizeInBytes(chain-estimate); VolumeSize(upper-bound)(chain-estimate)"
    )
    assert any("no size" in w for w in result.warnings)
    dynamo = meter(
        mk.inventory([mk.backup("dynamodb-backup", 5, size_basis="BackupSizeBytes")]),
        prices,
        mk.AS_OF,
    )
    assert dynamo.frame.iloc[0].size_basis == "BackupSizeBytes"  # full backups: no chain


def test_unknown_backup_type_is_unpriced_not_zero(mk, prices):
    # Redshift snapshots are not catalogued (FSx backups were, until FSx was collected)
    result = meter(mk.inventory([mk.backup("redshift-snapshot", 10)]), prices, mk.AS_OF)
    row = result.frame.iloc[0]
    assert row.billing_owner == "(unknown)" and row.unpriced
    assert row.estimated_cost_usd != row.estimated_cost_usd  # NaN: null, not 0
    assert any("unknown backup type" in w for w in result.warnings)


def test_meter_does_not_modify_the_inventory(mk, prices):
    inv = mk.inventory(
        [mk.backup("ebs-snapshot", None), mk.backup("ebs-snapshot", 5, status="FAILED")]
    )
    before = inv.recovery_points.copy(deep=True)
    meter(inv, prices, mk.AS_OF)
    import pandas as pd

    pd.testing.assert_frame_equal(inv.recovery_points, before)


def test_cold_dynamodb_backups_are_aws_backup_billed(mk, prices):
    # made by AWS Backup without its advanced features: DynamoDB's ARN, so DynamoDB bills the warm
    # one; a cold one can only exist under the advanced features, so AWS Backup bills it
    table = f"arn:aws:dynamodb:us-east-1:{mk.ACCT}:table/orders"
    warm, cold = (
        mk.backup(
            "dynamodb-backup",
            10,
            source="aws-backup",
            created_by="aws-backup",
            storage_class=cls,
            resource_arn=table,
            recovery_point_arn=f"{table}/backup/0176000000000{n}-abcdef12",
        )
        for n, cls in enumerate(("warm", "cold"))
    )
    result = meter(mk.inventory([warm, cold]), prices, mk.AS_OF)
    by_class = result.frame.set_index("storage_class")
    assert by_class.loc["cold", "billing_owner"] == "AWSBackup"
    assert by_class.loc["cold", "usage_type"] == "ColdStorage-ByteHrs-DynamoDB"
    assert not by_class.loc["cold", "unpriced"]
    assert by_class.loc["warm", "billing_owner"] == "AmazonDynamoDB"
    assert any("advanced features" in w for w in result.warnings)


def test_unpriced_warning_names_the_missing_usage_type(mk, prices):
    result = meter(
        mk.inventory([mk.backup("rds-snapshot", 10, storage_class="archive")]), prices, mk.AS_OF
    )
    assert any("us-east-1/RDS archive" in w for w in result.warnings), result.warnings


def test_orphan_owner_follows_its_storage_class(mk, prices):
    cold = mk.backup("dynamodb-backup", 10, storage_class="cold")
    warm = mk.backup("dynamodb-backup", 10)
    result = meter(mk.inventory([cold, warm], resources=[]), prices, mk.AS_OF)
    owners = result.orphans.set_index("storage_class")["billing_owner"].to_dict()
    assert owners == {"cold": "AWSBackup", "warm": "AmazonDynamoDB"}
