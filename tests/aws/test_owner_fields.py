"""Fields a backup auditor uses to find who answers for a resource or a recovery point.

- An EBS volume's attachments (EC2 API reference, "Volume": `Attachments`, a list of
  `VolumeAttachment` with `InstanceId`): an unattached volume has no instance whose owner answers
  for it.
- An AWS Backup rule's `RecoveryPointTags` (AWS Backup API reference, "BackupRule"): the tags AWS
  Backup puts on every recovery point the rule creates.
"""

from __future__ import annotations

import json

import boto3

R = "us-east-1"


def test_volume_attachments_are_collected(aws, collect):
    ec2 = boto3.client("ec2", R)
    image = ec2.describe_images(Owners=["amazon"])["Images"]
    instance = ec2.run_instances(
        ImageId=image[0]["ImageId"] if image else "ami-12345678", MinCount=1, MaxCount=1
    )["Instances"][0]["InstanceId"]
    attached = ec2.create_volume(Size=8, AvailabilityZone=f"{R}a")["VolumeId"]
    loose = ec2.create_volume(Size=8, AvailabilityZone=f"{R}a")["VolumeId"]
    ec2.attach_volume(VolumeId=attached, InstanceId=instance, Device="/dev/sdf")
    inv = collect(regions=[R])
    res = inv.resources.set_index("resource_id")
    assert json.loads(res.loc[attached, "attached_to"]) == [instance]
    assert json.loads(res.loc[loose, "attached_to"]) == []


def test_rule_recovery_point_tags_are_collected(aws, collect):
    bk = boto3.client("backup", R)
    bk.create_backup_vault(BackupVaultName="v")
    bk.create_backup_plan(
        BackupPlan={
            "BackupPlanName": "p",
            "Rules": [
                {
                    "RuleName": "tagged",
                    "TargetBackupVaultName": "v",
                    "ScheduleExpression": "cron(0 5 ? * * *)",
                    "RecoveryPointTags": {"owner": "storage-team", "cost-center": "42"},
                },
                {"RuleName": "plain", "TargetBackupVaultName": "v"},
            ],
        }
    )
    inv = collect(regions=[R])
    rules = inv.tables["backup_rules"].set_index("rule_name")
    assert json.loads(rules.loc["tagged", "recovery_point_tags"]) == {
        "owner": "storage-team",
        "cost-center": "42",
    }
    assert json.loads(rules.loc["plain", "recovery_point_tags"]) == {}
