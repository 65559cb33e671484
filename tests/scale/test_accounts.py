"""Several accounts of an AWS Organization, two regions, one member whose role cannot be assumed.

The estate: the management account (the caller) and two members, each seeded by the sandbox in
us-east-1 and eu-west-1. Member 111111111111 has `OrganizationAccountAccessRole`; member
222222222222 has none, so AssumeRole is denied (as AWS does) and every finding about it must be
NOT_ASSESSED, the run must exit 1, and the other two accounts must still be complete.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pandas as pd
import pytest
from typer.testing import CliRunner

from auditor.cli import app

# The same values as conftest.py's (importlib import mode: conftest is not importable).
AS_OF = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
REGIONS = ("us-east-1", "eu-west-1")
MGMT, GOOD, BAD = "123456789012", "111111111111", "222222222222"

runner = CliRunner()

# moto warns that AccessDenied is not among STS's modelled errors; AWS does answer AssumeRole with it.
pytestmark = pytest.mark.filterwarnings(
    "ignore:.*AccessDenied does not match an error shape:UserWarning"
)


def _collect(**kwargs):
    from auditor.aws import CollectOptions, collect_inventory

    return collect_inventory(CollectOptions(regions=list(REGIONS), as_of=AS_OF, **kwargs))


def _key(frame: pd.DataFrame) -> pd.DataFrame:
    cols = ["account_id", "region", "resource_arn", "control_id", "plan", "status"]
    return frame[cols].astype(str).sort_values(cols).reset_index(drop=True)


@pytest.fixture(scope="module")
def org_inventory(org_estate):
    """One `--org` collection of the estate, shared by the tests that only read it."""
    return _collect(org=True)


def test_org_collection_enters_members_and_records_the_unassumable_one(org_estate, org_inventory):
    inv = org_inventory

    assert inv.manifest["accounts"] == sorted([MGMT, GOOD, BAD])
    assert inv.manifest["accounts_failed"] == [BAD]
    # Every seeded resource and backup of the two reachable accounts, and nothing of the third.
    truth = org_estate.resources
    reachable = truth[truth["account_id"].isin([MGMT, GOOD])]
    assert set(inv.resources["resource_arn"]) == set(reachable["resource_arn"])
    backups = org_estate.backups
    assert set(inv.recovery_points["recovery_point_arn"]) == set(
        backups.loc[backups["account_id"].isin([MGMT, GOOD]), "recovery_point_arn"]
    )
    assert set(inv.resources["region"]) == set(REGIONS)
    errors = inv.errors
    assert errors[
        ["account_id", "service", "operation", "error_code", "affects"]
    ].values.tolist() == [[BAD, "sts", "AssumeRole", "AccessDenied", "*"]]


def test_findings_of_the_unassumable_account_are_not_assessed(org_inventory, policies):
    from auditor.controls import check_inventory

    findings = check_inventory(org_inventory, policies, AS_OF).frame
    bad = findings[findings["account_id"] == BAD]
    assert len(bad) >= 1
    assert set(bad["status"]) == {"NOT_ASSESSED"}
    assert bad["detail"].str.contains("AssumeRole").all()
    for account in (MGMT, GOOD):
        mine = findings[findings["account_id"] == account]
        assert {"PASS", "FAIL"} <= set(mine["status"]), account
        assert "NOT_ASSESSED" not in set(mine["status"])


def test_collect_cli_with_named_accounts_exits_1_and_keeps_the_others(org_estate, tmp_path):
    out = tmp_path / "inv"
    accounts_file = tmp_path / "accounts.txt"
    accounts_file.write_text(f"# members\n{GOOD}  # payments\n{BAD}\n")
    args = [
        "collect",
        "--out",
        str(out),
        "--accounts-file",
        str(accounts_file),
        "--account",
        MGMT,
        "--quiet",
    ]
    for region in REGIONS:
        args += ["--region", region]
    result = runner.invoke(app, args)
    assert result.exit_code == 1, result.output
    assert "AssumeRole" in result.output and BAD in result.output

    from auditor.inventory import read_inventory

    inv = read_inventory(out)
    assert sorted(set(inv.resources["account_id"])) == sorted([MGMT, GOOD])
    assert inv.errors["account_id"].tolist() == [BAD]
    # The inventory holds one file per table and account on disk.
    assert (out / "resources" / f"{GOOD}.parquet").is_file()
    assert (out / "errors" / f"{BAD}.parquet").is_file()


def test_check_cli_reads_several_inventory_folders_as_one(org_inventory, tmp_path, policies_path):
    from auditor.inventory import Inventory, write_inventory

    folders = []
    for account in (
        MGMT,
        GOOD,
        BAD,
    ):  # one inventory folder per account, as separate runs write them
        tables = {
            name: df[df["account_id"] == account] for name, df in org_inventory.tables.items()
        }
        manifest = dict(
            org_inventory.manifest,
            accounts=[account],
            accounts_failed=[a for a in org_inventory.manifest["accounts_failed"] if a == account],
        )
        folder = tmp_path / f"inv-{account}"
        write_inventory(Inventory(tables=tables, manifest=manifest), folder)
        folders.append(folder)
    args = [
        "check",
        "--policies",
        str(policies_path),
        "--out",
        str(tmp_path / "out"),
        "--as-of",
        AS_OF.isoformat(),
        "--no-fail",
    ]
    for folder in folders:
        args += ["--inventory", str(folder)]
    result = runner.invoke(app, args)
    assert result.exit_code == 1, result.output  # BAD's inventory records a failed collection
    doc = json.loads((tmp_path / "out" / "findings.json").read_text())
    by_account = doc["summary"]["by_account"]
    assert set(by_account) == {MGMT, GOOD, BAD}
    assert set(by_account[BAD]) == {"NOT_ASSESSED"}


def test_audit_cli_over_the_org_exits_1_with_the_member_not_assessed(
    org_estate, tmp_path, policies_path
):
    out = tmp_path / "results"
    args = [
        "audit",
        "--org",
        "--policies",
        str(policies_path),
        "--out",
        str(out),
        "--as-of",
        AS_OF.isoformat(),
        "--format",
        "json",
        "--no-history",
        "--max-workers",
        "4",
        "--quiet",
    ]
    for region in REGIONS:
        args += ["--region", region]
    result = runner.invoke(app, args)
    assert result.exit_code == 1, result.output
    doc = json.loads((out / "findings.json").read_text())
    by_account = doc["summary"]["by_account"]
    assert set(by_account[BAD]) == {"NOT_ASSESSED"}
    assert by_account[GOOD].get("PASS") and by_account[MGMT].get("PASS")
    run = json.loads((out / "run.json").read_text())
    assert run["collection"]["accounts_failed"] == [BAD]
    assert run["scope"]["accounts"] == sorted([MGMT, GOOD, BAD])


def test_external_id_is_required_by_the_role_trust(org_estate, make_role):
    make_role("333333333333", external_id="xid-42")
    denied = _collect(accounts=["333333333333"])
    assert denied.errors["error_code"].tolist() == ["AccessDenied"]
    allowed = _collect(accounts=["333333333333"], external_id="xid-42")
    assert allowed.errors.empty


@pytest.mark.parametrize(
    "args, message",
    [
        (["--account", "12345"], "not a 12-digit AWS account id"),
        (["--accounts-file", "/nonexistent/accounts.txt"], "cannot read it"),
        (["--max-workers", "0"], "--max-workers"),
    ],
)
def test_bad_account_options_exit_2(tmp_path, args, message):
    result = runner.invoke(
        app, ["collect", "--out", str(tmp_path / "inv"), "--region", "us-east-1", *args]
    )
    assert result.exit_code == 2, result.output
    assert message in result.output
