"""AWS facts the controls must follow, on an estate built through plain boto3 calls.

Each expectation comes from AWS's pages, not from the code:
- AWS Backup Developer Guide, "Feature availability by resource": Aurora clusters are supported
  (since 2020) without cold storage; RDS backups never go cold.
- "Working with supported services" / service opt-in: a selection naming a resource's ARN backs it
  up whatever the region's opt-in, except Aurora, Neptune and DocumentDB; tag and "*" assignments
  follow the opt-in.
- API reference, "BackupRuleInput": a rule without ScheduleExpression runs at cron(0 5 ? * * *);
  ScheduleExpressionTimezone sets the cron's zone (default UTC).
- API reference, "Lifecycle": DeleteAfterDays -1 (or none) keeps recovery points indefinitely.
"""

from __future__ import annotations

import json
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from moto import mock_aws

import auditor.sandbox

sys.path.insert(0, str(Path(__file__).parent))
from e2e_estate import ROLE, Estate, as_of_now, collect_and_check, run_cli

H = timedelta(hours=1)

POLICY = """
version: 1
scope:
  resource_types: [ebs-volume, rds-instance, rds-cluster, efs-filesystem]
{profile}
plans:
  - name: efs
    select: {{tags: {{backup: [efs-named, efs-tagged]}}}}
    frequency: 24h
    grace: 2h
    retention_days: 35
    accept: [aws-backup]
  - name: aurora
    select: {{tags: {{backup: aurora}}}}
    frequency: 24h
    grace: 2h
    retention_days: 7
    accept: [aws-backup]
  - name: cold
    select: {{tags: {{backup: cold}}}}
    frequency: 24h
    grace: 2h
    retention_days: 365
    cold_after_days: 30
    accept: [aws-backup]
  - name: rds-rule
    select: {{tags: {{backup: rds-rule}}}}
    frequency: 24h
    grace: 2h
    retention_days: 35
    accept: [aws-backup]
  - name: daily
    select: {{tags: {{backup: daily}}}}
    frequency: 24h
    grace: 2h
    retention_days: 35
    max_retention_days: 400
    accept: [aws-backup]
"""


def _plan(e: Estate, name: str, rule: dict, selection: dict) -> None:
    plan_id = e.backup.create_backup_plan(
        BackupPlan={
            "BackupPlanName": name,
            "Rules": [{"RuleName": "r", "TargetBackupVaultName": "main", **rule}],
        }
    )["BackupPlanId"]
    e.backup.create_backup_selection(
        BackupPlanId=plan_id,
        BackupSelection={"SelectionName": f"{name}-sel", "IamRoleArn": ROLE, **selection},
    )


def _tagged(value: str) -> dict:
    return {
        "ListOfTags": [
            {"ConditionType": "STRINGEQUALS", "ConditionKey": "backup", "ConditionValue": value}
        ]
    }


@pytest.fixture(scope="module")
def facts(tmp_path_factory):
    auditor.sandbox.install()
    with mock_aws():
        as_of = as_of_now()
        e = Estate(as_of)
        arns = e.arns
        e.vault("main")
        daily = {"ScheduleExpression": "cron(0 5 ? * * *)", "Lifecycle": {"DeleteAfterDays": 35}}

        # Service opt-in: EFS and Aurora opted out in the region.
        for name in ("efs-named", "efs-tagged"):
            fs = e.efs.create_file_system(
                CreationToken=name, Tags=[{"Key": "backup", "Value": name}]
            )
            arns[name] = fs["FileSystemArn"]
        out = e.rds.create_db_cluster(
            DBClusterIdentifier="aur-named",
            Engine="aurora-postgresql",
            MasterUsername="u",
            MasterUserPassword="password123",
            BackupRetentionPeriod=7,
            Tags=[{"Key": "backup", "Value": "aurora"}],
        )
        arns["aur-named"] = out["DBCluster"]["DBClusterArn"]
        _plan(e, "bp-efs-named", daily, {"Resources": [arns["efs-named"]]})
        _plan(e, "bp-efs-tagged", daily, _tagged("efs-tagged"))
        _plan(e, "bp-aurora", daily, {"Resources": [arns["aur-named"]]})
        e.backup.update_region_settings(ResourceTypeOptInPreference={"EFS": False, "Aurora": False})

        # Cold storage: RDS backups never go cold.
        for name, tag in (("db-cold", "cold"), ("db-rule", "rds-rule")):
            out = e.rds.create_db_instance(
                DBInstanceIdentifier=name,
                DBInstanceClass="db.t3.micro",
                Engine="postgres",
                AllocatedStorage=20,
                MasterUsername="u",
                MasterUserPassword="password123",
                BackupRetentionPeriod=7,
                Tags=[{"Key": "backup", "Value": tag}],
            )
            arns[name] = out["DBInstance"]["DBInstanceArn"]
        _plan(
            e,
            "bp-rds-cold",
            {
                "ScheduleExpression": "cron(0 5 ? * * *)",
                "Lifecycle": {"MoveToColdStorageAfterDays": 30, "DeleteAfterDays": 365},
            },
            _tagged("rds-rule"),
        )

        # Rule semantics on EBS volumes.
        for name in ("vol-default", "vol-berlin", "vol-utc"):
            e.volume(name, {"backup": "daily", "case": name}, age_days=100)
        _plan(
            e, "bp-default", {}, {"Resources": [arns["vol-default"]]}
        )  # no schedule, no lifecycle
        _plan(
            e,
            "bp-berlin",
            {**daily, "ScheduleExpressionTimezone": "Europe/Berlin"},
            {"Resources": [arns["vol-berlin"]]},
        )
        _plan(e, "bp-utc", daily, {"Resources": [arns["vol-utc"]]})
        forever = e.backup_job("vol-default", "main", 3 * H, lifecycle={"DeleteAfterDays": -1})
        described = e.backup.describe_recovery_point(
            BackupVaultName="main", RecoveryPointArn=forever
        )
        rules = {
            p["BackupPlanName"]: e.backup.get_backup_plan(BackupPlanId=p["BackupPlanId"])[
                "BackupPlan"
            ]["Rules"][0]
            for p in e.backup.list_backup_plans()["BackupPlansList"]
        }
        e.backup_job("vol-utc", "main", 3 * H, lifecycle={"DeleteAfterDays": 35})

        tmp = tmp_path_factory.mktemp("facts")
        findings = collect_and_check(tmp, POLICY.format(profile=""), as_of)
        # The same inventory judged under the founding guide's profile (no Aurora).
        (tmp / "guide.yaml").write_text(POLICY.format(profile="aws_backup_support_profile: guide"))
        code, out = run_cli(
            [
                "check",
                "--inventory",
                str(tmp / "inv"),
                "--policies",
                str(tmp / "guide.yaml"),
                "--out",
                str(tmp / "guide"),
                "--as-of",
                as_of.isoformat(),
                "--no-fail",
                "-q",
            ]
        )
        assert code == 0, out
        guide = {
            (f["resource_arn"], f["control_id"], f["plan"]): f
            for f in json.loads((tmp / "guide" / "findings.json").read_text())["findings"]
        }
    return {
        "findings": findings,
        "guide": guide,
        "arns": arns,
        "forever": described,
        "rules": rules,
    }


CASES = [
    # service opt-in: named ARNs ignore it, tags follow it, Aurora always follows it
    ("efs-named", "plan-deployed", "efs", "PASS"),
    ("efs-tagged", "plan-deployed", "efs", "FAIL"),
    ("aur-named", "plan-deployed", "aurora", "FAIL"),
    # support matrix: Aurora is supported; RDS has no cold storage
    ("aur-named", "backup-supported", "aurora", "PASS"),
    ("db-cold", "backup-supported", "cold", "FAIL"),  # cold_after_days declared
    ("db-rule", "backup-supported", "rds-rule", "FAIL"),  # deployed rule moves RDS to cold
    # rule semantics
    ("vol-default", "plan-deployed", "daily", "PASS"),  # default cron, kept forever
    ("vol-berlin", "plan-deployed", "daily", "FAIL"),  # 25 h gap at the autumn change
    ("vol-utc", "plan-deployed", "daily", "PASS"),
    ("vol-default", "backup-max-retention", "daily", "FAIL"),  # DeleteAfterDays -1: forever
    ("vol-utc", "backup-max-retention", "daily", "PASS"),
]


@pytest.mark.parametrize("name,control,plan,expected", CASES, ids=["-".join(c[:3]) for c in CASES])
def test_aws_facts(facts, name, control, plan, expected):
    finding = facts["findings"][(facts["arns"][name], control, plan)]
    assert finding["status"] == expected, finding["detail"]


def test_guide_profile_drops_aurora(facts):
    finding = facts["guide"][(facts["arns"]["aur-named"], "backup-supported", "aurora")]
    assert finding["status"] == "FAIL" and "Aurora" in finding["detail"]


def test_emulator_follows_the_lifecycle_and_schedule_pages(facts):
    # -1 keeps the point indefinitely: no DeleteAt (AWS Backup API reference, "Lifecycle").
    assert "DeleteAt" not in (facts["forever"].get("CalculatedLifecycle") or {})
    # A rule created without a schedule reads back with AWS's default, in UTC.
    assert facts["rules"]["bp-default"]["ScheduleExpression"] == "cron(0 5 ? * * *)"
