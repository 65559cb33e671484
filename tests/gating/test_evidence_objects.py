"""Evidence names the objects a verdict is about: an uncovered resource's tags and, per declared
plan and per AWS Backup selection deployed beside it, which selection test it fails."""

from __future__ import annotations

import json

from auditor.controls import check_inventory
from auditor.findings import findings_document

TWO_PLANS = """
version: 1
plans:
  - name: daily
    select: {tags: {backup: daily}}
    frequency: 24h
    retention_days: 7
    accept: [aws-backup]
  - name: prod-rds
    select:
      resource_types: [rds-instance]
      conditions: {string_equals: {env: prod}}
    frequency: 24h
    retention_days: 7
    accept: [aws-backup]
"""


def _covered(frame, arn):
    row = frame[(frame["control_id"] == "resource-covered") & (frame["resource_arn"] == arn)]
    assert len(row) == 1
    return row.iloc[0]


def test_uncovered_resource_names_its_tags_and_each_failed_test(estate, policy, h):
    weekly = estate.resource("vol-weekly", tags={"backup": "weekly", "env": "dev"})
    estate.deployed(
        {
            "ListOfTags": [
                {"ConditionType": "STRINGEQUALS", "ConditionKey": "backup", "ConditionValue": "x"}
            ],
        },
        rules=[{"schedule_expression": "cron(0 5 ? * * *)", "delete_after_days": 7}],
        plan_id="tagged",
    )
    estate.deployed(
        {"Resources": ["arn:aws:ec2:*:*:volume/*"], "NotResources": [weekly]},
        rules=[{"schedule_expression": "cron(0 5 ? * * *)", "delete_after_days": 7}],
        plan_id="all-volumes",
    )
    frame = check_inventory(estate.inventory(), policy(TWO_PLANS), h.AS_OF).frame
    row = _covered(frame, weekly)
    assert row["status"] == "FAIL"
    evidence = row["evidence"]
    assert evidence["tags"] == {"backup": "weekly", "env": "dev"}
    assert evidence["not_selected_by"] == {
        "plan daily": "tag backup=daily required, resource has backup=weekly",
        "plan prod-rds": "type ebs-volume not in resource_types [rds-instance]; "
        "tag env=prod required, resource has env=dev",
    }
    assert evidence["deployed_not_selected_by"] == {
        "AWS Backup plan 'tagged' selection 'tagged-sel'": (
            "tag backup=x required, resource has backup=weekly"
        ),
        "AWS Backup plan 'all-volumes' selection 'all-volumes-sel'": (
            f"excluded by NotResources [{weekly}]"
        ),
    }


def test_missing_tag_and_covered_resources_carry_no_such_evidence(estate, policy, h):
    bare = estate.resource("vol-bare")
    daily = estate.resource("vol-daily", tags={"backup": "daily"})
    findings = check_inventory(estate.inventory(), policy(TWO_PLANS), h.AS_OF)
    frame = findings.frame
    evidence = _covered(frame, bare)["evidence"]
    assert "tags" not in evidence  # no tags at all
    assert evidence["not_selected_by"]["plan daily"] == (
        "tag backup=daily required, resource has no backup tag"
    )
    assert "deployed_not_selected_by" not in evidence  # nothing deployed in its region
    ok = _covered(frame, daily)
    assert ok["status"] == "PASS"
    assert not {"tags", "not_selected_by"} & set(ok["evidence"])
    # the evidence survives the trip through findings.json as objects
    doc = findings_document(findings)
    rows = [f for f in doc["findings"] if f["resource_arn"] == bare]
    assert any("not_selected_by" in r["evidence"] for r in rows)
    assert json.dumps(doc)


def test_max_retention_names_the_offending_backups(estate, policy, h):
    arn = estate.resource("vol-1", tags=h.GOLD)
    estate.backup(arn, age_hours=2, keep_days=30)
    forever = estate.backup(arn, age_hours=5, keep_days=None)
    longest = estate.backup(arn, age_hours=8, keep_days=900)
    pol = policy(h.plan_text(accept="[aws-backup]", max_retention_days="400"))
    frame = check_inventory(estate.inventory(), pol, h.AS_OF).frame
    row = frame[frame["control_id"] == "backup-max-retention"].iloc[0]
    assert row["status"] == "FAIL"
    assert row["evidence"]["kept_forever_example_arn"] == forever
    assert row["evidence"]["longest_lifecycle_backup_arn"] == longest


def test_encrypted_names_the_backup_and_its_vault(estate, policy, h):
    arn = estate.resource("vol-1", tags=h.GOLD)
    estate.backup(arn, age_hours=2, encrypted=True)
    plain = estate.backup(arn, age_hours=30, encrypted=False, vault="plain-vault")
    pol = policy(h.plan_text(accept="[aws-backup]", encrypted="true"))
    frame = check_inventory(estate.inventory(), pol, h.AS_OF).frame
    row = frame[frame["control_id"] == "backup-encrypted"].iloc[0]
    assert row["status"] == "FAIL"
    assert row["evidence"]["example"] == plain
    assert row["evidence"]["example_vault"] == "plain-vault"


def test_retention_names_the_short_lived_backup_and_its_rule(estate, policy, h):
    arn = estate.resource("vol-1", tags=h.GOLD, age_days=10)
    estate.backup(arn, age_hours=2, keep_days=35)
    short = estate.backup(arn, age_hours=30, keep_days=7)
    estate.rows["recovery_points"][-1]["backup_rule_id"] = "rule-7d"
    pol = policy(h.plan_text(accept="[aws-backup]"))
    frame = check_inventory(estate.inventory(), pol, h.AS_OF).frame
    row = frame[frame["control_id"] == "backup-retention"].iloc[0]
    assert row["status"] == "FAIL"
    assert row["evidence"]["shortest_lifecycle_backup_arn"] == short
    assert row["evidence"]["shortest_lifecycle_rule_id"] == "rule-7d"
