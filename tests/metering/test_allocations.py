"""Allocations (account, region, service, owner, class, plan, tag) and sums to the cent; orphans."""

from __future__ import annotations

import random

import numpy as np
import pytest

from auditor.metering import meter
from auditor.metering.costs import apportion_cents

TYPES = [
    "ebs-snapshot",
    "storagegateway-snapshot",
    "rds-snapshot",
    "rds-cluster-snapshot",
    "dynamodb-backup",
    "efs-backup",
]
REGIONS = ["us-east-1", "us-west-2", "eu-west-1", "eu-central-1", "ap-southeast-2"]


def _random_estate(mk, seed, n=400, moving=False):
    rnd = random.Random(seed)
    recs = []
    for _ in range(n):
        bt = rnd.choice(TYPES)
        cls = (
            rnd.choice(["warm", "cold", "archive"])
            if bt in ("ebs-snapshot", "efs-backup")
            else "warm"
        )
        if bt == "efs-backup" and cls == "archive":
            cls = "cold"
        recs.append(
            mk.backup(
                bt,
                rnd.uniform(0.001, 900),
                region=rnd.choice(REGIONS),
                account=rnd.choice(["111122223333", "444455556666"]),
                storage_class=cls,
                created_at=f"2026-{rnd.randint(9, 11):02d}-{rnd.randint(1, 28):02d}T{rnd.randint(0, 23):02d}:17:00Z",
                backup_plan_id=rnd.choice([None, "plan-a", "plan-b", "plan-gone"]),
                move_to_cold_at=(
                    f"2026-11-{rnd.randint(1, 30):02d}T06:00:00Z"
                    if moving and rnd.random() < 0.3
                    else None
                ),
            )
        )
    resources = [
        mk.resource_for(r, size_bytes=rnd.randint(0, 200) * mk.GiB, engine="postgres")
        for r in recs
        if rnd.random() < 0.9
    ]
    tags = [
        dict(
            account_id=r["account_id"],
            region=r["region"],
            arn=r["resource_arn"],
            key="team",
            value=rnd.choice(["a", "b", "c"]),
        )
        for r in resources
        if rnd.random() < 0.7
    ]
    plans = [
        dict(
            account_id="111122223333",
            region="us-east-1",
            backup_plan_id="plan-a",
            backup_plan_name="gold",
        ),
        dict(
            account_id="111122223333",
            region="us-east-1",
            backup_plan_id="plan-b",
            backup_plan_name="silver",
        ),
    ]
    return mk.inventory(recs, resources=resources, tags=tags, backup_plans=plans)


@pytest.mark.parametrize("seed", range(3))
def test_every_split_sums_to_the_total_to_the_cent(mk, prices, seed):
    result = meter(_random_estate(mk, seed, moving=seed == 2), prices, mk.AS_OF, by_tags=["team"])
    total = result.totals["estimated_cost_cents"]
    assert total == round(result.totals["estimated_cost_usd"] * 100)
    assert mk.cents(result.frame["estimated_cost_usd"].fillna(0)) == total
    assert set(result.allocations) == {
        "account",
        "region",
        "service",
        "billing_owner",
        "storage_class",
        "plan",
        "tag:team",
    }
    for name, alloc in result.allocations.items():
        assert mk.cents(alloc["estimated_cost_usd"].fillna(0)) == total, name
        assert alloc["gb_months"].sum() == pytest.approx(result.totals["gb_months"], abs=1e-3), name
    split = round(result.totals["backup_metered_cost_usd"] * 100) + round(
        result.totals["native_cost_usd"] * 100
    )
    assert split == total
    # every row within a cent of its unrounded value
    exact = result.frame["billable_gb_months"] * result.frame["price_usd_per_gb_month"]
    assert (np.abs(result.frame["estimated_cost_usd"] - exact).dropna() < 0.01 + 1e-6).all()


def test_apportion_keeps_the_total_and_stays_within_a_cent():
    rnd = np.random.default_rng(3)
    values = rnd.uniform(0, 5, 1000) / 3
    total = round(values.sum() * 100)
    cents = apportion_cents(values, total)
    assert cents.sum() == total
    assert np.all(np.abs(cents - values * 100) < 1.0)


def test_plan_allocation_uses_deployed_plan_names(mk, prices):
    recs = [
        mk.backup("efs-backup", 10, backup_plan_id="p1"),
        mk.backup("efs-backup", 20, backup_plan_id="p-old"),
        mk.backup("ebs-snapshot", 30),
    ]
    plans = [
        dict(account_id=mk.ACCT, region="us-east-1", backup_plan_id="p1", backup_plan_name="gold")
    ]
    alloc = (
        meter(mk.inventory(recs, backup_plans=plans), prices, mk.AS_OF)
        .allocations["plan"]
        .set_index("plan")
    )
    assert alloc["gb_months"].to_dict() == {"(none)": 30, "p-old (not deployed)": 20, "gold": 10}


def test_tag_allocation_by_source_resource_tag(mk, prices):
    a = mk.backup("ebs-snapshot", 10)
    b = mk.backup("ebs-snapshot", 20)
    c = mk.backup("ebs-snapshot", 40)
    gone = mk.backup("ebs-snapshot", 80)  # source deleted, but the snapshot carries the tag itself
    tags = [
        dict(
            account_id=mk.ACCT, region="us-east-1", arn=a["resource_arn"], key="team", value="red"
        ),
        dict(
            account_id=mk.ACCT, region="us-east-1", arn=b["resource_arn"], key="team", value="blue"
        ),
        dict(
            account_id=mk.ACCT, region="us-east-1", arn=b["resource_arn"], key="env", value="prod"
        ),
        dict(
            account_id=mk.ACCT,
            region="us-east-1",
            arn=gone["recovery_point_arn"],
            key="team",
            value="red",
        ),
    ]
    inv = mk.inventory(
        [a, b, c, gone], resources=[mk.resource_for(r) for r in (a, b, c)], tags=tags
    )
    result = meter(inv, prices, mk.AS_OF, by_tags=["team", "env"])
    team = result.allocations["tag:team"].set_index("tag:team")
    assert team["gb_months"].to_dict() == {"red": 90, "(untagged)": 40, "blue": 20}
    assert team.loc["red", "estimated_cost_usd"] == pytest.approx(4.5)
    env = result.allocations["tag:env"].set_index("tag:env")
    assert env["gb_months"].to_dict() == {"(untagged)": 130, "prod": 20}


def test_tag_key_matching_is_case_sensitive(mk, prices):
    a = mk.backup("ebs-snapshot", 10)
    tags = [
        dict(account_id=mk.ACCT, region="us-east-1", arn=a["resource_arn"], key="Team", value="red")
    ]
    alloc = meter(mk.inventory([a], tags=tags), prices, mk.AS_OF, by_tags=["team"]).allocations[
        "tag:team"
    ]
    assert alloc["tag:team"].tolist() == ["(untagged)"]


def test_orphaned_backups_listed_with_monthly_cost(mk, prices):
    kept = mk.backup("ebs-snapshot", 10)
    orphan = mk.backup("ebs-snapshot", 200, created_at="2026-11-16T00:00:00Z")
    orphan_cold = mk.backup("efs-backup", 100, storage_class="cold")
    elsewhere = mk.backup(
        "ebs-snapshot", 5, resource_arn="arn:aws:ec2:sa-east-1:999999999999:volume/vol-x"
    )
    inv = mk.inventory([kept, orphan, orphan_cold, elsewhere], resources=[mk.resource_for(kept)])
    result = meter(inv, prices, mk.AS_OF)
    orphans = result.orphans.set_index("recovery_point_arn")
    assert set(orphans.index) == {orphan["recovery_point_arn"], orphan_cold["recovery_point_arn"]}
    # a full month at its price (not pro-rated: it is what keeping it costs per month)
    assert orphans.loc[orphan["recovery_point_arn"], "monthly_cost_usd"] == pytest.approx(10.0)
    assert orphans.loc[orphan_cold["recovery_point_arn"], "monthly_cost_usd"] == pytest.approx(1.0)
    assert orphans.loc[orphan["recovery_point_arn"], "billing_owner"] == "AmazonEC2"
    assert result.totals["orphaned_backups"] == 2
    assert result.totals["orphaned_monthly_cost_usd"] == pytest.approx(11.0)


def test_orphan_costs_alone_are_meters_orphans(mk, prices):
    """The orphaned-backup control prices its backups with `orphan_costs`, which skips the
    allowances and allocations: the same table as a whole metering run's, row for row."""
    import pandas as pd

    from auditor.metering import orphan_costs

    rnd = random.Random(7)
    recs, resources = [], []
    for i in range(60):
        rec = mk.backup(rnd.choice(TYPES), rnd.uniform(1, 500))
        recs.append(rec)
        if i % 3 == 0:
            resources.append(mk.resource_for(rec))
    inv = mk.inventory(recs, resources=resources)
    whole = meter(inv, prices, mk.AS_OF).orphans
    alone = orphan_costs(inv, prices, mk.AS_OF)
    assert len(whole) > 5
    pd.testing.assert_frame_equal(alone.reset_index(drop=True), whole.reset_index(drop=True))


def test_no_orphan_claim_where_resource_listing_failed(mk, prices):
    orphan = mk.backup("ebs-snapshot", 200)
    errors = [
        dict(
            account_id=mk.ACCT,
            region="us-east-1",
            service="ec2",
            operation="DescribeVolumes",
            error_code="AccessDenied",
            message="no",
            affects="ebs-volume",
        )
    ]
    result = meter(mk.inventory([orphan], resources=[], errors=errors), prices, mk.AS_OF)
    assert len(result.orphans) == 0
    assert any("could not be listed" in w for w in result.warnings)


def test_empty_inventory(mk, prices):
    result = meter(mk.inventory([]), prices, mk.AS_OF, by_tags=["team"])
    assert len(result.frame) == 0
    assert result.totals["estimated_cost_usd"] == 0
    assert all(len(a) == 0 for a in result.allocations.values())


def test_take_from_many_chunks_keeps_order():
    import pandas as pd
    import pyarrow as pa

    from auditor.policy.columns import take

    chunked = pa.chunked_array([pa.array(["a", "b", "c"]), pa.array(["d"]), pa.array(["e", "f"])])
    series = pd.Series(pd.arrays.ArrowStringArray(chunked))
    idx = np.array([5, 0, 3, 2, 4, 1])
    assert take(series, idx).to_pylist() == ["f", "a", "d", "c", "e", "b"]


def test_orphans_on_an_inventory_read_back_from_parquet(mk, prices, tmp_path):
    from auditor.inventory import read_inventory, write_inventory

    recs, resources = [], []
    for account in ("111122223333", "444455556666", "777788889999"):
        kept = mk.backup("ebs-snapshot", 10, account=account)
        gone = mk.backup("ebs-snapshot", 20, account=account)
        recs += [kept, gone]
        resources.append(mk.resource_for(kept))
    inv = read_inventory(write_inventory(mk.inventory(recs, resources=resources), tmp_path / "inv"))
    result = meter(inv, prices, mk.AS_OF)
    assert sorted(result.orphans["recovery_point_arn"]) == sorted(
        r["recovery_point_arn"] for r in recs[1::2]
    )
    assert (result.orphans["monthly_cost_usd"] == 1.0).all()


@pytest.mark.parametrize("moving", [False, True])
@pytest.mark.parametrize("knob", ["_PARALLEL_MIN_ROWS", "_DENSE_KEYS_MAX", "_FINE_BINS_MAX"])
def test_alternative_code_paths_give_the_same_result(mk, prices, monkeypatch, knob, moving):
    """Two threads, compacted group keys, coarse bincounts: same numbers as the default path."""
    from auditor.metering import encode, estimate

    inv = _random_estate(mk, 11, n=300, moving=moving)
    serial = meter(inv, prices, mk.AS_OF, by_tags=["team"])
    module = encode if knob == "_PARALLEL_MIN_ROWS" else estimate
    monkeypatch.setattr(module, knob, 1 if knob == "_PARALLEL_MIN_ROWS" else 0)
    parallel = meter(inv, prices, mk.AS_OF, by_tags=["team"])
    import pandas as pd

    pd.testing.assert_frame_equal(serial.frame, parallel.frame)
    for name in serial.allocations:
        pd.testing.assert_frame_equal(serial.allocations[name], parallel.allocations[name])
    pd.testing.assert_frame_equal(serial.orphans, parallel.orphans)
    assert serial.totals == parallel.totals
