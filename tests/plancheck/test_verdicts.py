"""Verdicts of plan-check on the fixture templates of both kinds."""

from __future__ import annotations

import json

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
        (
            "GoldVolume",
            "backup-max-retention",
            "gold",
        ): P,  # AllowedValues [35]: the only possible value
        ("GoldVolume", "cross-region-copy", "gold"): NA,
        ("GoldVolume", "vault-lock", "gold"): NA,
    },
    "tf/covered.json": {
        ("aws_ebs_volume.data", "resource-covered", "gold"): P,
        ("aws_ebs_volume.data", "plan-deployed", "gold"): P,
        ("aws_ebs_volume.data", "backup-encrypted", "gold"): P,
        ("aws_ebs_volume.data", "backup-max-retention", "gold"): P,
        (
            "aws_ebs_volume.data",
            "cross-region-copy",
            "gold",
        ): P,  # to aws_backup_vault.dr via provider aws.dr
        (
            "aws_ebs_volume.data",
            "vault-lock",
            "gold",
        ): P,  # aws_backup_vault_lock_configuration.main
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
        (
            "aws_dynamodb_table.orders",
            "plan-deployed",
            "gold",
        ): F,  # the selection lists only the volume
        # tags_all is known only after apply, but the resource's own tag backup=gold wins over any
        # default tag, so plan gold certainly selects it; no selection in the plan names it.
        ("aws_efs_file_system.shared", "resource-covered", "gold"): P,
        ("aws_efs_file_system.shared", "backup-encrypted", "gold"): P,
        ("aws_efs_file_system.shared", "plan-deployed", "gold"): F,
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
            assert (
                "unknown" in finding["detail"]
                or "known only" in finding["detail"]
                or "cannot be known" in finding["detail"]
            )
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
    app = write(
        "app.yaml",
        """
Resources:
  Vol:
    Type: AWS::EC2::Volume
    Properties: {Size: 1, Encrypted: true, Tags: [{Key: backup, Value: silver}]}
""",
    )
    backup = write(
        "backup.yaml",
        """
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
""",
    )
    from auditor.plancheck import plan_check

    alone = pc.verdicts(plan_check(pc.POLICIES, [app], pc.AS_OF))
    assert (
        alone[("Vol", "plan-deployed", "silver")] == NA
    )  # no selection anywhere: maybe deployed elsewhere
    together = plan_check(pc.POLICIES, [app, backup], pc.AS_OF)
    assert pc.verdicts(together)[("Vol", "plan-deployed", "silver")] == P
    deployed = next(f for f in together.findings if f["control_id"] == "plan-deployed")
    assert (
        deployed["file"] == str(backup) and deployed["line"] == 3
    )  # points at the plan that does it


def test_cross_account_copy(pc, write):
    policies = write(
        "pol/p.yaml",
        """
version: 1
plans:
  - name: vaulted
    select: {tags: {backup: gold}}
    frequency: 24h
    retention_days: 7
    copy_to: {regions: [us-west-2], accounts: ["444455556666", "999999999999"]}
""",
    )
    from auditor.plancheck import plan_check

    got = plan_check(policies.parent, [pc.FIXTURES / "cfn/short-retention.yaml"], pc.AS_OF)
    by = {(f["resource"], f["control_id"]): f for f in got.findings}
    assert by[("AppVolume", "cross-region-copy")]["status"] == P
    failing = by[("AppVolume", "cross-account-copy")]
    assert (
        failing["status"] == F
        and "999999999999" in failing["detail"]
        and "444455556666" not in failing["detail"].split("requires")[0]
    )
    # a copy to the stack's own account (${AWS::AccountId}) never satisfies a cross-account copy
    got = plan_check(policies.parent, [pc.FIXTURES / "cfn/covered.yaml"], pc.AS_OF)
    assert {(f["resource"], f["control_id"]): f["status"] for f in got.findings}[
        ("DataVolume", "cross-account-copy")
    ] == F


def test_waiver_turns_fail_into_waived(pc, write):
    policy = write(
        "pol/p.yaml",
        """
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
""",
    )
    from auditor.plancheck import plan_check

    result = plan_check(policy.parent, [pc.FIXTURES / "cfn/uncovered.yaml"], pc.AS_OF)
    got = pc.verdicts(result)
    assert got[("ScratchVolume", "resource-covered", None)] == "WAIVED"
    assert got[("SharedFs", "resource-covered", None)] == F  # its waiver expired
    assert result.failed


def test_region_specific_selection_needs_the_deploy_region(pc, write):
    template = write(
        "t.yaml",
        """
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
""",
    )
    from auditor.plancheck import plan_check

    key = ("Vol", "plan-deployed", "silver")
    assert pc.verdicts(plan_check(pc.POLICIES, [template], pc.AS_OF))[key] == NA
    assert (
        pc.verdicts(plan_check(pc.POLICIES, [template], pc.AS_OF, {"AWS::Region": "us-east-1"}))[
            key
        ]
        == P
    )
    assert (
        pc.verdicts(plan_check(pc.POLICIES, [template], pc.AS_OF, {"AWS::Region": "eu-west-1"}))[
            key
        ]
        == F
    )


def test_aurora_support_follows_the_profile(pc, write):
    # AWS Backup has backed up Aurora clusters since 2020 (AWS Backup Developer Guide, "Feature
    # availability by resource"); the founding guide's profile says it does not.
    template = write(
        "t.yaml",
        """
Resources:
  Cluster:
    Type: AWS::RDS::DBCluster
    Properties: {Engine: aurora-postgresql, StorageEncrypted: true, Tags: [{Key: backup, Value: gold}]}
""",
    )
    from auditor.plancheck import plan_check

    got = pc.verdicts(plan_check(pc.POLICIES, [template], pc.AS_OF))
    assert ("Cluster", "backup-supported", "gold") not in got  # nothing the plan asks is lacking
    assert got[("Cluster", "plan-deployed", "gold")] == NA  # no selection anywhere in the templates

    guide = write(
        "guide/p.yaml",
        (pc.POLICIES / "backup.yaml").read_text() + "aws_backup_support_profile: guide\n",
    )
    got = pc.verdicts(plan_check(guide.parent, [template], pc.AS_OF))
    assert got[("Cluster", "backup-supported", "gold")] == F  # gold accepts only aws-backup


def test_features_the_type_lacks_fail(pc, write):
    # AWS Backup moves no RDS backup to cold storage (it ignores the setting: API reference,
    # "Lifecycle"), and DynamoDB's cold storage needs its advanced features, unknown before deployment.
    policy = write(
        "pol/p.yaml",
        """
version: 1
plans:
  - name: archive
    select: {tags: {backup: archive}}
    frequency: 24h
    retention_days: 365
    cold_after_days: 30
    accept: [aws-backup]
""",
    )
    template = write(
        "t.yaml",
        """
Resources:
  Db:
    Type: AWS::RDS::DBInstance
    Properties: {Engine: postgres, StorageEncrypted: true, Tags: [{Key: backup, Value: archive}]}
  Fs:
    Type: AWS::EFS::FileSystem
    Properties: {Encrypted: true, FileSystemTags: [{Key: backup, Value: archive}]}
  Table:
    Type: AWS::DynamoDB::Table
    Properties:
      KeySchema: [{AttributeName: id, KeyType: HASH}]
      AttributeDefinitions: [{AttributeName: id, AttributeType: S}]
      Tags: [{Key: backup, Value: archive}]
""",
    )
    from auditor.plancheck import plan_check

    result = plan_check(policy.parent, [template], pc.AS_OF)
    got = pc.verdicts(result)
    assert got[("Db", "backup-supported", "archive")] == F
    assert ("Fs", "backup-supported", "archive") not in got  # EFS backups can go cold
    assert got[("Table", "backup-supported", "archive")] == NA
    detail = next(
        f["detail"]
        for f in result.findings
        if f["resource"] == "Db" and f["control_id"] == "backup-supported"
    )
    assert "cold_after_days" in detail and "cold storage" in detail


def _tf_plan(resources, config_resources, providers=None):
    """A small `terraform show -json` document: resources = [(address, type, after, after_unknown, actions)]."""
    planned, changes = [], []
    for address, rtype, after, unknown, actions in resources:
        name = address.rsplit(".", 1)[-1]
        planned.append(
            {"address": address, "mode": "managed", "type": rtype, "name": name, "values": after}
        )
        changes.append(
            {
                "address": address,
                "mode": "managed",
                "type": rtype,
                "name": name,
                "change": {
                    "actions": actions,
                    "before": None,
                    "after": after,
                    "after_unknown": unknown,
                },
            }
        )
    return {
        "format_version": "1.2",
        "planned_values": {"root_module": {"resources": planned}},
        "resource_changes": changes,
        "configuration": {
            "provider_config": providers
            or {"aws": {"name": "aws", "expressions": {"region": {"constant_value": "us-east-1"}}}},
            "root_module": {"resources": config_resources},
        },
    }


_RULE = {
    "rule_name": "daily",
    "schedule": "cron(0 5 * * ? *)",
    "target_vault_name": "v",
    "lifecycle": [{"delete_after": 10}],
    "copy_action": [],
}


def test_terraform_existing_resources_and_literal_arns(pc, write):
    """An existing volume (no-op, ARN known) is selected by its literal ARN; a new one is not."""
    arn = "arn:aws:ec2:us-east-1:111122223333:volume/vol-0abc"
    doc = _tf_plan(
        [
            (
                "aws_ebs_volume.old",
                "aws_ebs_volume",
                {
                    "arn": arn,
                    "encrypted": True,
                    "tags": {"backup": "silver"},
                    "tags_all": {"backup": "silver"},
                },
                {},
                ["no-op"],
            ),
            (
                "aws_ebs_volume.new",
                "aws_ebs_volume",
                {"encrypted": True, "tags": {"backup": "silver"}, "tags_all": {"backup": "silver"}},
                {"arn": True},
                ["create"],
            ),
            (
                "aws_backup_plan.p",
                "aws_backup_plan",
                {"name": "p", "rule": [_RULE]},
                {"id": True},
                ["no-op"],
            ),
            (
                "aws_backup_selection.s",
                "aws_backup_selection",
                {
                    "name": "s",
                    "plan_id": "plan-123",
                    "resources": [arn, "arn:aws:ec2:*:*:volume/vol-9*"],
                },
                {"id": True},
                ["create"],
            ),
        ],
        [
            {
                "address": "aws_backup_selection.s",
                "type": "aws_backup_selection",
                "expressions": {
                    "plan_id": {"references": ["aws_backup_plan.p.id", "aws_backup_plan.p"]}
                },
            }
        ],
    )
    path = write("plan.json", json.dumps(doc, indent=2))
    from auditor.plancheck import plan_check

    got = pc.verdicts(plan_check(pc.POLICIES, [path], pc.AS_OF))
    assert got[("aws_ebs_volume.old", "plan-deployed", "silver")] == P
    assert got[("aws_ebs_volume.new", "plan-deployed", "silver")] == F


def test_terraform_partly_unknown_resources(pc, write):
    """resources = [aws_ebs_volume.a.arn, module.x.arn]: `a` is selected, `b` may be (module output)."""
    vol = {"encrypted": True, "tags": {"backup": "silver"}, "tags_all": {"backup": "silver"}}
    doc = _tf_plan(
        [
            ("aws_ebs_volume.a", "aws_ebs_volume", vol, {"arn": True}, ["create"]),
            ("aws_ebs_volume.b", "aws_ebs_volume", vol, {"arn": True}, ["create"]),
            (
                "aws_backup_plan.p",
                "aws_backup_plan",
                {"name": "p", "rule": [_RULE]},
                {"id": True},
                ["create"],
            ),
            (
                "aws_backup_selection.s",
                "aws_backup_selection",
                {"name": "s", "resources": [None, None]},
                {"id": True, "plan_id": True, "resources": [True, True]},
                ["create"],
            ),
        ],
        [
            {
                "address": "aws_backup_selection.s",
                "type": "aws_backup_selection",
                "expressions": {
                    "plan_id": {"references": ["aws_backup_plan.p.id", "aws_backup_plan.p"]},
                    "resources": {
                        "references": [
                            "aws_ebs_volume.a.arn",
                            "aws_ebs_volume.a",
                            "module.x.arn",
                            "module.x",
                        ]
                    },
                },
            }
        ],
    )
    path = write("plan.json", json.dumps(doc, indent=2))
    from auditor.plancheck import plan_check

    got = pc.verdicts(plan_check(pc.POLICIES, [path], pc.AS_OF))
    assert got[("aws_ebs_volume.a", "plan-deployed", "silver")] == P
    assert got[("aws_ebs_volume.b", "plan-deployed", "silver")] == NA


def test_json_template_unknown_intrinsic_line(write):
    from auditor.errors import InputError
    from auditor.plancheck import load_template

    path = write(
        "t.json",
        '{\n  "Resources": {\n    "V": {\n      "Type": "AWS::EC2::Volume",\n'
        '      "Properties": {"Size": {"Fn::Nope": 1}}\n    }\n  }\n}\n',
    )
    with pytest.raises(InputError, match=r"t\.json:5: unknown intrinsic function Fn::Nope"):
        load_template(path)
