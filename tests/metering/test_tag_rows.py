"""metering.csv rows split by `--by-tag` keys: a `tag:KEY` column each, pieces adding up to the
unsplit rows (GB-months, backups, cents) and to metering.json's tag allocation."""

from __future__ import annotations

import random

import pytest

from auditor.metering import meter, write_metering

KEY = ["account_id", "region", "service", "billing_owner", "storage_class", "usage_type"]


def _estate(mk, seed: int, moving: bool):
    rnd = random.Random(seed)
    recs = []
    for _ in range(300):
        bt = rnd.choice(["ebs-snapshot", "rds-snapshot", "efs-backup", "dynamodb-backup"])
        recs.append(
            mk.backup(
                bt,
                rnd.uniform(0.01, 500),
                region=rnd.choice(["us-east-1", "eu-west-1"]),
                storage_class=rnd.choice(["warm", "cold"]) if bt == "efs-backup" else "warm",
                created_at=f"2026-{rnd.randint(9, 11):02d}-{rnd.randint(1, 28):02d}T03:00:00Z",
                move_to_cold_at=(
                    f"2026-11-{rnd.randint(1, 30):02d}T06:00:00Z"
                    if moving and bt == "efs-backup" and rnd.random() < 0.5
                    else None
                ),
            )
        )
    resources = [mk.resource_for(r, engine="postgres") for r in recs if rnd.random() < 0.9]
    tags = [
        dict(account_id=r["account_id"], region=r["region"], arn=r["resource_arn"], key=k, value=v)
        for r in resources
        for k, v in (("team", rnd.choice("abc")), ("env", rnd.choice(["prod", "dev"])))
        if rnd.random() < 0.7
    ]
    return mk.inventory(recs, resources=resources, tags=tags)


@pytest.mark.parametrize("seed, moving", [(0, False), (1, True)])
def test_split_rows_add_up_to_the_unsplit_rows(mk, prices, seed, moving):
    inventory = _estate(mk, seed, moving)
    plain = meter(inventory, prices, mk.AS_OF).frame
    result = meter(inventory, prices, mk.AS_OF, by_tags=["team", "env"])
    split = result.frame
    assert list(split.columns[-2:]) == ["tag:team", "tag:env"]
    assert set(split["tag:team"]) <= {"a", "b", "c", "(untagged)"}
    assert len(split) > len(plain)
    summed = split.groupby(KEY, sort=True)[
        ["gb_months", "upper_bound_gb_months", "backups", "unsized_backups", "billable_gb_months"]
    ].sum()
    base = plain.set_index(KEY).sort_index()
    for column in summed.columns:
        assert summed[column].to_numpy() == pytest.approx(base[column].to_numpy(), abs=1e-4)
    cents = (
        (split["estimated_cost_usd"].fillna(0) * 100)
        .round()
        .groupby([split[k] for k in KEY], sort=True)
        .sum()
    )
    assert cents.to_numpy() == pytest.approx((base["estimated_cost_usd"].fillna(0) * 100).round())
    # the split agrees with metering.json's allocation by the same tag
    by_team = split.groupby("tag:team")["gb_months"].sum()
    alloc = result.allocations["tag:team"].set_index("tag:team")["gb_months"]
    assert by_team.sort_index().to_numpy() == pytest.approx(alloc.sort_index().to_numpy(), abs=1e-4)


def test_csv_carries_the_tag_columns(mk, prices, tmp_path):
    result = meter(_estate(mk, 2, False), prices, mk.AS_OF, by_tags=["team"])
    write_metering(result, tmp_path)
    header = (tmp_path / "metering.csv").read_text().splitlines()[0].split(",")
    assert header[-1] == "tag:team"
    assert "estimated_cost_usd" in header


def test_reports_show_cost_by_tag(mk, prices, tmp_path):
    from auditor.report import load_results, render
    from auditor.report.sample import make_results

    result = meter(_estate(mk, 3, False), prices, mk.AS_OF, by_tags=["team"])
    write_metering(result, tmp_path)
    sample = make_results(with_inventory=False)
    (tmp_path / "findings.json").write_text(render(sample, "json"))
    results = load_results(tmp_path)
    by_team = result.frame.groupby("tag:team")["estimated_cost_usd"].sum()
    page = render(results, "html")
    assert 'data-tag="team"' in page and "By tag team" in page
    text = render(results, "md")
    assert "### Backup storage by tag team" in text
    top = by_team.idxmax()
    assert f"| {top} |" in text.split("### Backup storage by tag team")[1]


@pytest.mark.parametrize("db_gib, row_cost", [(1000, False), (12, True)])
def test_pieces_of_a_free_or_partly_free_row_cost_no_negative_cents(mk, prices, db_gib, row_cost):
    # RDS backup storage up to the provisioned storage of the active databases is free: with two
    # 1,000 GiB databases their 10 and 30 GiB of snapshots cost nothing, so neither team's piece
    # may cost anything; with two 12 GiB databases 16 of the 40 GB-months are billed.
    recs = [mk.backup("rds-snapshot", 10), mk.backup("rds-snapshot", 30)]
    resources = [mk.resource_for(r, engine="postgres", size_bytes=db_gib * mk.GiB) for r in recs]
    tags = [
        dict(
            account_id=r["account_id"],
            region=r["region"],
            arn=r["resource_arn"],
            key="team",
            value=v,
        )
        for r, v in zip(recs, "ab")
    ]
    inventory = mk.inventory(recs, resources=resources, tags=tags)
    plain = meter(inventory, prices, mk.AS_OF).frame
    split = meter(inventory, prices, mk.AS_OF, by_tags=["team"]).frame.set_index("tag:team")
    assert len(plain) == 1 and sorted(split.index) == ["a", "b"]
    assert (plain["estimated_cost_usd"].iloc[0] > 0) == row_cost
    assert (split["estimated_cost_usd"] >= 0).all()
    assert mk.cents(split["estimated_cost_usd"]) == mk.cents(plain["estimated_cost_usd"])
    if row_cost:  # the billed storage shared by GB-months: team b holds three quarters
        assert split.loc["b", "estimated_cost_usd"] > split.loc["a", "estimated_cost_usd"]
    else:
        assert list(split["estimated_cost_usd"]) == [0.0, 0.0]
