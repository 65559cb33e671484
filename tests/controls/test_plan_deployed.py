"""plan-deployed: the declared plan against deployed AWS Backup plans and native schedules."""

from __future__ import annotations

import pytest

GOLD_TAGS = {
    "ListOfTags": [
        {"ConditionType": "STRINGEQUALS", "ConditionKey": "backup", "ConditionValue": "gold"}
    ]
}
DAILY_35 = [dict(schedule_expression="cron(0 5 ? * * *)", delete_after_days=35)]


@pytest.mark.parametrize(
    "selection, rules, region, expected",
    [
        (GOLD_TAGS, DAILY_35, "us-east-1", "PASS"),
        (
            GOLD_TAGS,
            [dict(schedule_expression="cron(0 5 ? * * *)", delete_after_days=None)],
            "us-east-1",
            "PASS",
        ),
        (
            GOLD_TAGS,
            [dict(schedule_expression="rate(12 hours)", delete_after_days=60)],
            "us-east-1",
            "PASS",
        ),
        # less frequent: weekly, or weekdays only (72h gap over the weekend)
        (
            GOLD_TAGS,
            [dict(schedule_expression="cron(0 3 ? * SUN *)", delete_after_days=35)],
            "us-east-1",
            "FAIL",
        ),
        (
            GOLD_TAGS,
            [dict(schedule_expression="cron(0 5 ? * MON-FRI *)", delete_after_days=35)],
            "us-east-1",
            "FAIL",
        ),
        # kept too briefly
        (
            GOLD_TAGS,
            [dict(schedule_expression="cron(0 5 ? * * *)", delete_after_days=34)],
            "us-east-1",
            "FAIL",
        ),
        # one good rule among several is enough
        (
            GOLD_TAGS,
            [dict(schedule_expression="cron(0 5 1 * ? *)", delete_after_days=365)] + DAILY_35,
            "us-east-1",
            "PASS",
        ),
        # a selection in another region cannot select this resource
        (GOLD_TAGS, DAILY_35, "eu-west-1", "FAIL"),
        # AWS semantics: tag values are case-sensitive
        (
            {
                "ListOfTags": [
                    {
                        "ConditionType": "STRINGEQUALS",
                        "ConditionKey": "backup",
                        "ConditionValue": "Gold",
                    }
                ]
            },
            DAILY_35,
            "us-east-1",
            "FAIL",
        ),
        # Resources with a wildcard, Conditions all-of
        (
            {
                "Resources": ["arn:aws:ec2:*:*:volume/*"],
                "Conditions": {
                    "StringEquals": [
                        {"ConditionKey": "aws:ResourceTag/backup", "ConditionValue": "gold"}
                    ],
                    "StringNotEquals": [
                        {"ConditionKey": "aws:ResourceTag/env", "ConditionValue": "dev"}
                    ],
                },
            },
            DAILY_35,
            "us-east-1",
            "PASS",
        ),
        (
            {
                "Resources": ["arn:aws:ec2:*:*:volume/*"],
                "Conditions": {
                    "StringEquals": [
                        {"ConditionKey": "aws:ResourceTag/env", "ConditionValue": "prod"}
                    ]
                },
            },
            DAILY_35,
            "us-east-1",
            "FAIL",
        ),
        # NotResources excludes even what tags select
        (
            {**GOLD_TAGS, "NotResources": ["arn:aws:ec2:us-east-1:111122223333:volume/vol-1"]},
            DAILY_35,
            "us-east-1",
            "FAIL",
        ),
        ({"Resources": ["arn:aws:rds:*"]}, DAILY_35, "us-east-1", "FAIL"),
        (
            {"Resources": ["arn:aws:ec2:us-east-1:111122223333:volume/vol-1"]},
            DAILY_35,
            "us-east-1",
            "PASS",
        ),
    ],
)
def test_deployed_table(estate, plan_policy, check, h, selection, rules, region, expected):
    arn = estate.resource("vol-1", tags={"backup": "gold", "env": "qa"})
    estate.deployed(selection, rules, region=region)
    row = h.one(
        check(estate, plan_policy(accept="[aws-backup]"), ["plan-deployed"]), "plan-deployed", arn
    )
    assert row["status"] == expected, row["detail"]


def test_deployed_evidence_names_the_rule(estate, plan_policy, check, h):
    arn = estate.resource("vol-1", tags=h.GOLD)
    estate.deployed(GOLD_TAGS, DAILY_35, plan_id="gold")
    row = h.one(check(estate, plan_policy(), ["plan-deployed"]), "plan-deployed", arn)
    assert row["status"] == "PASS"
    assert (
        row["evidence"]["aws_rule"]
        == "AWS Backup plan 'gold' rule 'gold-rule0' (every 24h, keeps backups 35 days)"
    )


def test_deployed_weaker_rule_is_named_in_the_failure(estate, plan_policy, check, h):
    arn = estate.resource("vol-1", tags=h.GOLD)
    estate.deployed(
        GOLD_TAGS,
        [dict(schedule_expression="cron(0 3 ? * SUN *)", delete_after_days=120)],
        plan_id="weekly",
    )
    row = h.one(check(estate, plan_policy(), ["plan-deployed"]), "plan-deployed", arn)
    assert row["status"] == "FAIL"
    assert "'weekly'" in row["detail"] and "every 168h" in row["detail"]


@pytest.mark.parametrize(
    "engine, profile, expected",
    [
        # AWS Backup has backed up Aurora clusters since 2020 ("Feature availability by resource")
        ("aurora-mysql", "", "PASS"),
        ("aurora-mysql", "aws_backup_support_profile: guide\n", "FAIL"),  # the founding guide
        ("postgres", "", "PASS"),
    ],
)
def test_deployed_needs_a_supported_type(estate, policy, check, h, engine, profile, expected):
    arn = estate.resource("c1", rtype="rds-cluster", tags=h.GOLD, engine=engine)
    estate.deployed(GOLD_TAGS, DAILY_35)
    pol = policy(h.plan_text(accept="[aws-backup]") + profile)
    row = h.one(check(estate, pol, ["plan-deployed"]), "plan-deployed", arn)
    assert row["status"] == expected, row["detail"]


def test_deployed_needs_the_service_opted_in(estate, plan_policy, check, h):
    arn = estate.resource("vol-1", tags=h.GOLD)
    estate.deployed(GOLD_TAGS, DAILY_35)
    estate.add(
        "region_settings", account_id=h.ACCOUNT, region=h.REGION, service="EBS", opted_in=False
    )
    row = h.one(check(estate, plan_policy(), ["plan-deployed"]), "plan-deployed", arn)
    assert row["status"] == "FAIL" and "opted in" in row["detail"]


@pytest.mark.parametrize(
    "schedule, accept, expected",
    [
        (
            dict(
                native_schedule="rds-automated",
                native_frequency_hours=24.0,
                native_retention_days=35,
            ),
            "[aws-backup, native]",
            "PASS",
        ),
        (
            dict(
                native_schedule="rds-automated",
                native_frequency_hours=24.0,
                native_retention_days=35,
            ),
            "[native]",
            "PASS",
        ),
        (
            dict(
                native_schedule="rds-automated",
                native_frequency_hours=24.0,
                native_retention_days=35,
            ),
            "[aws-backup]",
            "FAIL",
        ),
        (
            dict(
                native_schedule="rds-automated",
                native_frequency_hours=24.0,
                native_retention_days=7,
            ),
            "[native]",
            "FAIL",
        ),
        (
            dict(
                native_schedule="weekly-dlm", native_frequency_hours=168.0, native_retention_days=90
            ),
            "[native]",
            "FAIL",
        ),
        (
            dict(
                native_schedule="dynamodb-pitr",
                native_frequency_hours=0.0833,
                native_retention_days=35,
            ),
            "[native]",
            "PASS",
        ),
        ({}, "[native]", "FAIL"),
    ],
)
def test_deployed_native_schedule(estate, plan_policy, check, h, schedule, accept, expected):
    arn = estate.resource("db-1", rtype="rds-instance", tags=h.GOLD, engine="postgres", **schedule)
    row = h.one(check(estate, plan_policy(accept=accept), ["plan-deployed"]), "plan-deployed", arn)
    assert row["status"] == expected, row["detail"]


def test_deployed_other_account_selection_does_not_count(estate, plan_policy, check, h):
    arn = estate.resource("vol-1", tags=h.GOLD)
    estate.deployed(GOLD_TAGS, DAILY_35, account=h.OTHER_ACCOUNT)
    assert (
        h.one(check(estate, plan_policy(), ["plan-deployed"]), "plan-deployed", arn)["status"]
        == "FAIL"
    )


def test_deployed_each_plan_judged_on_its_own(estate, policy, check, h):
    arn = estate.resource("vol-1", tags={"backup": "gold", "env": "prod"})
    estate.deployed(GOLD_TAGS, DAILY_35)
    text = h.plan_text("daily") + (
        "  - name: hourly\n    select: {conditions: {string_equals: {env: prod}}}\n"
        "    frequency: 1h\n    retention_days: 7\n"
    )
    findings = check(estate, policy(text), ["plan-deployed"])
    assert h.verdicts(findings, "plan-deployed") == {
        (arn, "daily"): "PASS",
        (arn, "hourly"): "FAIL",
    }


# --- service opt-in: tag and "*" assignments only (AWS Backup Developer Guide, "Working with
# supported services": a resource type assigned explicitly is backed up even if not opted in,
# except Aurora, Neptune and Amazon DocumentDB) --------------------------------------------------


@pytest.mark.parametrize(
    "rtype, engine, service, selection, expected",
    [
        ("efs-filesystem", None, "EFS", "named", "PASS"),
        ("efs-filesystem", None, "EFS", "type", "PASS"),  # every EFS file system, by ARN pattern
        ("efs-filesystem", None, "EFS", "tags", "FAIL"),
        ("efs-filesystem", None, "EFS", "star", "FAIL"),  # "*": all opted-in resources
        ("rds-cluster", "aurora-postgresql", "Aurora", "named", "FAIL"),  # Aurora: opt-in always
        ("ebs-volume", None, "EBS", "named", "PASS"),
    ],
)
def test_opt_in_limits_only_tag_and_star_assignments(
    estate, plan_policy, check, h, rtype, engine, service, selection, expected
):
    arn = estate.resource("r1", rtype=rtype, tags=h.GOLD, **({"engine": engine} if engine else {}))
    pattern = arn.rsplit("/", 1)[0] + "/*" if "/" in arn else arn.rsplit(":", 1)[0] + ":*"
    body = {
        "named": {"Resources": [arn]},
        "type": {"Resources": [pattern]},
        "tags": GOLD_TAGS,
        "star": {"Resources": ["*"]},
    }[selection]
    estate.deployed(body, DAILY_35)
    estate.add(
        "region_settings", account_id=h.ACCOUNT, region=h.REGION, service=service, opted_in=False
    )
    pol = plan_policy(accept="[aws-backup]")
    row = h.one(check(estate, pol, ["plan-deployed"]), "plan-deployed", arn)
    assert row["status"] == expected, row["detail"]


# --- rule semantics (AWS Backup API reference, "BackupRuleInput" and "Lifecycle") ------------------


@pytest.mark.parametrize(
    "rule, expected, text",
    [
        # no ScheduleExpression: AWS runs cron(0 5 ? * * *) (the API may omit it on read)
        (dict(delete_after_days=35), "PASS", "every 24h"),
        # no DeleteAfterDays, or -1: kept forever, which satisfies any minimum
        (dict(schedule_expression="cron(0 5 ? * * *)", delete_after_days=-1), "PASS", "forever"),
        (dict(schedule_expression="cron(0 5 ? * * *)"), "PASS", "forever"),
        # the cron's zone: 05:00 Berlin leaves a 25-hour gap at the autumn change
        (
            dict(
                schedule_expression="cron(0 5 ? * * *)",
                schedule_timezone="Europe/Berlin",
                delete_after_days=35,
            ),
            "FAIL",
            "every 25h Europe/Berlin",
        ),
        (
            dict(
                schedule_expression="cron(0 5 ? * * *)",
                schedule_timezone="Etc/UTC",
                delete_after_days=35,
            ),
            "PASS",
            "every 24h",
        ),
    ],
)
def test_rule_semantics(estate, plan_policy, check, h, rule, expected, text):
    arn = estate.resource("vol-1", tags=h.GOLD)
    estate.deployed(GOLD_TAGS, [rule], plan_id="p")
    row = h.one(check(estate, plan_policy(), ["plan-deployed"]), "plan-deployed", arn)
    assert row["status"] == expected, row["detail"]
    assert text in row["detail"]
