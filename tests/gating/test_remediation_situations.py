"""Per-situation remediation of plan-deployed, backup-encrypted and backup-supported: each names
the policy line, the AWS Backup selection or rule to deploy and the AWS CLI call for its case."""

from __future__ import annotations

import json
import re

from auditor.controls import check_inventory

GOLD_TAGS = {
    "ListOfTags": [
        {"ConditionType": "STRINGEQUALS", "ConditionKey": "backup", "ConditionValue": "gold"}
    ]
}
DAILY_35 = [{"schedule_expression": "cron(0 5 ? * * *)", "delete_after_days": 35}]
WEEKLY_35 = [{"schedule_expression": "cron(0 5 ? * 1 *)", "delete_after_days": 35}]
OTHER_TAGS = {
    "ListOfTags": [
        {"ConditionType": "STRINGEQUALS", "ConditionKey": "backup", "ConditionValue": "other"}
    ]
}


def _fix(estate, pol, h, control, arn):
    frame = check_inventory(estate.inventory(), pol, h.AS_OF, controls=[control]).frame
    row = frame[frame["resource_arn"] == arn].iloc[0]
    assert row["status"] == "FAIL", row["detail"]
    return row["remediation"]


def _json_after(text: str, flag: str) -> dict:
    """The JSON document given to `flag` in a command of `text` (single-quoted)."""
    match = re.search(re.escape(flag) + r" '([^']*)'", text)
    assert match, text
    return json.loads(match.group(1))


# --- plan-deployed ------------------------------------------------------------------------------


def test_deployed_nothing_in_the_region_creates_a_plan_and_a_selection(estate, policy, h):
    arn = estate.resource("vol-1", tags=h.GOLD)
    text = _fix(estate, policy(h.plan_text(accept="[aws-backup]")), h, "plan-deployed", arn)
    assert "aws backup create-backup-plan --region us-east-1 --backup-plan" in text
    plan = _json_after(text, "--backup-plan")
    rule = plan["Rules"][0]
    assert rule["ScheduleExpression"] == "cron(0 5 ? * * *)"  # daily meets 24h
    assert rule["Lifecycle"] == {"DeleteAfterDays": 35}
    assert "aws backup create-backup-selection --region us-east-1 --backup-plan-id PLAN_ID" in text
    selection = _json_after(text, "--backup-selection")
    # what the declared plan selects (tag backup=gold), with AWS Backup's default role
    assert selection["ListOfTags"] == GOLD_TAGS["ListOfTags"]
    assert selection["IamRoleArn"] == (
        f"arn:aws:iam::{h.ACCOUNT}:role/service-role/AWSBackupDefaultServiceRole"
    )


def test_deployed_adequate_plan_that_does_not_select_gets_a_selection(estate, policy, h):
    arn = estate.resource("vol-1", tags=h.GOLD)
    estate.deployed(OTHER_TAGS, DAILY_35, plan_id="daily-35")
    text = _fix(estate, policy(h.plan_text(accept="[aws-backup]")), h, "plan-deployed", arn)
    assert "AWS Backup plan 'daily-35' already has a rule that meets plan p" in text
    assert "create-backup-selection --region us-east-1 --backup-plan-id daily-35" in text
    assert "create-backup-plan" not in text


def test_deployed_weak_rule_is_updated(estate, policy, h):
    arn = estate.resource("vol-1", tags=h.GOLD)
    estate.deployed(GOLD_TAGS, WEEKLY_35, plan_id="weekly")
    text = _fix(estate, policy(h.plan_text(accept="[aws-backup]")), h, "plan-deployed", arn)
    assert "AWS Backup plan 'weekly' already selects it, but its rule 'weekly-rule0'" in text
    assert "aws backup get-backup-plan --region us-east-1 --backup-plan-id weekly" in text
    assert "aws backup update-backup-plan --region us-east-1 --backup-plan-id weekly" in text
    assert "DeleteAfterDays to at least 35" in text


def test_deployed_service_not_opted_in(estate, policy, h):
    arn = estate.resource("vol-1", tags=h.GOLD)
    estate.deployed(GOLD_TAGS, DAILY_35)
    estate.add(
        "region_settings", account_id=h.ACCOUNT, region=h.REGION, service="EBS", opted_in=False
    )
    text = _fix(estate, policy(h.plan_text(accept="[aws-backup]")), h, "plan-deployed", arn)
    assert "Opt EBS in to AWS Backup in us-east-1" in text
    assert (
        "aws backup update-region-settings --region us-east-1"
        " --resource-type-opt-in-preference '{\"EBS\":true}'"
    ) in text


def test_deployed_unsupported_type_names_the_policy_line(estate, policy, h):
    arn = estate.resource("c1", rtype="rds-cluster", tags=h.GOLD, engine="aurora-mysql")
    estate.deployed(GOLD_TAGS, DAILY_35)
    pol = policy(h.plan_text(accept="[aws-backup]") + "aws_backup_support_profile: guide\n")
    text = _fix(estate, pol, h, "plan-deployed", arn)
    assert "AWS Backup does not back up rds-cluster" in text
    assert "`accept: [aws-backup, native]`" in text


def test_deployed_native_only_plan_asks_for_a_native_schedule(estate, policy, h):
    arn = estate.resource("vol-1", tags=h.GOLD)
    text = _fix(estate, policy(h.plan_text(accept="[native]")), h, "plan-deployed", arn)
    assert "Plan p accepts only native backups" in text
    assert "at least every 24h keeping 35 days" in text


# --- backup-encrypted -----------------------------------------------------------------------------


def test_encrypted_ebs_copies_the_named_snapshot(estate, policy, h):
    arn = estate.resource("vol-1", tags=h.GOLD)
    estate.backup(arn, age_hours=2, encrypted=False)
    pol = policy(h.plan_text(accept="[aws-backup]", encrypted="true"))
    text = _fix(estate, pol, h, "backup-encrypted", arn)
    assert "EBS snapshots inherit the volume's encryption" in text
    assert "aws ec2 copy-snapshot --region us-east-1 --source-region us-east-1" in text
    assert "--source-snapshot-id rp-1 --encrypted --kms-key-id KEY" in text
    assert "aws ec2 enable-ebs-encryption-by-default --region us-east-1" in text
    assert "set `encrypted: false` in that plan" in text


def test_encrypted_rds_instance_restores_from_an_encrypted_copy(estate, policy, h):
    arn = estate.resource("db1", rtype="rds-instance", tags=h.GOLD)
    rp = estate.backup(arn, age_hours=2, encrypted=False)
    pol = policy(h.plan_text(accept="[aws-backup]", encrypted="true"))
    text = _fix(estate, pol, h, "backup-encrypted", arn)
    assert f"aws rds copy-db-snapshot --region us-east-1 --source-db-snapshot-identifier {rp}" in (
        text
    )
    assert "cannot be turned on in place" in text


# --- backup-supported -----------------------------------------------------------------------------


def test_supported_unsupported_type(estate, policy, h):
    arn = estate.resource("c1", rtype="rds-cluster", tags=h.GOLD, engine="aurora-mysql")
    pol = policy(h.plan_text(accept="[aws-backup]") + "aws_backup_support_profile: guide\n")
    text = _fix(estate, pol, h, "backup-supported", arn)
    assert "add native to plan p's `accept:` list" in text
    assert "`accept: [aws-backup, native]`" in text


def test_supported_plan_field_is_named(estate, policy, h):
    arn = estate.resource("db1", rtype="rds-instance", tags=h.GOLD)
    pol = policy(h.plan_text(accept="[aws-backup]", cold_after_days="30", retention_days="200"))
    text = _fix(estate, pol, h, "backup-supported", arn)
    assert "Plan p asks AWS Backup for what it does not offer for this type" in text
    assert "drop `cold_after_days` from the plan for this type" in text


def test_supported_deployed_rule_is_named(estate, policy, h):
    arn = estate.resource("db1", rtype="rds-instance", tags=h.GOLD)
    rules = [{**DAILY_35[0], "move_to_cold_after_days": 30, "delete_after_days": 200}]
    estate.deployed(GOLD_TAGS, rules, plan_id="cold")
    text = _fix(estate, policy(h.plan_text(accept="[aws-backup]")), h, "backup-supported", arn)
    assert "The AWS Backup rule that selects it (AWS Backup plan 'cold' rule 'cold-rule0'" in text
    assert "aws backup update-backup-plan --region us-east-1 --backup-plan-id cold" in text
    assert "NotResources" in text
    frame = check_inventory(
        estate.inventory(), policy(h.plan_text(accept="[aws-backup]")), h.AS_OF
    ).frame
    row = frame[(frame["control_id"] == "backup-supported") & (frame["resource_arn"] == arn)]
    assert row.iloc[0]["evidence"]["deployed_rule"].startswith("AWS Backup plan 'cold' rule")


def test_supported_deployed_rule_is_named_in_each_resources_own_region(estate, policy, h):
    # One plan deployed under one name in two regions (as a CloudFormation StackSet or Terraform
    # module does): each copy has its own BackupPlanId, unique per region (AWS Backup API
    # reference, CreateBackupPlan: BackupPlanId), and must be updated in its own region.
    rules = [
        {
            **DAILY_35[0],
            "rule_name": "daily",
            "move_to_cold_after_days": 30,
            "delete_after_days": 200,
        }
    ]
    arns = {}
    for region, plan_id in (("us-east-1", "id-east"), ("eu-west-1", "id-west")):
        estate.deployed(GOLD_TAGS, rules, plan_id=plan_id, region=region, name="gold")
        for n in range(3):  # several resources per region, in both orders of the ARNs
            arns[estate.resource(f"db{n}-{region}", "rds-instance", h.GOLD, region=region)] = (
                f"--region {region} --backup-plan-id {plan_id}"
            )
    pol = policy(h.plan_text(accept="[aws-backup]"))
    frame = check_inventory(estate.inventory(), pol, h.AS_OF, controls=["backup-supported"]).frame
    for arn, target in arns.items():
        row = frame[frame["resource_arn"] == arn].iloc[0]
        assert row["status"] == "FAIL", row["detail"]
        assert f"aws backup update-backup-plan {target}" in row["remediation"], arn
