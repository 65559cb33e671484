"""plan-check gives a verdict whenever every value a deploy-time tag could take leads to the same one.

A tag written as `env: !Ref Env` (CloudFormation) or marked unknown in `after_unknown` (Terraform)
has a value only once deployed. Selections that do not read that tag are unaffected by it; those
that do get NOT_ASSESSED only when the value really decides (AWS Backup selection semantics:
ListOfTags matches any entry, Conditions must all hold, a missing tag fails StringEquals and
satisfies StringNotEquals).
"""

from __future__ import annotations

import json

P, F, NA, NAP = "PASS", "FAIL", "NOT_ASSESSED", "NOT_APPLICABLE"


def test_cloudformation_unknown_tag_that_no_selection_reads(pc):
    got = pc.verdicts(pc.check("cfn/partly-known.yaml"))
    # env is unknown, but plan gold and the template selection read only backup=gold.
    assert got[("EnvVolume", "resource-covered", "gold")] == P
    assert got[("EnvVolume", "plan-deployed", "gold")] == P
    assert got[("EnvVolume", "backup-encrypted", "gold")] == P


def test_cloudformation_unknown_tag_that_decides(pc):
    got = pc.verdicts(pc.check("cfn/partly-known.yaml"))
    # backup=!Ref Tier could be none (excluded), gold, silver or anything else: the value decides.
    assert got[("TierVolume", "resource-covered", None)] == NA
    assert not any(k[0] == "TierVolume" and k[2] is not None for k in got)


def test_parameters_settle_the_unknown_tag(pc):
    got = pc.verdicts(pc.check("cfn/partly-known.yaml", parameters={"Env": "dev", "Tier": "none"}))
    assert got[("TierVolume", "resource-covered", None)] == NAP  # excluded by backup=none
    assert got[("EnvVolume", "resource-covered", "gold")] == P


def test_condition_on_the_unknown_tag_decides_only_when_it_can(pc, write):
    policy = write(
        "pol/p.yaml",
        """
version: 1
scope:
  exclude_tags: {backup: none}
plans:
  - name: prod
    select:
      tags: {backup: gold}
      conditions: {string_not_equals: {tier: scratch}}
    frequency: 24h
    retention_days: 35
  - name: anyenv
    select:
      tags: {backup: silver}
      conditions: {string_like: {env: "*"}}
    frequency: 24h
    retention_days: 7
""",
    )
    template = write(
        "t.yaml",
        """
Parameters: {Env: {Type: String}}
Resources:
  Decides:
    Type: AWS::EC2::Volume
    Properties: {Encrypted: true, Tags: [{Key: backup, Value: gold}, {Key: tier, Value: !Ref Env}]}
  Holds:
    Type: AWS::EC2::Volume
    Properties: {Encrypted: true, Tags: [{Key: backup, Value: silver}, {Key: env, Value: !Ref Env}]}
""",
    )
    from auditor.plancheck import plan_check

    got = pc.verdicts(plan_check(policy.parent, [template], pc.AS_OF))
    # tier could be "scratch" (not selected) or anything else (selected): unknown.
    assert got[("Decides", "resource-covered", "prod")] == NA
    # env is present (its key is written out), and every value matches "*": selected.
    assert got[("Holds", "resource-covered", "anyenv")] == P


def _plan(volume_after: dict, volume_unknown: dict) -> dict:
    def change(address, rtype, after, unknown):
        return {
            "address": address,
            "mode": "managed",
            "type": rtype,
            "name": address.rsplit(".", 1)[-1],
            "change": {
                "actions": ["create"],
                "before": None,
                "after": after,
                "after_unknown": unknown,
            },
        }

    resources = [
        ("aws_ebs_volume.data", "aws_ebs_volume", volume_after, volume_unknown),
        (
            "aws_backup_selection.gold",
            "aws_backup_selection",
            {
                "name": "gold",
                "iam_role_arn": "arn:aws:iam::111122223333:role/backup",
                "selection_tag": [{"type": "STRINGEQUALS", "key": "backup", "value": "gold"}],
            },
            {"id": True, "plan_id": True},
        ),
    ]
    return {
        "format_version": "1.2",
        "planned_values": {
            "root_module": {
                "resources": [
                    {
                        "address": a,
                        "mode": "managed",
                        "type": t,
                        "name": a.rsplit(".", 1)[-1],
                        "values": v,
                    }
                    for a, t, v, _ in resources
                ]
            }
        },
        "resource_changes": [change(*r) for r in resources],
        "configuration": {
            "provider_config": {
                "aws": {"name": "aws", "expressions": {"region": {"constant_value": "us-east-1"}}}
            },
            "root_module": {"resources": []},
        },
    }


def test_terraform_unknown_tag_value_that_no_selection_reads(pc, write):
    # after_unknown marks one tag value; Terraform leaves it out of `after` (format 1.2).
    doc = _plan(
        {"encrypted": True, "tags": {"backup": "gold"}, "tags_all": {"backup": "gold"}},
        {"arn": True, "tags": {"env": True}, "tags_all": {"env": True}},
    )
    path = write("plan.json", json.dumps(doc))
    from auditor.plancheck import plan_check

    got = pc.verdicts(plan_check(pc.POLICIES, [path], pc.AS_OF))
    assert got[("aws_ebs_volume.data", "resource-covered", "gold")] == P
    # The template selection reads backup=gold too: it certainly selects the volume (its plan is
    # not in the template, so whether the rule meets plan gold stays unknown).
    assert got[("aws_ebs_volume.data", "plan-deployed", "gold")] == NA
    finding = next(
        f
        for f in plan_check(pc.POLICIES, [path], pc.AS_OF).findings
        if f["control_id"] == "plan-deployed"
    )
    assert "selects it is unknown" not in finding["detail"]


def test_terraform_unknown_tag_value_that_decides(pc, write):
    doc = _plan(
        {"encrypted": True, "tags": {"team": "storage"}},
        {"arn": True, "tags": {"backup": True}, "tags_all": True},
    )
    path = write("plan.json", json.dumps(doc))
    from auditor.plancheck import plan_check

    got = pc.verdicts(plan_check(pc.POLICIES, [path], pc.AS_OF))
    assert got == {("aws_ebs_volume.data", "resource-covered", None): NA}


# --- rule semantics in templates (AWS Backup API reference: BackupRuleInput, Lifecycle) -----------

RULES = """
Resources:
  Vol:
    Type: AWS::EC2::Volume
    Properties: {{Encrypted: true, Tags: [{{Key: backup, Value: silver}}]}}
  Plan:
    Type: AWS::Backup::BackupPlan
    Properties:
      BackupPlan:
        BackupPlanName: p
        BackupPlanRule:
          - RuleName: r
            TargetBackupVault: v
{rule}
  Sel:
    Type: AWS::Backup::BackupSelection
    Properties:
      BackupPlanId: !Ref Plan
      BackupSelection:
        SelectionName: s
        IamRoleArn: arn:aws:iam::111122223333:role/backup
        Resources: [!Sub "arn:aws:ec2:${{AWS::Region}}:${{AWS::AccountId}}:volume/${{Vol}}"]
"""

DAILY_POLICY = """
version: 1
plans:
  - name: silver
    select: {tags: {backup: silver}}
    frequency: 24h
    retention_days: 7
    max_retention_days: 400
    accept: [aws-backup]
"""


def _rules(pc, write, rule: str) -> dict:
    from auditor.plancheck import plan_check

    policy = write("pol/p.yaml", DAILY_POLICY)
    template = write("t.yaml", RULES.format(rule=rule))
    return pc.verdicts(plan_check(policy.parent, [template], pc.AS_OF))


def test_rule_without_schedule_runs_daily_at_aws_default(pc, write):
    got = _rules(pc, write, "            Lifecycle: {DeleteAfterDays: 35}")
    assert got[("Vol", "plan-deployed", "silver")] == P  # cron(0 5 ? * * *) every 24 hours


def test_rule_time_zone_with_dst_leaves_a_25_hour_gap(pc, write):
    rule = (
        "            ScheduleExpression: cron(0 5 ? * * *)\n"
        "            ScheduleExpressionTimezone: Europe/Berlin\n"
        "            Lifecycle: {DeleteAfterDays: 35}"
    )
    assert _rules(pc, write, rule)[("Vol", "plan-deployed", "silver")] == F
    utc = rule.replace("Europe/Berlin", "Etc/UTC")
    assert _rules(pc, write, utc)[("Vol", "plan-deployed", "silver")] == P


def test_lifecycle_minus_one_keeps_forever(pc, write):
    rule = "            ScheduleExpression: cron(0 5 ? * * *)\n            Lifecycle: {DeleteAfterDays: -1}"
    got = _rules(pc, write, rule)
    assert got[("Vol", "plan-deployed", "silver")] == P  # forever satisfies any minimum
    assert got[("Vol", "backup-max-retention", "silver")] == F  # and exceeds any maximum
