"""FSx, DocumentDB and Neptune all bill backup storage under the usage type `BackupUsage`: the
product code (AmazonFSx, AmazonDocDB, AmazonNeptune) tells them apart, in the price table and in a
Cost and Usage Report."""

from __future__ import annotations

import pandas as pd

from auditor import catalog
from auditor.metering.prices import load_prices
from auditor.metering.reconcile import cur_backup_storage


def test_each_service_bills_its_own_backups():
    billing = catalog.backup_billing()
    assert billing["fsx-backup"] == ("FSx", "AmazonFSx")
    assert billing["docdb-cluster-snapshot"] == ("DocumentDB", "AmazonDocDB")
    assert billing["neptune-cluster-snapshot"] == ("Neptune", "AmazonNeptune")
    usage = catalog.usage_types()
    for owner, service in (
        ("AmazonFSx", "FSx"),
        ("AmazonDocDB", "DocumentDB"),
        ("AmazonNeptune", "Neptune"),
    ):
        assert usage[(owner, service, "warm")] == "BackupUsage"


def test_a_shared_usage_type_is_priced_per_billing_owner(tmp_path):
    custom = tmp_path / "prices.yaml"
    custom.write_text(
        "version: 1\nprices:\n  us-east-1:\n"
        "    AmazonFSx/BackupUsage: 0.5\n"
        "    AmazonDocDB/BackupUsage: 0.2   # [v] checked\n"
    )
    table = load_prices(custom)
    assert table.price("us-east-1", "BackupUsage", "AmazonFSx") == 0.5
    assert table.price("us-east-1", "BackupUsage", "AmazonDocDB") == 0.2
    # the default table's Neptune price is untouched by the file
    assert table.price("us-east-1", "BackupUsage", "AmazonNeptune") == load_prices().price(
        "us-east-1", "BackupUsage", "AmazonNeptune"
    )
    # no billing owner, no shared price
    assert table.price("us-east-1", "BackupUsage") is None
    assert table.is_verified("us-east-1", "BackupUsage", "AmazonDocDB")
    assert not table.is_verified("us-east-1", "BackupUsage", "AmazonFSx")


def test_cur_backup_usage_lines_are_told_apart_by_product_code():
    cur = pd.DataFrame(
        {
            "usage_type": ["BackupUsage", "BackupUsage", "BackupUsage", "BackupUsage"],
            "product_code": ["AmazonFSx", "AmazonDocDB", "AmazonNeptune", "AmazonElastiCache"],
            "usage_amount": [10.0, 20.0, 30.0, 40.0],
        }
    )
    lines = cur_backup_storage(cur)
    # ElastiCache's BackupUsage is no backup storage auditor meters
    assert list(zip(lines["billing_owner"], lines["service"])) == [
        ("AmazonFSx", "FSx"),
        ("AmazonDocDB", "DocumentDB"),
        ("AmazonNeptune", "Neptune"),
    ]
    assert set(lines["metered_by"]) == {"native"}
