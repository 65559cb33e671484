"""Findings carry the resource's owner-like tags (`--owner-tags`), one `tag_<key>` column per key,
matched without regard to case, in every findings format and in the reports."""

from __future__ import annotations

import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from auditor.controls import check_inventory
from auditor.errors import UsageError
from auditor.findings import read_findings, write_findings
from auditor.inventory import write_inventory
from auditor.owners import DEFAULT_OWNER_TAGS, parse_owner_tags


def _findings(estate, policy, h, **kwargs):
    return check_inventory(estate.inventory(), policy(h.plan_text()), h.AS_OF, **kwargs)


def _row(frame, arn, control="backup-recency"):
    rows = frame[(frame["resource_arn"] == arn) & (frame["control_id"] == control)]
    assert len(rows) == 1
    return rows.iloc[0]


def test_default_keys_any_case_and_nulls(estate, policy, h):
    tagged = estate.resource("vol-1", tags={**h.GOLD, "Owner": "alice", "TEAM": "db"})
    estate.backup(tagged, age_hours=2)
    bare = estate.resource("vol-2", tags=h.GOLD)
    estate.backup(bare, age_hours=2)
    estate.backup(bare.replace("vol-2", "vol-gone"), age_hours=24 * 90)
    frame = _findings(estate, policy, h).frame
    assert [c for c in frame.columns if c.startswith("tag_")] == [
        "tag_owner",
        "tag_team",
        "tag_application",
    ]
    row = _row(frame, tagged)
    assert (row["tag_owner"], row["tag_team"], row["tag_application"]) == ("alice", "db", None)
    assert frame.loc[frame["resource_arn"] == bare, "tag_owner"].isna().all()
    # a finding about a backup (its source gone) names no resource whose tags could be read
    orphan = frame[frame["control_id"] == "orphaned-backup"]
    assert len(orphan) and orphan[["tag_owner", "tag_team"]].isna().all().all()


def test_exact_spelling_wins_then_byte_order(estate, policy, h):
    exact = estate.resource("vol-1", tags={**h.GOLD, "OWNER": "upper", "owner": "exact"})
    other = estate.resource("vol-2", tags={**h.GOLD, "Owner": "title", "OWNER": "upper"})
    for arn in (exact, other):
        estate.backup(arn, age_hours=2)
    frame = _findings(estate, policy, h, owner_tags=("owner",)).frame
    assert _row(frame, exact)["tag_owner"] == "exact"
    assert _row(frame, other)["tag_owner"] == "upper"  # "OWNER" < "Owner" byte-wise
    assert [c for c in frame.columns if c.startswith("tag_")] == ["tag_owner"]


def test_every_format_carries_the_columns(estate, policy, h, tmp_path):
    arn = estate.resource("vol-1", tags={**h.GOLD, "team": "db", "cost-center": "cc-7"})
    estate.backup(arn, age_hours=40)
    findings = _findings(estate, policy, h, owner_tags=("team", "cost-center"))
    write_findings(findings, tmp_path, formats=("json", "csv", "jsonl"))
    header = (tmp_path / "findings.csv").read_text().splitlines()[0].split(",")
    assert header[-2:] == ['"tag_team"', '"tag_cost_center"']
    schema = pq.read_schema(tmp_path / "findings.parquet")
    # a string column, dictionary-encoded like the other short columns
    assert pa.types.is_dictionary(schema.field("tag_team").type)
    assert pa.types.is_string(schema.field("tag_team").type.value_type)
    table = pq.read_table(tmp_path / "findings.parquet")
    assert set(table["tag_cost_center"].to_pylist()) == {"cc-7"}
    doc = json.loads((tmp_path / "findings.json").read_text())
    assert {f["tag_team"] for f in doc["findings"]} == {"db"}
    line = json.loads((tmp_path / "findings.jsonl").read_text().splitlines()[0])
    assert line["tag_cost_center"] == "cc-7"
    for source in (tmp_path / "findings.json", tmp_path / "findings.parquet"):
        back = read_findings(source).frame
        assert list(back.columns[-2:]) == ["tag_team", "tag_cost_center"]
        assert set(back["tag_team"]) == {"db"}


def test_parse_owner_tags():
    assert parse_owner_tags(None) == DEFAULT_OWNER_TAGS
    assert parse_owner_tags("owner, team,,owner") == ("owner", "team")
    assert parse_owner_tags(["owner", "cost-center"]) == ("owner", "cost-center")
    assert parse_owner_tags("") == ()
    with pytest.raises(UsageError, match="both be column tag_owner"):
        parse_owner_tags("owner,Owner")
    with pytest.raises(UsageError, match="128"):
        parse_owner_tags("k" * 129)


def test_cli_check_and_report_owner_tags(g, tmp_path, policy_file):
    inventory = g.write_estate(tmp_path / "inv", stale=True)
    out = tmp_path / "out"
    done = g.run_cli(
        ["check", "--inventory", inventory, "--policies", policy_file, "--out", out]
        + ["--as-of", g.AS_OF, "--owner-tags", "backup,team", "--no-fail"]
    )
    assert done.returncode == 0, done.stderr
    doc = json.loads((out / "findings.json").read_text())
    first = doc["findings"][0]
    assert [k for k in first if k.startswith("tag_")] == ["tag_backup", "tag_team"]
    assert "gold" in {f["tag_backup"] for f in doc["findings"]}
    # the reports of that folder, owner columns as the findings carry them
    done = g.run_cli(["report", "--results", out, "--format", "html,sarif", "--out", tmp_path])
    assert done.returncode == 0, done.stderr
    page = (tmp_path / "report.html").read_text()
    assert 'id="f-owner"' in page and 'data-dimension="tag_backup"' in page
    sarif = json.loads((tmp_path / "report.sarif").read_text())
    tags = [r["properties"].get("ownerTags") for r in sarif["runs"][0]["results"]]
    assert {"backup": "gold"} in tags
    # a key the findings do not carry, and no inventory in the folder to look it up in: exit 2
    done = g.run_cli(["report", "--results", out, "--owner-tags", "owner", "--out", tmp_path])
    assert done.returncode == 2 and "has no inventory/" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


def test_report_looks_owner_tags_up_in_the_inventory(estate, policy, h, tmp_path):
    from auditor.report import load_results

    arn = estate.resource("vol-1", tags={**h.GOLD, "Application": "billing"})
    estate.backup(arn, age_hours=2)
    inventory = estate.inventory()
    findings = check_inventory(inventory, policy(h.plan_text()), h.AS_OF, owner_tags=())
    write_findings(findings, tmp_path)
    write_inventory(inventory, tmp_path / "inventory")
    results = load_results(tmp_path, owner_tags=("application",))
    rows = results.findings[results.findings["resource_arn"] == arn]
    assert set(rows["tag_application"]) == {"billing"}
