"""Continuous backups, copies' recency and read replicas, on hand-built inventories.

AWS facts the expectations follow:
- DynamoDB DescribeContinuousBackups: PITR restores to any point from EarliestRestorableDateTime to
  LatestRestorableDateTime (typically 5 minutes before now) within RecoveryPeriodInDays (1-35).
- RDS DescribeDBInstances: LatestRestorableTime; automated backups kept BackupRetentionPeriod days.
- AWS Backup continuous backups (point-in-time recovery) are kept at most 35 days.
- A copy holds its source's data: its recovery time is its source's creation time.
- An RDS read replica is kept in sync with its source; backing up the source protects the data.
The collectors that fill these columns may be absent from an older inventory: missing columns are
null.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

MIN = timedelta(minutes=1)


def _plan(plan_policy, accept: str, **fields):
    return plan_policy(accept=accept, **fields)


def test_dynamodb_pitr_counts_where_native_is_accepted(estate, plan_policy, check, h):
    arn = estate.resource(
        "t",
        "dynamodb-table",
        tags=h.GOLD,
        latest_restorable_at=h.AS_OF - 5 * MIN,
        continuous_window_days=35,
    )
    native = check(estate, _plan(plan_policy, "[native]"))
    row = h.one(native, "backup-recency", arn)
    assert row["status"] == "PASS"
    assert row["evidence"]["age_hours"] == pytest.approx(5 / 60, abs=0.01)
    assert h.one(native, "backup-retention", arn)["status"] == "PASS"
    aws_only = check(estate, _plan(plan_policy, "[aws-backup]"))
    assert h.one(aws_only, "backup-recency", arn)["status"] == "FAIL"


def test_restorable_time_after_as_of_is_taken_as_as_of(estate, plan_policy, check, h):
    arn = estate.resource(
        "t",
        "dynamodb-table",
        tags=h.GOLD,
        latest_restorable_at=h.AS_OF + timedelta(days=2),
        continuous_window_days=35,
    )
    row = h.one(check(estate, _plan(plan_policy, "[native]")), "backup-recency", arn)
    assert row["status"] == "PASS"
    assert row["evidence"]["age_hours"] == 0
    assert row["evidence"]["last_backup"] == "2026-11-26T12:00:00Z"


def test_pitr_window_shorter_than_retention_fails_history(estate, plan_policy, check, h):
    arn = estate.resource(
        "t",
        "dynamodb-table",
        tags=h.GOLD,
        latest_restorable_at=h.AS_OF - 5 * MIN,
        continuous_window_days=7,
    )
    row = h.one(check(estate, _plan(plan_policy, "[native]")), "backup-retention", arn)
    assert row["status"] == "FAIL"
    assert row["evidence"]["history_days"] == pytest.approx(7.0, abs=0.01)


def test_rds_automated_backups_count_as_native(estate, plan_policy, check, h):
    arn = estate.resource(
        "db",
        "rds-instance",
        tags=h.GOLD,
        latest_restorable_at=h.AS_OF - 5 * MIN,
        continuous_window_days=7,
    )
    findings = check(estate, _plan(plan_policy, "[native]", retention_days="7"))
    assert h.one(findings, "backup-recency", arn)["status"] == "PASS"
    assert h.one(findings, "backup-retention", arn)["status"] == "PASS"


def test_aws_backup_continuous_point_counts_at_latest_restorable_time(
    estate, plan_policy, check, h
):
    arn = estate.resource("v", tags=h.GOLD)
    estate.backup(arn, age_hours=24 * 100)  # continuous backup running for 100 days
    estate.rows["recovery_points"][-1].update(
        continuous=True, latest_restorable_at=h.AS_OF - 1 * timedelta(hours=1)
    )
    findings = check(estate, _plan(plan_policy, "[aws-backup]", max_retention_days="60"))
    recency = h.one(findings, "backup-recency", arn)
    assert recency["status"] == "PASS"
    assert recency["evidence"]["age_hours"] == pytest.approx(1.0)
    # It restores back over at most 35 days: history 35 days, nothing 100 days old is kept.
    assert h.one(findings, "backup-retention", arn)["status"] == "PASS"
    assert h.one(findings, "backup-max-retention", arn)["status"] == "PASS"
    native = check(estate, _plan(plan_policy, "[native]"))
    assert h.one(native, "backup-recency", arn)["status"] == "FAIL"


@pytest.mark.parametrize(
    "source_age_hours,status,last",
    [
        (3, "PASS", "2026-11-26T09:00:00Z"),
        (30, "FAIL", "2026-11-25T06:00:00Z"),
        (None, "FAIL", None),
    ],
)
def test_copy_counts_for_recency_at_its_source_creation(
    estate, plan_policy, check, h, source_age_hours, status, last
):
    arn = estate.resource("v", tags=h.GOLD)
    estate.backup(arn, age_hours=1, region="us-west-2", copy_of="arn:aws:backup:src")
    if source_age_hours is not None:
        estate.rows["recovery_points"][-1]["source_created_at"] = h.AS_OF - timedelta(
            hours=source_age_hours
        )
    findings = check(estate, _plan(plan_policy, "[aws-backup]", copy_to="{regions: [us-west-2]}"))
    row = h.one(findings, "backup-recency", arn)
    assert row["status"] == status
    assert row["evidence"].get("last_backup") == last
    # The copy still counts for the copy control (and its own creation time is what it judges).
    assert h.one(findings, "cross-region-copy", arn)["status"] == "PASS"


def test_read_replica_is_not_applicable_with_its_source_named(estate, plan_policy, check, h):
    source = estate.resource("main", "rds-instance", tags=h.GOLD)
    replica = estate.resource("copy", "rds-instance", tags=h.GOLD, read_replica_source=source)
    estate.backup(source, age_hours=2)
    findings = check(estate, _plan(plan_policy, "[aws-backup]"))
    covered = h.one(findings, "resource-covered", replica, plan=None)
    assert covered["status"] == "NOT_APPLICABLE"
    assert covered["detail"] == f"Read replica of {source}: its source is what must be backed up."
    for control in ("backup-recency", "backup-retention", "plan-deployed"):
        row = h.one(findings, control, replica)
        assert row["status"] == "NOT_APPLICABLE", control
        assert f"read replica of {source}" in row["detail"]
    assert h.one(findings, "backup-recency", source)["status"] == "PASS"
    assert findings.summary["resources_in_scope"] == 1


def test_older_inventory_without_the_new_columns(estate, plan_policy, check, h):
    arn = estate.resource("v", tags=h.GOLD)
    estate.backup(arn, age_hours=3)
    inventory = estate.inventory()
    new = {
        "resources": [
            "latest_restorable_at",
            "continuous_window_days",
            "read_replica_source",
            "deletion_protection",
        ],
        "recovery_points": ["source_created_at", "continuous", "latest_restorable_at"],
    }
    for table, columns in new.items():
        inventory.tables[table] = inventory.tables[table].drop(columns=columns)
    from auditor.controls import check_inventory

    findings = check_inventory(inventory, _plan(plan_policy, "[aws-backup]"), h.AS_OF)
    assert h.one(findings, "backup-recency", arn)["status"] == "PASS"


def test_continuous_point_restores_back_over_its_rule_lifecycle(estate, plan_policy, check, h):
    arn = estate.resource("v", tags=h.GOLD)
    estate.backup(arn, age_hours=24 * 100)
    estate.rows["recovery_points"][-1].update(
        continuous=True,
        latest_restorable_at=h.AS_OF - timedelta(hours=1),
        backup_rule_id="rule-7",
    )
    estate.add(
        "backup_rules",
        account_id=h.ACCOUNT,
        region=h.REGION,
        backup_plan_id="plan-1",
        rule_id="rule-7",
        rule_name="pitr",
        continuous_backup=True,
        delete_after_days=7,
    )
    row = h.one(check(estate, _plan(plan_policy, "[aws-backup]")), "backup-retention", arn)
    assert row["status"] == "FAIL"  # 7 days of history, the plan needs 35
    assert row["evidence"]["history_days"] == pytest.approx(7 + 1 / 24, abs=0.01)
