"""Incremental snapshot chains: one full copy per chain plus a change ratio per other backup."""

from __future__ import annotations

import textwrap

import pytest

from auditor.errors import InputError
from auditor.metering import load_prices, meter

RATIO = 0.05  # the default table's incremental_change_ratio for EBS, Storage Gateway, RDS


def _chain(mk, backup_type, n, gib, resource_arn, **kw):
    return [mk.backup(backup_type, gib, resource_arn=resource_arn, **kw) for _ in range(n)]


def _by(result, service, cls="warm"):
    rows = result.frame[
        (result.frame["service"] == service) & (result.frame["storage_class"] == cls)
    ]
    assert len(rows) == 1, result.frame
    return rows.iloc[0]


@pytest.mark.parametrize(
    ("backup_type", "service", "price"),
    [
        ("ebs-snapshot", "EBS", 0.05),
        ("storagegateway-snapshot", "Storage Gateway", 0.05),
        ("rds-snapshot", "RDS", 0.095),
    ],
)
def test_chain_of_n_costs_full_plus_increments(mk, prices, backup_type, service, price):
    n, gib = 30, 100
    arn = mk.backup(backup_type)["resource_arn"].rsplit("-", 1)[0] + "-chain"
    recs = _chain(mk, backup_type, n, gib, arn)
    # size_bytes=0 on the source: no RDS free allowance in the way of the figure
    result = meter(
        mk.inventory(recs, resources=[mk.resource_for(recs[0], size_bytes=0)]), prices, mk.AS_OF
    )
    row = _by(result, service)
    expected = (
        gib + (n - 1) * RATIO * gib
    )  # every backup exists the whole month (created in October)
    assert row.gb_months == pytest.approx(expected)
    assert row.upper_bound_gb_months == pytest.approx(n * gib)
    assert row.backups == n
    assert row.size_basis == "BackupSizeInBytes(chain-estimate)"
    assert row.estimated_cost_usd == pytest.approx(expected * price, abs=0.0051)
    assert result.totals["upper_bound_cost_usd"] == pytest.approx(n * gib * price, abs=0.01)


def test_largest_full_size_counts_once_others_at_ratio_of_their_own(mk, prices):
    arn = "arn:aws:ec2:us-east-1:111122223333:volume/vol-grow"
    sizes = [80, 100, 90]
    recs = [mk.backup("ebs-snapshot", g, resource_arn=arn) for g in sizes]
    result = meter(mk.inventory(recs), prices, mk.AS_OF)
    assert _by(result, "EBS").gb_months == pytest.approx(100 + RATIO * (80 + 90))


def test_chains_are_per_volume_region_and_class(mk, prices):
    a = "arn:aws:ec2:us-east-1:111122223333:volume/vol-a"
    b = "arn:aws:ec2:us-east-1:111122223333:volume/vol-b"
    recs = (
        _chain(mk, "ebs-snapshot", 3, 10, a)
        + _chain(mk, "ebs-snapshot", 2, 20, b)
        + _chain(
            mk, "ebs-snapshot", 2, 10, a, region="us-west-2"
        )  # a copy elsewhere: its own chain
        + _chain(mk, "ebs-snapshot", 4, 10, a, storage_class="archive")  # archived: full each
    )
    resources = [mk.resource_for(recs[0]), mk.resource_for(recs[3])]
    result = meter(mk.inventory(recs, resources=resources), prices, mk.AS_OF)
    east = result.frame[(result.frame["region"] == "us-east-1")].set_index("storage_class")
    assert east.loc["warm", "gb_months"] == pytest.approx(10 + 2 * RATIO * 10 + 20 + RATIO * 20)
    assert east.loc["archive", "gb_months"] == pytest.approx(40)
    assert east.loc["archive", "size_basis"] == "BackupSizeInBytes"
    west = result.frame[result.frame["region"] == "us-west-2"].iloc[0]
    assert west.gb_months == pytest.approx(10 + RATIO * 10)


def test_archived_ebs_and_dynamodb_and_efs_are_counted_in_full(mk, prices):
    vol = "arn:aws:ec2:us-east-1:111122223333:volume/vol-x"
    table = "arn:aws:dynamodb:us-east-1:111122223333:table/t-x"
    fs = "arn:aws:elasticfilesystem:us-east-1:111122223333:file-system/fs-x"
    recs = (
        _chain(mk, "ebs-snapshot", 3, 50, vol, storage_class="archive")
        + _chain(mk, "dynamodb-backup", 4, 10, table)
        + _chain(mk, "efs-backup", 5, 2, fs)  # EFS sizes are already the delta each backup added
    )
    resources = [mk.resource_for(recs[0]), mk.resource_for(recs[3]), mk.resource_for(recs[7])]
    result = meter(mk.inventory(recs, resources=resources), prices, mk.AS_OF)
    assert _by(result, "EBS", "archive").gb_months == pytest.approx(150)
    assert _by(result, "DynamoDB").gb_months == pytest.approx(40)
    assert _by(result, "EFS").gb_months == pytest.approx(10)
    assert result.totals["gb_months"] == result.totals["upper_bound_gb_months"]


def test_failed_backups_are_not_part_of_a_chain(mk, prices):
    arn = "arn:aws:ec2:us-east-1:111122223333:volume/vol-f"
    recs = _chain(mk, "ebs-snapshot", 2, 10, arn) + [
        mk.backup("ebs-snapshot", 500, resource_arn=arn, status="FAILED")
    ]
    result = meter(mk.inventory(recs), prices, mk.AS_OF)
    assert _by(result, "EBS").gb_months == pytest.approx(10 + RATIO * 10)


def test_orphaned_chain_is_one_full_copy_plus_increments(mk, prices):
    gone = "arn:aws:ec2:us-east-1:111122223333:volume/vol-gone"
    recs = _chain(mk, "ebs-snapshot", 4, 100, gone)
    result = meter(mk.inventory(recs, resources=[]), prices, mk.AS_OF)
    orphans = result.orphans
    assert len(orphans) == 4
    assert sorted(orphans["stored_gb"]) == pytest.approx([5, 5, 5, 100])
    assert (orphans["size_gb"] == 100).all()
    assert orphans["monthly_cost_usd"].sum() == pytest.approx((100 + 3 * 5) * 0.05, abs=0.01)
    assert result.totals["orphaned_monthly_cost_usd"] == pytest.approx(5.75, abs=0.01)


def test_month_pro_rating_applies_per_backup(mk, prices):
    arn = "arn:aws:ec2:us-east-1:111122223333:volume/vol-p"
    full = mk.backup("ebs-snapshot", 100, resource_arn=arn)  # all month
    late = mk.backup(
        "ebs-snapshot", 100, resource_arn=arn, created_at="2026-11-16T00:00:00Z"
    )  # half of November
    result = meter(mk.inventory([full, late]), prices, mk.AS_OF)
    # the first one found with the largest size holds the full copy; the other is an increment
    assert _by(result, "EBS").gb_months == pytest.approx(100 + RATIO * 100 * 0.5)


def test_moving_to_cold_splits_chain_part_and_full_cold_part(mk, prices):
    arn = "arn:aws:ec2:us-east-1:111122223333:volume/vol-m"
    base = mk.backup("ebs-snapshot", 100, resource_arn=arn)
    moving = mk.backup(
        "ebs-snapshot", 100, resource_arn=arn, move_to_cold_at="2026-11-28T00:00:00Z"
    )
    result = meter(mk.inventory([base, moving]), prices, mk.AS_OF)
    warm, cold = _by(result, "EBS", "warm"), _by(result, "EBS", "cold")
    # `base` is the full copy (first of equal sizes); `moving` adds 5% while warm (27 of 30 days)
    # and is a full snapshot once archived (the last 3 days)
    assert warm.gb_months == pytest.approx(100 + RATIO * 100 * 27 / 30)
    assert cold.gb_months == pytest.approx(100 * 3 / 30)
    assert warm.upper_bound_gb_months == pytest.approx(100 + 100 * 27 / 30)


def test_splits_sum_to_the_total_to_the_cent(mk, prices):
    recs = []
    for v in range(7):
        arn = f"arn:aws:ec2:us-east-1:111122223333:volume/vol-s{v}"
        recs += _chain(mk, "ebs-snapshot", 3 + v, 10 + 7.3 * v, arn, backup_plan_id=f"p{v % 3}")
    recs += _chain(mk, "rds-snapshot", 5, 33.3, "arn:aws:rds:us-east-1:111122223333:db:db-s")
    recs += _chain(
        mk, "dynamodb-backup", 3, 1.7, "arn:aws:dynamodb:us-east-1:111122223333:table/t-s"
    )
    resources = [mk.resource_for(r) for r in {r["resource_arn"]: r for r in recs}.values()]
    result = meter(mk.inventory(recs, resources=resources), prices, mk.AS_OF)
    total = result.totals["estimated_cost_cents"]
    assert mk.cents(result.frame["estimated_cost_usd"]) == total
    for name, alloc in result.allocations.items():
        assert mk.cents(alloc["estimated_cost_usd"].fillna(0)) == total, name
    assert result.totals["upper_bound_cost_usd"] > result.totals["estimated_cost_usd"]


def test_ratio_is_data_and_overridable(mk, tmp_path):
    override = tmp_path / "p.yaml"
    override.write_text(
        textwrap.dedent("""\
        version: 1
        assumptions:
          incremental_change_ratio:
            EBS: 0.5
        prices: {}
    """)
    )
    prices = load_prices(override)
    assert prices.change_ratio["EBS"] == 0.5 and prices.change_ratio["RDS"] == RATIO
    arn = "arn:aws:ec2:us-east-1:111122223333:volume/vol-o"
    result = meter(mk.inventory(_chain(mk, "ebs-snapshot", 3, 10, arn)), prices, mk.AS_OF)
    assert _by(result, "EBS").gb_months == pytest.approx(10 + 2 * 5)
    assert result.prices["assumptions"]["incremental_change_ratio"]["EBS"] == 0.5
    # a ratio of 1 turns the chain estimate back into the plain sum
    override.write_text(
        "version: 1\nassumptions: {incremental_change_ratio: {EBS: 1}}\nprices: {}\n"
    )
    result = meter(
        mk.inventory(_chain(mk, "ebs-snapshot", 3, 10, arn)), load_prices(override), mk.AS_OF
    )
    assert _by(result, "EBS").gb_months == pytest.approx(30)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("assumptions: {incremental_change_ratio: {EBS: 1.5}}", "between 0 and 1"),
        ("assumptions: {incremental_change_ratio: {EBS: -0.1}}", "between 0 and 1"),
        ("assumptions: {incremental_change_ratio: {Redshift: 0.1}}", "unknown service"),
        ("assumptions: {change: {EBS: 0.1}}", "unknown assumption"),
        ("assumptions: [1]", "must be a mapping"),
    ],
)
def test_bad_assumptions_are_one_line_errors(tmp_path, body, message):
    path = tmp_path / "bad.yaml"
    path.write_text(f"version: 1\n{body}\nprices: {{}}\n")
    with pytest.raises(InputError, match=message) as info:
        load_prices(path)
    assert str(info.value).startswith(f"{path}:2:")
    assert "\n" not in str(info.value)


def test_summary_shows_the_full_size_end_of_the_range(mk, prices):
    from rich.console import Console

    from auditor.terminal import metering_table

    arn = "arn:aws:ec2:us-east-1:111122223333:volume/vol-t"
    result = meter(mk.inventory(_chain(mk, "ebs-snapshot", 10, 100, arn)), prices, mk.AS_OF)
    console = Console(record=True, width=120)
    console.print(metering_table(result))
    text = console.export_text()
    assert "145.00" in text and "7.25" in text  # 100 + 9 x 5 GB-months
    assert "if no block were shared" in text and "1,000.00" in text and "50.00" in text
