"""RDS free allowance, the price table, missing prices."""

from __future__ import annotations

from pathlib import Path

import pytest

from auditor.errors import InputError
from auditor.metering import load_prices, meter

REPO = Path(__file__).resolve().parents[2]


def _rds_inventory(
    mk,
    snapshot_gib,
    db_gib,
    *,
    state="available",
    region="us-east-1",
    engine="postgres",
    parent=None,
):
    snaps = [mk.backup("rds-snapshot", g, region=region) for g in snapshot_gib]
    db = dict(
        account_id=mk.ACCT,
        region=region,
        resource_type="rds-instance",
        resource_arn=f"arn:aws:rds:{region}:{mk.ACCT}:db:main",
        size_bytes=int(db_gib * mk.GiB),
        state=state,
        engine=engine,
        parent_arn=parent,
    )
    resources = [
        mk.resource_for(s, state="available", engine="postgres", size_bytes=0) for s in snaps
    ] + [db]
    return mk.inventory(snaps, resources=resources)


def test_rds_allowance_covers_backup_up_to_provisioned_storage(mk, prices):
    result = meter(_rds_inventory(mk, [60, 40], 80), prices, mk.AS_OF)
    row = result.frame.iloc[0]
    assert row.gb_months == 100
    assert row.free_gb_months == pytest.approx(80)
    assert row.billable_gb_months == pytest.approx(20)
    assert row.estimated_cost_usd == pytest.approx(20 * 0.095, abs=0.005)


def test_rds_allowance_never_exceeds_usage(mk, prices):
    row = meter(_rds_inventory(mk, [10], 500), prices, mk.AS_OF).frame.iloc[0]
    assert row.free_gb_months == pytest.approx(10)
    assert row.billable_gb_months == 0
    assert row.estimated_cost_usd == 0


@pytest.mark.parametrize("state", ["stopped", "deleting", "failed"])
def test_inactive_instances_give_no_allowance(mk, prices, state):
    row = meter(_rds_inventory(mk, [100], 80, state=state), prices, mk.AS_OF).frame.iloc[0]
    assert row.free_gb_months == 0


def test_allowance_is_per_region(mk, prices):
    inv = _rds_inventory(mk, [100], 80, region="us-west-2")
    snap_east = mk.backup("rds-snapshot", 50, region="us-east-1")
    inv.tables["recovery_points"] = __import__("pandas").concat(
        [inv.recovery_points, mk.inventory([snap_east]).recovery_points], ignore_index=True
    )
    frame = meter(inv, prices, mk.AS_OF).frame.set_index("region")
    assert frame.loc["us-west-2", "free_gb_months"] == pytest.approx(80)
    assert frame.loc["us-east-1", "free_gb_months"] == 0


def test_allowance_does_not_touch_other_services(mk, prices):
    ebs = mk.backup("ebs-snapshot", 100)
    db = dict(
        account_id=mk.ACCT,
        region="us-east-1",
        resource_type="rds-instance",
        resource_arn=f"arn:aws:rds:us-east-1:{mk.ACCT}:db:big",
        size_bytes=1000 * mk.GiB,
        state="available",
        engine="mysql",
    )
    row = meter(
        mk.inventory([ebs], resources=[mk.resource_for(ebs), db]), prices, mk.AS_OF
    ).frame.iloc[0]
    assert row.free_gb_months == 0 and row.billable_gb_months == 100


def test_aurora_pool_is_separate_from_rds(mk, prices):
    cl = mk.backup("rds-cluster-snapshot", 100)
    resources = [
        mk.resource_for(
            cl,
            engine="aurora-mysql",
            size_bytes=30 * mk.GiB,
            size_basis="VolumeBytesUsed",
            state="available",
        ),
        dict(
            account_id=mk.ACCT,
            region="us-east-1",
            resource_type="rds-instance",
            resource_arn=f"arn:aws:rds:us-east-1:{mk.ACCT}:db:pg",
            size_bytes=500 * mk.GiB,
            state="available",
            engine="postgres",
        ),
    ]
    row = meter(mk.inventory([cl], resources=resources), prices, mk.AS_OF).frame.iloc[0]
    assert row.service == "Aurora"
    assert row.free_gb_months == pytest.approx(30)


def test_default_table_covers_required_regions_and_usage_types():
    table = load_prices()
    for region in ("us-east-1", "us-west-2", "eu-west-1", "eu-central-1", "ap-southeast-2"):
        for usage in (
            "EBS:SnapshotUsage",
            "EBS:SnapshotArchiveStorage",
            "RDS:ChargedBackupUsage",
            "Aurora:BackupUsage",
            "TimedBackupStorage-ByteHrs",
            "WarmStorage-ByteHrs-EFS",
            "ColdStorage-ByteHrs-EFS",
        ):
            assert table.price(region, usage) is not None, (region, usage)
    assert table.retrieved and table.sources


def test_packaged_table_is_the_documented_copy():
    assert (REPO / "policies" / "prices.yaml").read_text() == (
        REPO / "auditor" / "data" / "prices.yaml"
    ).read_text()


def test_override_merges_over_default_and_replace_uses_file_alone(tmp_path):
    f = tmp_path / "p.yaml"
    f.write_text(
        "version: 1\nprices:\n  us-east-1:\n    EBS:SnapshotUsage: 0.04\n  ap-northeast-1:\n    EBS:SnapshotUsage: 0.05\n"
    )
    merged = load_prices(f)
    assert merged.price("us-east-1", "EBS:SnapshotUsage") == 0.04
    assert merged.price("ap-northeast-1", "EBS:SnapshotUsage") == 0.05
    assert merged.price("eu-west-1", "EBS:SnapshotUsage") is not None
    f.write_text("version: 1\nreplace: true\nprices:\n  us-east-1:\n    EBS:SnapshotUsage: 0.04\n")
    alone = load_prices(f)
    assert alone.price("eu-west-1", "EBS:SnapshotUsage") is None


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "version: 1\nprices:\n  us-east-1:\n    EBS:SnapshotUsage: cheap\n",
            ":4: prices.us-east-1.EBS:SnapshotUsage: price must be",
        ),
        (
            "version: 1\nprices:\n  us-east-1:\n    EBS:SnapshotUsage: -1\n",
            ":4: prices.us-east-1.EBS:SnapshotUsage: price must be",
        ),
        (
            "version: 1\nprices:\n  us-east-1:\n    USE1-EBS:SnapshotUsage: 0.05\n",
            ":4: prices.us-east-1.USE1-EBS:SnapshotUsage: write the usage type without",
        ),
        (
            "version: 1\nprices:\n  Virginia:\n    EBS:SnapshotUsage: 0.05\n",
            ":3: prices: 'Virginia' is not a region code",
        ),
        ("version: 1\nprices:\n  us-east-1: 0.05\n", ":3: prices.us-east-1: must map usage types"),
        ("version: 2\nprices: {}\n", ":1: price table version '2'"),
        ("version: 1\ncurrency: EUR\nprices: {}\n", ":2: currency 'EUR'"),
        ("version: 1\nprice: {}\n", ":2: unknown key 'price'"),
        ("version: 1\nprices: [\n", "not valid YAML"),
        ("version: 1\n", "no `prices` mapping"),
    ],
)
def test_bad_price_file_is_one_line_naming_file_and_row(tmp_path, text, message):
    f = tmp_path / "bad.yaml"
    f.write_text(text)
    with pytest.raises(InputError) as err:
        load_prices(f)
    line = str(err.value)
    assert line.startswith(str(f)) and message in line and "\n" not in line
    assert err.value.exit_code == 2


def test_missing_price_file_is_input_error(tmp_path):
    with pytest.raises(InputError, match="not found"):
        load_prices(tmp_path / "nope.yaml")


def test_missing_price_is_unpriced_and_warned_never_zero(mk, prices):
    priced = mk.backup("ebs-snapshot", 10, region="us-east-1")
    unpriced = mk.backup("ebs-snapshot", 10, region="ap-northeast-1")  # not in the default table
    result = meter(mk.inventory([priced, unpriced]), prices, mk.AS_OF)
    row = result.frame.set_index("region").loc["ap-northeast-1"]
    assert bool(row.unpriced) and row.estimated_cost_usd != row.estimated_cost_usd
    assert any("ap-northeast-1/EBS:SnapshotUsage" in w and "unpriced" in w for w in result.warnings)
    assert result.totals["unpriced_gb_months"] == 10
    assert result.totals["estimated_cost_usd"] == 0.5
    region_alloc = result.allocations["region"].set_index("region")
    assert region_alloc.loc["ap-northeast-1", "unpriced_gb_months"] == 10
    assert (
        region_alloc.loc["ap-northeast-1", "estimated_cost_usd"]
        != region_alloc.loc["ap-northeast-1", "estimated_cost_usd"]
    )


def test_no_usage_type_for_rds_cold_is_unpriced(mk, prices):
    row = meter(
        mk.inventory([mk.backup("rds-snapshot", 10, storage_class="cold")]), prices, mk.AS_OF
    ).frame.iloc[0]
    assert row.usage_type is None or row.usage_type != row.usage_type
    assert bool(row.unpriced)


def test_json_price_file_is_accepted(tmp_path):
    f = tmp_path / "prices.json"
    f.write_text('{"version": 1, "prices": {"us-east-1": {"EBS:SnapshotUsage": 0.042}}}')
    assert load_prices(f).price("us-east-1", "EBS:SnapshotUsage") == 0.042
