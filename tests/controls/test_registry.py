"""Meta-tests over the control registry, and the findings files."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from auditor.controls import CONTROL_IDS, REGISTRY, SEVERITIES
from auditor.controls.reads import DATA
from auditor.errors import InputError
from auditor.findings import read_findings, write_findings

TEST_TEXT = "\n".join(
    p.read_text() for p in Path(__file__).parent.glob("test_*.py") if p.name != Path(__file__).name
)


def test_registry_matches_design_ids():
    assert tuple(REGISTRY) == CONTROL_IDS
    assert set(CONTROL_IDS) == {
        "resource-covered",
        "plan-deployed",
        "backup-recency",
        "backup-retention",
        "backup-max-retention",
        "backup-encrypted",
        "vault-lock",
        "cross-region-copy",
        "cross-account-copy",
        "air-gapped-copy",
        "backup-supported",
        "orphaned-backup",
        "restore-tested",
        "restore-time-target",
        "deletion-protected",
        "snapshot-not-public",
    }


@pytest.mark.parametrize("control_id", list(REGISTRY))
def test_every_control_is_complete_and_tested(control_id):
    control = REGISTRY[control_id]
    assert control.id == control_id
    assert control.severity in SEVERITIES
    assert control.title
    assert len(control.description) > 40 and "FAIL" in control.description
    assert control.per in ("resource", "plan", "backup")
    assert control.scope in ("account", "cross-account")
    assert control.reads and control.reads <= set(DATA)
    assert control.remediation
    # at least one test in tests/controls runs this control by id
    assert f'"{control_id}"' in TEST_TEXT


def test_findings_files_round_trip(estate, plan_policy, check, h, tmp_path):
    arn = estate.resource("vol-1", tags=h.GOLD)
    estate.backup(arn, age_hours=30)
    estate.resource("vol-2")
    findings = check(estate, plan_policy())
    json_path, csv_path = write_findings(findings, tmp_path / "out")
    doc = json.loads(json_path.read_text())
    assert doc["schema_version"] == 1
    assert doc["as_of"] == "2026-11-26T12:00:00Z"
    assert doc["summary"]["by_status"] == findings.summary["by_status"]
    assert [c["id"] for c in doc["controls"]] == list(CONTROL_IDS)
    first = doc["findings"][0]
    assert set(first) == {
        "resource_arn",
        "resource_type",
        "account_id",
        "region",
        "control_id",
        "status",
        "severity",
        "plan",
        "detail",
        "evidence",
        "remediation",
        "resource_name",
        # the default owner tags (--owner-tags owner,team,application)
        "tag_owner",
        "tag_team",
        "tag_application",
    }
    assert len(doc["findings"]) == len(findings.frame) == findings.summary["total"]
    recency = next(f for f in doc["findings"] if f["control_id"] == "backup-recency")
    assert recency["evidence"]["age_hours"] == 30.0 and recency["status"] == "FAIL"
    rows = list(csv.DictReader(csv_path.open()))
    assert len(rows) == len(doc["findings"])
    assert json.loads(rows[0]["evidence"]) == doc["findings"][0]["evidence"]
    back = read_findings(tmp_path / "out")
    assert back.summary == json.loads(json.dumps(findings.summary))
    assert list(back.frame["status"]) == list(findings.frame["status"])
    assert not list(tmp_path.joinpath("out").glob(".*"))  # no temp files left behind


def test_findings_are_sorted_and_deterministic(estate, plan_policy, check, h):
    for name in ("vol-b", "vol-a", "vol-c"):
        estate.resource(name, tags=h.GOLD)
    a = check(estate, plan_policy()).frame
    b = check(estate, plan_policy()).frame
    assert a.equals(b)
    arns = list(a["resource_arn"].dropna())
    assert arns == sorted(arns)


def test_read_findings_rejects_bad_files(tmp_path):
    (tmp_path / "findings.json").write_text("{not json")
    with pytest.raises(InputError, match="not a findings file"):
        read_findings(tmp_path)
    (tmp_path / "findings.json").write_text('{"schema_version": 9}')
    with pytest.raises(InputError, match="schema version 9"):
        read_findings(tmp_path)
    with pytest.raises(InputError, match="no findings file"):
        read_findings(tmp_path / "nowhere")


def test_findings_json_escapes_hostile_text(estate, policy, check, h, tmp_path):
    arn = estate.resource('vol-"odd"\\name', tags=h.GOLD)
    text = h.plan_text() + (
        "waivers:\n  - resource: '*'\n    controls: [backup-recency]\n"
        '    reason: "says \\"no\\"\\n then\\ttabs \\u0007 bell"\n    expires: 2030-01-01\n'
    )
    findings = check(estate, policy(text), ["backup-recency"])
    json_path, csv_path = write_findings(findings, tmp_path)
    doc = json.loads(json_path.read_text())
    row = next(f for f in doc["findings"] if f["resource_arn"] == arn)
    assert row["status"] == "WAIVED"
    assert row["evidence"]["waiver"]["reason"].startswith('says "no"\n then\ttabs')
    frame_row = findings.frame.iloc[0].to_dict()
    # control characters other than \n, \r, \t become spaces in the JSON file
    assert row == {**frame_row, "detail": frame_row["detail"].replace("\x07", " ")}
    rows = list(csv.DictReader(csv_path.open()))
    assert rows[0]["resource_arn"] == arn
    assert json.loads(rows[0]["evidence"]) == row["evidence"]


def test_dictionary_encoded_columns_give_the_same_findings(estate, plan_policy, check, h):
    # An inventory read with low-cardinality columns as categoricals must not change any verdict.
    for i in range(4):
        arn = estate.resource(
            f"vol-{i}", tags={"backup": "gold", "env": "prod" if i % 2 else "dev"}
        )
        estate.backup(
            arn, age_hours=10 + 10 * i, encrypted=bool(i % 2), vault="vault-a" if i else "vault-b"
        )
    estate.vault("vault-a", locked=True)
    estate.backup("arn:aws:ec2:us-east-1:111122223333:volume/gone", age_hours=5)
    pol = plan_policy(vault_lock="true", encrypted="true", copy_to="{regions: [us-west-2]}")
    inventory = estate.inventory()
    from auditor.controls import check_inventory

    plain = check_inventory(inventory, pol, h.AS_OF).frame
    for table, cols in {
        "recovery_points": [
            "account_id",
            "region",
            "resource_type",
            "source",
            "created_by",
            "status",
            "vault_name",
            "copy_source_arn",
        ],
        "resources": ["account_id", "region", "resource_type"],
        "tags": ["key", "value"],
    }.items():
        for col in cols:
            inventory.tables[table][col] = inventory.tables[table][col].astype("category")
    encoded = check_inventory(inventory, pol, h.AS_OF).frame
    assert plain.to_dict("records") == encoded.to_dict("records")


@pytest.mark.parametrize(
    "service,operation,reads_it,ignores_it",
    [
        # A snapshot listing fills recovery points: recency reads them, coverage does not.
        ("ec2", "DescribeSnapshots", "backup-recency", "resource-covered"),
        # AWS Backup's plans: only plan-deployed reads them.
        ("backup", "ListBackupPlans", "plan-deployed", "backup-recency"),
        # DynamoDB PITR: the native schedule and latest restorable time, not coverage.
        ("dynamodb", "DescribeContinuousBackups", "backup-recency", "resource-covered"),
        # Any other AWS Backup call may touch every AWS Backup table.
        ("backup", "ListProtectedResources", "plan-deployed", "resource-covered"),
        # A resource listing: every control reads resources.
        ("rds", "DescribeDBInstances", "resource-covered", None),
    ],
)
def test_failed_call_reaches_exactly_the_controls_that_read_its_data(
    service, operation, reads_it, ignores_it
):
    from auditor.controls.reads import data_of_call

    data = data_of_call(service, operation)
    assert REGISTRY[reads_it].reads & data
    if ignores_it:
        assert not REGISTRY[ignores_it].reads & data
