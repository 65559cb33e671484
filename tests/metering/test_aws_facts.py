"""Who pays for what, as AWS documents it: DynamoDB owners by ARN, free SYSTEM backups, Aurora full
copies with a per-cluster allowance, sizes AWS does not give, PITR storage, and trust in prices."""

from __future__ import annotations

import dataclasses
import json

import pytest
from typer.testing import CliRunner

from auditor.cli import app
from auditor.inventory import write_inventory
from auditor.metering import load_prices, meter
from auditor.metering.sizes import AURORA_FROM_CLUSTER, AURORA_UNKNOWN, ZERO_FROM_ALLOCATED


def _ddb_native(mk, gib, table, n, **kw):
    """A backup DynamoDB made (its ARN is under the table's)."""
    return mk.backup(
        "dynamodb-backup",
        gib,
        resource_arn=table,
        recovery_point_arn=f"{table}/backup/0176{n:010d}-0a1b2c3d",
        **kw,
    )


def test_system_backup_of_a_deleted_table_is_free_and_no_orphan_to_pay_for(mk, prices):
    # ListBackups: a SYSTEM backup is made when a table with PITR is deleted and kept 35 days at
    # no additional cost; a USER backup of a deleted table is an orphan that costs money
    gone = f"arn:aws:dynamodb:us-east-1:{mk.ACCT}:table/deleted"
    system = _ddb_native(mk, 10, gone, 1, created_by="automated")
    user = _ddb_native(mk, 20, gone, 2, created_by="user")
    result = meter(mk.inventory([system, user], resources=[]), prices, mk.AS_OF)
    row = result.frame.iloc[0]
    assert (row.service, row.billing_owner) == ("DynamoDB", "AmazonDynamoDB")
    assert row.gb_months == pytest.approx(30)
    assert row.free_gb_months == pytest.approx(10)
    assert row.billable_gb_months == pytest.approx(20)
    assert row.estimated_cost_usd == pytest.approx(20 * 0.10)
    assert list(result.orphans["recovery_point_arn"]) == [user["recovery_point_arn"]]
    assert result.orphans["monthly_cost_usd"].tolist() == [2.0]


def test_aurora_cluster_snapshots_are_full_copies(mk, prices):
    # the default table lists an Aurora change ratio; Aurora snapshots are full copies all the same
    cluster = f"arn:aws:rds:us-east-1:{mk.ACCT}:cluster:ledger"
    snaps = [mk.backup("rds-cluster-snapshot", 100, resource_arn=cluster) for _ in range(5)]
    res = [mk.resource_for(snaps[0], engine="aurora-mysql", size_bytes=None, size_basis="unknown")]
    result = meter(mk.inventory(snaps, resources=res), prices, mk.AS_OF)
    row = result.frame.iloc[0]
    assert row.service == "Aurora"
    assert row.gb_months == pytest.approx(500) == row.upper_bound_gb_months
    assert "chain-estimate" not in row.size_basis
    assert row.free_gb_months == 0  # the cluster's size is unknown: no allowance


def test_aurora_allowance_is_per_cluster_up_to_its_volume(mk, prices):
    a = f"arn:aws:rds:us-east-1:{mk.ACCT}:cluster:a"
    b = f"arn:aws:rds:us-east-1:{mk.ACCT}:cluster:b"
    snaps = [mk.backup("rds-cluster-snapshot", 40, resource_arn=arn) for arn in (a, a, b)]
    res = [
        mk.resource_for(
            snaps[0], engine="aurora-mysql", size_bytes=50 * mk.GiB, size_basis="VolumeBytesUsed"
        ),
        mk.resource_for(
            snaps[2],
            engine="aurora-postgresql",
            size_bytes=200 * mk.GiB,
            size_basis="VolumeBytesUsed",
        ),
    ]
    row = meter(mk.inventory(snaps, resources=res), prices, mk.AS_OF).frame.iloc[0]
    # a: 80 GiB of snapshots, 50 free; b: 40 GiB, all free (a pool of 250 would free all 120)
    assert row.gb_months == pytest.approx(120)
    assert row.free_gb_months == pytest.approx(90)
    assert row.estimated_cost_usd == pytest.approx(30 * 0.021, abs=0.005)


def test_aurora_snapshot_placeholder_size_is_unknown_without_the_cluster_volume(mk, prices):
    # AllocatedStorage is always 1 for Aurora: never priced, never an allowance
    placeholder = dict(size_basis="AllocatedStorage(upper-bound)")
    unknown = mk.backup("rds-cluster-snapshot", 1, **placeholder)
    known = mk.backup("rds-cluster-snapshot", 1, **placeholder)
    res = [
        mk.resource_for(unknown, engine="aurora-mysql", size_bytes=1 * mk.GiB),
        mk.resource_for(
            known, engine="aurora-mysql", size_bytes=30 * mk.GiB, size_basis="VolumeBytesUsed"
        ),
    ]
    result = meter(mk.inventory([unknown, known], resources=res), prices, mk.AS_OF)
    row = result.frame.iloc[0]
    assert row.backups == 2 and row.unsized_backups == 1
    assert row.gb_months == pytest.approx(30)  # the known cluster's volume, nothing for the other
    assert row.free_gb_months == pytest.approx(30)  # its own cluster's allowance only
    assert set(row.size_basis.split("; ")) == {AURORA_FROM_CLUSTER, AURORA_UNKNOWN}
    assert any("1 Aurora cluster snapshot(s): size unknown" in w for w in result.warnings)


def test_aws_backup_rds_point_of_size_zero_is_bounded_by_allocated_storage(mk, prices):
    kw = dict(source="aws-backup", created_by="aws-backup", size_basis="BackupSizeInBytes")
    zero = mk.backup("rds-snapshot", 0, **kw)
    orphan = mk.backup("rds-snapshot", 0, **kw)
    res = [mk.resource_for(zero, engine="postgres", size_bytes=100 * mk.GiB, state="stopped")]
    result = meter(mk.inventory([zero, orphan], resources=res), prices, mk.AS_OF)
    row = result.frame.iloc[0]
    assert row.gb_months == pytest.approx(100) == row.billable_gb_months  # stopped: no allowance
    assert ZERO_FROM_ALLOCATED in row.size_basis
    assert row.unsized_backups == 1  # the gone instance's point has no bound


def test_dynamodb_pitr_is_metered_at_the_table_size(mk, prices):
    table = dict(
        account_id=mk.ACCT,
        region="us-east-1",
        resource_type="dynamodb-table",
        resource_arn=f"arn:aws:dynamodb:us-east-1:{mk.ACCT}:table/orders",
        created_at="2026-01-01T00:00:00Z",
        size_bytes=50 * mk.GiB,
        native_schedule="dynamodb-pitr",
    )
    off = dict(table, resource_arn=table["resource_arn"] + "-nopitr", native_schedule=None)
    result = meter(mk.inventory([], resources=[table, off]), prices, mk.AS_OF)
    row = result.frame.iloc[0]
    assert len(result.frame) == 1
    assert (row.service, row.billing_owner, row.usage_type) == (
        "DynamoDB PITR",
        "AmazonDynamoDB",
        "TimedPITRStorage-ByteHrs",
    )
    assert row.gb_months == pytest.approx(50)
    assert row.estimated_cost_usd == pytest.approx(50 * 0.20)
    assert result.totals["backups"] == 0  # a table with PITR on is not a backup
    assert len(result.orphans) == 0


def test_pitr_usage_type_in_a_cur_is_backup_storage_of_dynamodb_pitr(mk, prices):
    import pandas as pd

    from auditor.cur import empty_cur
    from auditor.metering import cur_backup_storage

    line = {c: None for c in empty_cur().columns}
    line.update(
        account_id=mk.ACCT,
        region="us-east-1",
        product_code="AmazonDynamoDB",
        usage_type="TimedPITRStorage-ByteHrs",
        usage_type_raw="USE1-TimedPITRStorage-ByteHrs",
        line_item_type="Usage",
        usage_amount=50.0,
        unblended_cost=10.0,
    )
    cur = pd.DataFrame([line])
    items = cur_backup_storage(cur)
    assert items[["service", "billing_owner", "metered_by"]].values.tolist() == [
        ["DynamoDB PITR", "AmazonDynamoDB", "native"]
    ]


def test_pitr_price_is_in_the_default_table():
    assert load_prices().price("us-east-1", "TimedPITRStorage-ByteHrs") == 0.20


def _replacing_table(tmp_path, assumptions=""):
    path = tmp_path / "prices.yaml"
    path.write_text(
        "version: 1\nreplace: true\n"
        + assumptions
        + "prices:\n  us-east-1:\n    EBS:SnapshotUsage: 0.05\n"
    )
    return path


def test_replacing_the_table_without_the_change_assumption_warns(mk, tmp_path):
    table = load_prices(_replacing_table(tmp_path))
    assert len(table.warnings) == 1 and "incremental-change" in table.warnings[0]
    arn = f"arn:aws:ec2:us-east-1:{mk.ACCT}:volume/vol-chain"
    recs = [mk.backup("ebs-snapshot", 100, resource_arn=arn) for _ in range(3)]
    result = meter(mk.inventory(recs), table, mk.AS_OF)
    assert table.warnings[0] in result.warnings
    assert result.totals["gb_months"] == pytest.approx(300)  # every snapshot in full
    # keeping the assumption: no warning
    kept = (
        "assumptions:\n  incremental_change_ratio:"
        " {EBS: 0.05, Storage Gateway: 0.05, RDS: 0.05, Aurora: 0.05, FSx: 0.05, EC2: 0.05}\n"
    )
    assert load_prices(_replacing_table(tmp_path, kept)).warnings == ()


def test_replace_warning_is_one_line_on_stderr(mk, tmp_path):
    inv = write_inventory(mk.inventory([mk.backup("ebs-snapshot", 10)]), tmp_path / "inv")
    res = CliRunner().invoke(
        app,
        [
            "meter",
            "--inventory",
            str(inv),
            "--out",
            str(tmp_path / "out"),
            "--prices",
            str(_replacing_table(tmp_path)),
            "--as-of",
            "2026-11-26T00:00:00Z",
        ],
    )
    assert res.exit_code == 0, res.output
    lines = [line for line in res.stderr.splitlines() if "incremental-change" in line]
    assert len(lines) == 1 and lines[0].startswith("auditor: warning:")
    doc = json.loads((tmp_path / "out" / "metering.json").read_text())
    assert any("incremental-change" in w for w in doc["warnings"])


def test_cost_range_and_verified_share(mk, prices, tmp_path):
    # Which entries of the default table are verified changes as prices are checked: this test
    # marks EBS:SnapshotUsage verified and RDS:ChargedBackupUsage not, whatever the file says.
    prices = dataclasses.replace(prices, verified=frozenset({("us-east-1", "EBS:SnapshotUsage")}))
    assert prices.is_verified("us-east-1", "EBS:SnapshotUsage")
    assert not prices.is_verified("us-east-1", "RDS:ChargedBackupUsage")
    ebs = f"arn:aws:ec2:us-east-1:{mk.ACCT}:volume/vol-a"
    recs = [mk.backup("ebs-snapshot", 100, resource_arn=ebs) for _ in range(2)]
    recs.append(mk.backup("rds-snapshot", 100))
    inv = mk.inventory(recs, resources=[mk.resource_for(recs[0])])
    result = meter(inv, prices, mk.AS_OF)
    t = result.totals
    assert t["prices_used"] == 2 and t["prices_verified"] == 1
    assert t["verified_price_share"] == 0.5
    ebs_cost = (100 + 0.05 * 100) * 0.05
    assert t["verified_cost_share"] == pytest.approx(ebs_cost / (ebs_cost + 100 * 0.095), abs=1e-3)
    assert t["upper_bound_cost_usd"] == pytest.approx(200 * 0.05 + 100 * 0.095, abs=0.01)
    assert t["estimated_cost_usd"] < t["upper_bound_cost_usd"]
    doc = result.to_dict()
    assert doc["totals"]["verified_price_share"] == 0.5
    assert doc["prices"]["verified_prices"] == len(prices.verified)


def test_terminal_table_shows_the_range_and_the_verified_share(mk, prices):
    from rich.console import Console

    from auditor.terminal import metering_table

    arn = f"arn:aws:ec2:us-east-1:{mk.ACCT}:volume/vol-a"
    recs = [mk.backup("ebs-snapshot", 100, resource_arn=arn) for _ in range(2)]
    recs.append(mk.backup("rds-snapshot", 100))
    prices = dataclasses.replace(prices, verified=frozenset({("us-east-1", "EBS:SnapshotUsage")}))
    result = meter(mk.inventory(recs, resources=[mk.resource_for(recs[0])]), prices, mk.AS_OF)
    console = Console(width=120, record=True)
    console.print(metering_table(result))
    text = console.export_text()
    assert "if no block were shared" in text
    assert "prices verified" in text and "50%" in text
