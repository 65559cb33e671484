"""plan-check for S3 buckets (versioning is AWS Backup's prerequisite), EC2 instances, and DLM
policies as the native schedule of the volumes and instances they target."""

from __future__ import annotations

import json

P, F, NA = "PASS", "FAIL", "NOT_ASSESSED"

POLICY = """
version: 1
scope:
  resource_types: [ebs-volume, ec2-instance, s3-bucket]
plans:
  - name: gold
    select:
      tags: {backup: gold}
    frequency: 24h
    retention_days: 7
    accept: [aws-backup]
  - name: native
    select:
      tags: {backup: native}
    frequency: 24h
    retention_days: 7
    accept: [native]
"""

SELECT_GOLD = """
  Plan:
    Type: AWS::Backup::BackupPlan
    Properties:
      BackupPlan:
        BackupPlanName: gold
        BackupPlanRule:
          - RuleName: daily
            TargetBackupVault: gold
            ScheduleExpression: cron(0 5 ? * * *)
            Lifecycle: {DeleteAfterDays: 35}
  Selection:
    Type: AWS::Backup::BackupSelection
    Properties:
      BackupPlanId: !Ref Plan
      BackupSelection:
        SelectionName: by-tag
        IamRoleArn: arn:aws:iam::111122223333:role/backup
        ListOfTags:
          - {ConditionType: STRINGEQUALS, ConditionKey: backup, ConditionValue: gold}
"""


def _check(write, template: str):
    from datetime import UTC, datetime

    from auditor.plancheck import plan_check

    policies = write("policies/p.yaml", POLICY).parent
    path = write("t.yaml", template)
    result = plan_check(policies, [path], datetime(2026, 11, 26, tzinfo=UTC), None)
    return {(f["resource"], f["control_id"], f["plan"]): f["status"] for f in result.findings}


def test_a_bucket_without_versioning_cannot_be_backed_up(write):
    got = _check(
        write,
        """
Resources:
  Versioned:
    Type: AWS::S3::Bucket
    Properties:
      VersioningConfiguration: {Status: Enabled}
      Tags: [{Key: backup, Value: gold}]
  Unversioned:
    Type: AWS::S3::Bucket
    Properties:
      Tags: [{Key: backup, Value: gold}]
"""
        + SELECT_GOLD,
    )
    assert got[("Versioned", "plan-deployed", "gold")] == P
    assert got[("Unversioned", "backup-supported", "gold")] == F
    assert got[("Unversioned", "plan-deployed", "gold")] == F


def test_an_instance_is_covered_like_any_type(write):
    got = _check(
        write,
        """
Resources:
  App:
    Type: AWS::EC2::Instance
    Properties:
      ImageId: ami-12345678
      Tags: [{Key: backup, Value: gold}]
"""
        + SELECT_GOLD,
    )
    assert got[("App", "resource-covered", "gold")] == P
    assert got[("App", "plan-deployed", "gold")] == P


def test_dlm_policy_is_the_native_schedule_of_what_it_targets(write):
    got = _check(
        write,
        """
Resources:
  Targeted:
    Type: AWS::EC2::Volume
    Properties:
      Size: 10
      Encrypted: true
      Tags: [{Key: backup, Value: native}, {Key: snapshot, Value: daily}]
  Untargeted:
    Type: AWS::EC2::Volume
    Properties:
      Size: 10
      Encrypted: true
      Tags: [{Key: backup, Value: native}]
  App:
    Type: AWS::EC2::Instance
    Properties:
      ImageId: ami-12345678
      Tags: [{Key: backup, Value: native}, {Key: snapshot, Value: daily}]
  Daily:
    Type: AWS::DLM::LifecyclePolicy
    Properties:
      Description: daily snapshots
      State: ENABLED
      ExecutionRoleArn: arn:aws:iam::111122223333:role/AWSDataLifecycleManagerDefaultRole
      PolicyDetails:
        PolicyType: EBS_SNAPSHOT_MANAGEMENT
        ResourceTypes: [VOLUME]
        TargetTags: [{Key: snapshot, Value: daily}]
        Schedules:
          - Name: daily
            CreateRule: {Interval: 24, IntervalUnit: HOURS, Times: ["03:00"]}
            RetainRule: {Count: 7}
  Weekly:
    Type: AWS::DLM::LifecyclePolicy
    Properties:
      Description: weekly AMIs
      State: ENABLED
      ExecutionRoleArn: arn:aws:iam::111122223333:role/AWSDataLifecycleManagerDefaultRole
      PolicyDetails:
        PolicyType: IMAGE_MANAGEMENT
        ResourceTypes: [INSTANCE]
        TargetTags: [{Key: snapshot, Value: daily}]
        Schedules:
          - Name: weekly
            CreateRule: {CronExpression: "cron(0 3 ? * SUN *)"}
            RetainRule: {Count: 4}
""",
    )
    assert got[("Targeted", "plan-deployed", "native")] == P
    assert got[("Untargeted", "plan-deployed", "native")] != P
    # weekly AMIs do not meet a daily plan
    assert got[("App", "plan-deployed", "native")] == F


def test_terraform_bucket_versioning_resource_and_dlm_policy(write):
    from datetime import UTC, datetime

    from auditor.plancheck import plan_check

    def res(address, rtype, values, config=None):
        return {
            "address": address,
            "mode": "managed",
            "type": rtype,
            "name": address.split(".")[1],
            "values": values,
            "_config": config or {},
        }

    resources = [
        res(
            "aws_s3_bucket.logs",
            "aws_s3_bucket",
            {"bucket": "logs-bucket", "tags_all": {"backup": "native"}},
        ),
        res(
            "aws_s3_bucket.data",
            "aws_s3_bucket",
            {"bucket": "data-bucket", "tags_all": {"backup": "gold"}},
        ),
        res(
            "aws_s3_bucket_versioning.data",
            "aws_s3_bucket_versioning",
            {"bucket": "data-bucket", "versioning_configuration": [{"status": "Suspended"}]},
        ),
        res(
            "aws_ebs_volume.v",
            "aws_ebs_volume",
            {"encrypted": True, "size": 10, "tags_all": {"backup": "native", "snap": "yes"}},
        ),
        res(
            "aws_dlm_lifecycle_policy.p",
            "aws_dlm_lifecycle_policy",
            {
                "state": "ENABLED",
                "policy_details": [
                    {
                        "resource_types": ["VOLUME"],
                        "target_tags": {"snap": "yes"},
                        "schedule": [
                            {
                                "create_rule": [{"interval": 12, "interval_unit": "HOURS"}],
                                "retain_rule": [{"count": 14}],
                            }
                        ],
                    }
                ],
            },
        ),
    ]
    plan = {
        "format_version": "1.2",
        "planned_values": {
            "root_module": {
                "resources": [{k: v for k, v in r.items() if k != "_config"} for r in resources]
            }
        },
        "resource_changes": [],
        "configuration": {"root_module": {"resources": []}},
    }
    policies = write("policies/p.yaml", POLICY).parent
    path = write("plan.json", json.dumps(plan))
    result = plan_check(policies, [path], datetime(2026, 11, 26, tzinfo=UTC), None)
    got = {(f["resource"], f["control_id"], f["plan"]): f["status"] for f in result.findings}
    assert got[("aws_s3_bucket.data", "backup-supported", "gold")] == F  # versioning suspended
    assert got[("aws_ebs_volume.v", "plan-deployed", "native")] == P  # DLM every 12 h, kept 7 days
