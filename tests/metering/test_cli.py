"""`auditor meter`: files written, table printed, one-line errors with exit 2."""

from __future__ import annotations

import csv
import json

import pandas as pd
from typer.testing import CliRunner

from auditor.cli import app
from auditor.inventory import write_inventory

runner = CliRunner()


def _write(mk, tmp_path, name="inv", account=None):
    account = account or mk.ACCT
    recs = [
        mk.backup("ebs-snapshot", 100, account=account),
        mk.backup("efs-backup", 30, account=account, backup_plan_id="p1"),
        mk.backup(
            "dynamodb-backup", 10, account=account, region="ap-northeast-1"
        ),  # unpriced by default
    ]
    tags = [
        dict(
            account_id=account,
            region="us-east-1",
            arn=recs[0]["resource_arn"],
            key="team",
            value="red",
        )
    ]
    inv = mk.inventory(
        recs,
        tags=tags,
        manifest={"accounts": [account], "regions": ["us-east-1", "ap-northeast-1"]},
    )
    return write_inventory(inv, tmp_path / name)


def test_meter_writes_json_and_csv(mk, tmp_path):
    inv = _write(mk, tmp_path)
    out = tmp_path / "out"
    res = runner.invoke(
        app,
        [
            "meter",
            "--inventory",
            str(inv),
            "--out",
            str(out),
            "--by-tag",
            "team",
            "--as-of",
            "2026-11-26T00:00:00Z",
        ],
    )
    assert res.exit_code == 0, res.output
    doc = json.loads((out / "metering.json").read_text())
    assert doc["schema_version"] == 1 and doc["as_of"] == "2026-11-26T00:00:00Z"
    assert doc["period"] == {"start": "2026-11-01T00:00:00Z", "end": "2026-12-01T00:00:00Z"}
    assert {
        "rows",
        "allocations",
        "orphans",
        "reconciliation",
        "warnings",
        "totals",
        "prices",
    } <= set(doc)
    assert doc["reconciliation"] is None
    assert set(doc["allocations"]) >= {
        "account",
        "region",
        "service",
        "billing_owner",
        "storage_class",
        "plan",
        "tag:team",
    }
    owners = {r["billing_owner"] for r in doc["rows"]}
    assert owners == {"AmazonEC2", "AWSBackup", "AmazonDynamoDB"}
    unpriced = [r for r in doc["rows"] if r["unpriced"]]
    assert len(unpriced) == 1 and unpriced[0]["estimated_cost_usd"] is None
    assert doc["totals"]["estimated_cost_usd"] == 6.5
    rows = list(csv.DictReader((out / "metering.csv").open()))
    assert len(rows) == 3
    assert list(rows[0])[:7] == [
        "account_id",
        "region",
        "service",
        "billing_owner",
        "storage_class",
        "usage_type",
        "backups",
    ]
    assert "gb_months" in rows[0] and "estimated_cost_usd" in rows[0]
    assert "AmazonEC2" in res.stdout and "6.50" in res.stdout
    assert "no price for ap-northeast-1/TimedBackupStorage-ByteHrs" in res.stderr


def test_meter_reads_several_inventories_and_a_cur(mk, tmp_path):
    a = _write(mk, tmp_path, "a", "111122223333")
    b = _write(mk, tmp_path, "b", "444455556666")
    cur = tmp_path / "cur.csv"
    pd.DataFrame(
        {
            "lineItem/UsageAccountId": ["111122223333"],
            "lineItem/ProductCode": ["AmazonEC2"],
            "lineItem/UsageType": ["EBS:SnapshotUsage"],
            "lineItem/UsageAmount": [100],
            "lineItem/UnblendedCost": [5.0],
        }
    ).to_csv(cur, index=False)
    out = tmp_path / "out"
    res = runner.invoke(
        app,
        [
            "meter",
            "--inventory",
            str(a),
            "--inventory",
            str(b),
            "--cur",
            str(cur),
            "--out",
            str(out),
            "--as-of",
            "2026-11-26",
        ],
    )
    assert res.exit_code == 0, res.output
    doc = json.loads((out / "metering.json").read_text())
    assert {r["account_id"] for r in doc["rows"]} == {"111122223333", "444455556666"}
    assert doc["totals"]["estimated_cost_usd"] == 13.0
    rec = {(r["account_id"], r["service"]): r for r in doc["reconciliation"]}
    assert (
        rec[("111122223333", "EBS")]["billed_usd"] == 5.0
        and rec[("111122223333", "EBS")]["difference_usd"] == 0.0
    )


def test_meter_bad_inputs_exit_2_with_one_line(mk, tmp_path):
    inv = _write(mk, tmp_path)
    bad_cur = tmp_path / "cur.parquet"
    bad_cur.write_bytes(b"PAR1garbage")
    bad_prices = tmp_path / "prices.yaml"
    bad_prices.write_text("version: 1\nprices:\n  us-east-1:\n    EBS:SnapshotUsage: free\n")
    cases = [
        (["--cur", str(bad_cur)], f"{bad_cur}: corrupt Parquet file"),
        (["--prices", str(bad_prices)], f"{bad_prices}:4: prices.us-east-1.EBS:SnapshotUsage"),
        (["--as-of", "yesterday"], "--as-of 'yesterday'"),
    ]
    for extra, message in cases:
        res = runner.invoke(
            app, ["meter", "--inventory", str(inv), "--out", str(tmp_path / "o"), *extra]
        )
        assert res.exit_code == 2, (extra, res.output)
        lines = res.stderr.strip().splitlines()
        assert (
            len(lines) == 1 and lines[0].startswith("auditor: error: ") and message in lines[0]
        ), res.stderr
    res = runner.invoke(
        app, ["meter", "--inventory", str(tmp_path / "missing"), "--out", str(tmp_path / "o")]
    )
    assert res.exit_code == 2 and "not an inventory folder" in res.stderr
    assert not (tmp_path / "o").exists()


def test_meter_help():
    res = runner.invoke(app, ["meter", "--help"])
    assert res.exit_code == 0 and "--by-tag" in res.stdout and "--cur" in res.stdout
