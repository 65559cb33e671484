"""Verdicts of plan-check on the fixture templates of both kinds (DESIGN §5 controls)."""

from __future__ import annotations

import pytest

P, F, NA, NAP = "PASS", "FAIL", "NOT_ASSESSED", "NOT_APPLICABLE"

EXPECTED = {
    # everything gold asks for: tag selection, daily 35-day rule, copy to us-west-2, locked vault
    "cfn/covered.yaml": {
        ("DataVolume", "resource-covered", "gold"): P,
        ("DataVolume", "plan-deployed", "gold"): P,
        ("DataVolume", "backup-encrypted", "gold"): P,
        ("DataVolume", "backup-max-retention", "gold"): P,
        ("DataVolume", "cross-region-copy", "gold"): P,
        ("DataVolume", "vault-lock", "gold"): P,
        ("Orders", "resource-covered", "gold"): P,
        ("Orders", "plan-deployed", "gold"): P,
        ("Orders", "backup-encrypted", "gold"): P,
        ("Orders", "backup-max-retention", "gold"): P,
        ("Orders", "cross-region-copy", "gold"): P,
        ("Orders", "vault-lock", "gold"): P,
    },
    # no plan selects the team-tagged volume nor the EFS tagged "Gold" (case-sensitive, like AWS);
    # backup=none is out of scope; silver accepts native backups and RDS keeps 7 days
    "cfn/uncovered.yaml": {
        ("ScratchVolume", "resource-covered", None): F,
        ("TempVolume", "resource-covered", None): NAP,
        ("ReportsDb", "resource-covered", "silver"): P,
        ("ReportsDb", "plan-deployed", "silver"): P,
        ("SharedFs", "resource-covered", None): F,
    },
    # weekly schedule (gold needs daily), no copy, vault without lock, unencrypted volume (JSON template)
    "cfn/weak-schedule.json": {
        ("LogsVolume", "resource-covered", "gold"): P,
        ("LogsVolume", "plan-deployed", "gold"): F,
        ("LogsVolume", "backup-encrypted", "gold"): F,
        ("LogsVolume", "backup-max-retention", "gold"): P,
        ("LogsVolume", "cross-region-copy", "gold"): F,
        ("LogsVolume", "vault-lock", "gold"): F,
    },
    # 7-day retention (gold needs 35) and a rule kept forever (gold's max is 400); the selection
    # lists AppVolume by !GetAtt, so OtherVolume (also gold) is not selected
    "cfn/short-retention.yaml": {
        ("AppVolume", "resource-covered", "gold"): P,
        ("AppVolume", "plan-deployed", "gold"): F,
        ("AppVolume", "backup-encrypted", "gold"): P,
        ("AppVolume", "backup-max-retention", "gold"): F,
        ("AppVolume", "cross-region-copy", "gold"): P,
        ("AppVolume", "vault-lock", "gold"): NA,
        ("OtherVolume", "resource-covered", "gold"): P,
        ("OtherVolume", "backup-encrypted", "gold"): P,
        ("OtherVolume", "plan-deployed", "gold"): F,
    },
    # parameters without a value, Fn::ImportValue, a condition on a parameter
    "cfn/unknown.yaml": {
        ("TierVolume", "resource-covered", None): NA,
        ("GoldVolume", "resource-covered", "gold"): P,
        ("GoldVolume", "backup-encrypted", "gold"): NA,
        ("GoldVolume", "plan-deployed", "gold"): NA,
        ("GoldVolume", "backup-max-retention", "gold"): P,  # AllowedValues [35]: the only possible value
        ("GoldVolume", "cross-region-copy", "gold"): NA,
        ("GoldVolume", "vault-lock", "gold"): NA,
    },
    "tf/covered.json": {
        ("aws_ebs_volume.data", "resource-covered", "gold"): P,
        ("aws_ebs_volume.data", "plan-deployed", "gold"): P,
        ("aws_ebs_volume.data", "backup-encrypted", "gold"): P,
        ("aws_ebs_volume.data", "backup-max-retention", "gold"): P,
        ("aws_ebs_volume.data", "cross-region-copy", "gold"): P,  # to aws_backup_vault.dr via provider aws.dr
        ("aws_ebs_volume.data", "vault-lock", "gold"): P,  # aws_backup_vault_lock_configuration.main
        ("module.db.aws_db_instance.main", "resource-covered", "silver"): P,
        ("module.db.aws_db_instance.main", "plan-deployed", "silver"): P,
    },
    "tf/weak.json": {
        ("aws_ebs_volume.logs", "resource-covered", "gold"): P,
        ("aws_ebs_volume.logs", "plan-deployed", "gold"): F,  # rate(7 days), 7-day retention
        ("aws_ebs_volume.logs", "backup-encrypted", "gold"): NA,  # encrypted (known after apply)
        ("aws_ebs_volume.logs", "backup-max-retention", "gold"): P,
        ("aws_ebs_volume.logs", "cross-region-copy", "gold"): F,
        ("aws_ebs_volume.logs", "vault-lock", "gold"): F,
        ("aws_dynamodb_table.orders", "resource-covered", "gold"): P,
        ("aws_dynamodb_table.orders", "backup-encrypted", "gold"): P,
        ("aws_dynamodb_table.orders", "plan-deployed", "gold"): F,  # the selection lists only the volume
        ("aws_efs_file_system.shared", "resource-covered", None): NA,  # tags_all (known after apply)
        ("aws_storagegateway_cached_iscsi_volume.scratch", "resource-covered", None): F,
    },
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_fixture_verdicts(pc, name):
    assert pc.verdicts(pc.check(name)) == EXPECTED[name]


def test_unknown_values_are_never_pass(pc):
    result = pc.check("cfn/unknown.yaml", "tf/weak.json")
    for finding in result.findings:
        if finding["status"] == "NOT_ASSESSED":
            assert "unknown" in finding["detail"] or "known only" in finding["detail"] or "cannot be known" in finding["detail"]
            assert finding["detail"].strip()


def test_parameters_make_unknowns_known(pc):
    params = {"Tier": "gold", "Schedule": "rate(7 days)"}
    got = pc.verdicts(pc.check("cfn/unknown.yaml", parameters=params))
    assert got[("TierVolume", "resource-covered", "gold")] == P
    assert got[("GoldVolume", "backup-encrypted", "gold")] == P  # IsGold now true
    assert got[("GoldVolume", "plan-deployed", "gold")] == F  # weekly given: too rare
    assert got[("GoldVolume", "cross-region-copy", "gold")] == NA  # still an import


def test_templates_are_judged_together(pc, write):
    """A central backup stack selecting by tag covers the resources of an application stack."""
    app = write("app.yaml", """
Resources:
  Vol:
    Type: AWS::EC2::Volume
    Properties: {Size: 1, Encrypted: true, Tags: [{Key: backup, Value: silver}]}
""")
    backup = write("backup.yaml", """
Resources:
  Plan:
    Type: AWS::Backup::BackupPlan
    Properties:
      BackupPlan:
        BackupPlanName: central
        BackupPlanRule:
          - {RuleName: r, TargetBackupVault: v, ScheduleExpression: "cron(0 1 ? * * *)", Lifecycle: {DeleteAfterDays: 8}}
  Sel:
    Type: AWS::Backup::BackupSelection
    Properties:
      BackupPlanId: !Ref Plan
      BackupSelection:
        SelectionName: silver
        IamRoleArn: arn:aws:iam::111122223333:role/b
        ListOfTags: [{ConditionType: STRINGEQUALS, ConditionKey: backup, ConditionValue: silver}]
""")
    from auditor.plancheck import plan_check

    alone = pc.verdicts(plan_check(pc.POLICIES, [app], pc.AS_OF))
    assert alone[("Vol", "plan-deployed", "silver")] == NA  # no selection anywhere: maybe deployed elsewhere
    together = plan_check(pc.POLICIES, [app, backup], pc.AS_OF)
    assert pc.verdicts(together)[("Vol", "plan-deployed", "silver")] == P
    deployed = [f for f in together.findings if f["control_id"] == "plan-deployed"][0]
    assert deployed["file"] == str(backup) and deployed["line"] == 3  # points at the plan that does it


def test_cross_account_copy(pc, write):
    policies = write("pol/p.yaml", """
version: 1
plans:
  - name: vaulted
    select: {tags: {backup: gold}}
    frequency: 24h
    retention_days: 7
    copy_to: {regions: [us-west-2], accounts: ["444455556666", "999999999999"]}
""")
    from auditor.plancheck import plan_check

    got = plan_check(policies.parent, [pc.FIXTURES / "cfn/short-retention.yaml"], pc.AS_OF)
    by = {(f["resource"], f["control_id"]): f for f in got.findings}
    assert by[("AppVolume", "cross-region-copy")]["status"] == P
    failing = by[("AppVolume", "cross-account-copy")]
    assert failing["status"] == F and "999999999999" in failing["detail"] and "444455556666" not in failing["detail"].split("requires")[0]
    # a copy to the stack's own account (${AWS::AccountId}) never satisfies a cross-account copy
    got = plan_check(policies.parent, [pc.FIXTURES / "cfn/covered.yaml"], pc.AS_OF)
    assert {(f["resource"], f["control_id"]): f["status"] for f in got.findings}[("DataVolume", "cross-account-copy")] == F


def test_waiver_turns_fail_into_waived(pc, write):
    policy = write("pol/p.yaml", """
version: 1
plans:
  - name: gold
    select: {tags: {backup: gold}}
    frequency: 24h
    retention_days: 35
waivers:
  - resource: ScratchVolume
    controls: [resource-covered]
    reason: scratch data, rebuilt nightly
    owner: data@example.com
    expires: 2027-01-31
  - resource: SharedFs
    controls: [resource-covered]
    reason: expired
    expires: 2026-01-01
""")
    from auditor.plancheck import plan_check

    result = plan_check(policy.parent, [pc.FIXTURES / "cfn/uncovered.yaml"], pc.AS_OF)
    got = pc.verdicts(result)
    assert got[("ScratchVolume", "resource-covered", None)] == "WAIVED"
    assert got[("SharedFs", "resource-covered", None)] == F  # its waiver expired
    assert result.failed


def test_region_specific_selection_needs_the_deploy_region(pc, write):
    template = write("t.yaml", """
Resources:
  Vol:
    Type: AWS::EC2::Volume
    Properties: {Size: 1, Encrypted: true, Tags: [{Key: backup, Value: silver}]}
  Plan:
    Type: AWS::Backup::BackupPlan
    Properties:
      BackupPlan:
        BackupPlanName: p
        BackupPlanRule: [{RuleName: r, TargetBackupVault: v, ScheduleExpression: "rate(1 day)", Lifecycle: {DeleteAfterDays: 10}}]
  Sel:
    Type: AWS::Backup::BackupSelection
    Properties:
      BackupPlanId: !Ref Plan
      BackupSelection:
        SelectionName: east-volumes
        IamRoleArn: arn:aws:iam::111122223333:role/b
        Resources: ["arn:aws:ec2:us-east-1:*:volume/*"]
""")
    from auditor.plancheck import plan_check

    key = ("Vol", "plan-deployed", "silver")
    assert pc.verdicts(plan_check(pc.POLICIES, [template], pc.AS_OF))[key] == NA
    assert pc.verdicts(plan_check(pc.POLICIES, [template], pc.AS_OF, {"AWS::Region": "us-east-1"}))[key] == P
    assert pc.verdicts(plan_check(pc.POLICIES, [template], pc.AS_OF, {"AWS::Region": "eu-west-1"}))[key] == F


def test_aurora_relying_on_aws_backup_is_unsupported(pc, write):
    template = write("t.yaml", """
Resources:
  Cluster:
    Type: AWS::RDS::DBCluster
    Properties: {Engine: aurora-postgresql, StorageEncrypted: true, Tags: [{Key: backup, Value: gold}]}
""")
    from auditor.plancheck import plan_check

    got = pc.verdicts(plan_check(pc.POLICIES, [template], pc.AS_OF))
    assert got[("Cluster", "backup-supported", "gold")] == F  # gold accepts only aws-backup
    assert got[("Cluster", "plan-deployed", "gold")] == NA  # no selection anywhere in the templates
