"""deletion-protected and snapshot-not-public, end to end through the AWS APIs on the emulator.

The estate is built with plain boto3 calls (moto in-process plus the sandbox): vault access
policies with PutBackupVaultAccessPolicy, vault locks with PutBackupVaultLockConfiguration,
public sharing with ModifySnapshotAttribute (createVolumePermission `all`), ModifyImageAttribute
(LaunchPermission `all`) and ModifyDBSnapshotAttribute (`restore` `all`), as AWS documents them.
Then it is collected (collect_inventory) and checked; a denied call makes exactly the verdicts that
depend on it NOT_ASSESSED.
"""

from __future__ import annotations

import json
import textwrap
from datetime import UTC, datetime, timedelta

import boto3
import pytest
from botocore.awsrequest import AWSResponse
from moto import mock_aws

import auditor.sandbox
from auditor.aws import CollectOptions, collect_inventory
from auditor.controls import check_inventory
from auditor.policy import load_policies

ACCOUNT = "123456789012"
REGION = "us-east-1"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/service-role/AWSBackupDefaultServiceRole"
DENY_DELETE = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Sid": "NoDeletes",
            "Effect": "Deny",
            "Principal": {"AWS": "*"},
            "Action": ["backup:DeleteRecoveryPoint", "backup:UpdateRecoveryPointLifecycle"],
            "Resource": "*",
        }
    ],
}
ONLY_FROM_VPN = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Deny",
            "Principal": "*",
            "Action": "backup:DeleteRecoveryPoint",
            "Resource": "*",
            "Condition": {"NotIpAddress": {"aws:SourceIp": "10.0.0.0/8"}},
        }
    ],
}
POLICY = """
version: 1
scope: {resource_types: [ebs-volume, rds-instance, dynamodb-table]}
plans:
  - name: p
    select: {tags: {backup: gold}}
    frequency: 24h
    grace: 2h
    retention_days: 7
    accept: [aws-backup, native]
    deletion_protected: true
  - name: relaxed
    select: {tags: {backup: silver}}
    frequency: 24h
    grace: 2h
    retention_days: 7
"""


@pytest.fixture(autouse=True)
def _aws_env(monkeypatch):
    for key, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": REGION,
    }.items():
        monkeypatch.setenv(key, value)
    for key in ("AWS_ENDPOINT_URL", "AWS_PROFILE"):
        monkeypatch.delenv(key, raising=False)


class Denier:
    """A session factory whose sessions answer chosen operations with AccessDenied (HTTP 403)."""

    def __init__(self, *operations: str) -> None:
        self.operations = set(operations)

    def _handler(self, model, **_):
        if model.name not in self.operations:
            return None
        return AWSResponse("https://denied.invalid", 403, {}, None), {
            "Error": {"Code": "AccessDenied", "Message": f"not authorized: {model.name}"},
            "ResponseMetadata": {"HTTPStatusCode": 403},
        }

    def __call__(self, **kwargs):
        session = boto3.Session(**kwargs)
        session.events.register("before-call", self._handler)
        return session


def _volume(ec2, name: str, tier: str) -> str:
    tags = [{"Key": "Name", "Value": name}, {"Key": "backup", "Value": tier}]
    return ec2.create_volume(
        AvailabilityZone=f"{REGION}a",
        Size=8,
        TagSpecifications=[{"ResourceType": "volume", "Tags": tags}],
    )["VolumeId"]


def _arn(vid: str) -> str:
    return f"arn:aws:ec2:{REGION}:{ACCOUNT}:volume/{vid}"


@pytest.fixture(scope="module")
def estate():
    """Build the estate once; yields (arns, as_of, collect(session_factory) -> findings)."""
    auditor.sandbox.install()
    with mock_aws():
        ec2 = boto3.client("ec2", REGION)
        backup = boto3.client("backup", REGION)
        rds = boto3.client("rds", REGION)
        arns: dict[str, str] = {}
        vaults = {
            "denied": DENY_DELETE,
            "open": None,
            "vpn-only": ONLY_FROM_VPN,
            "compliance": None,
            "governance": None,
        }
        for vault, document in vaults.items():
            backup.create_backup_vault(BackupVaultName=vault)
            if document:
                backup.put_backup_vault_access_policy(
                    BackupVaultName=vault, Policy=json.dumps(document)
                )
        backup.put_backup_vault_lock_configuration(
            BackupVaultName="compliance", MinRetentionDays=1, ChangeableForDays=3
        )
        backup.put_backup_vault_lock_configuration(BackupVaultName="governance", MinRetentionDays=1)
        from moto.backup.models import backup_backends

        as_of = datetime.now(UTC).replace(microsecond=0) + timedelta(days=5)
        # The compliance lock's cooling-off ended before as_of (moto keeps epoch seconds).
        lock = backup_backends[ACCOUNT][REGION].vaults["compliance"]
        lock.lock_date = (as_of - timedelta(days=1)).timestamp()
        for vault in vaults:
            vid = _volume(ec2, f"in-{vault}", "gold")
            arns[f"in-{vault}"] = _arn(vid)
            backup.start_backup_job(BackupVaultName=vault, ResourceArn=_arn(vid), IamRoleArn=ROLE)
        # Public and private EBS snapshots, and a public AMI.
        for name, public in (("snap-public", True), ("snap-private", False)):
            vid = _volume(ec2, name, "silver")
            arns[name] = _arn(vid)
            sid = ec2.create_snapshot(VolumeId=vid)["SnapshotId"]
            arns[f"{name}-id"] = sid
            if public:
                ec2.modify_snapshot_attribute(
                    SnapshotId=sid,
                    Attribute="createVolumePermission",
                    OperationType="add",
                    GroupNames=["all"],
                )
        # RDS: one manual snapshot shared with everyone, one shared with one account only.
        for name, values in (("db-public", ["all"]), ("db-shared", ["210987654321"])):
            rds.create_db_instance(
                DBInstanceIdentifier=name,
                DBInstanceClass="db.t3.micro",
                Engine="postgres",
                MasterUsername="admin",
                MasterUserPassword="password-123",
                AllocatedStorage=20,
                Tags=[{"Key": "backup", "Value": "silver"}],
            )
            arns[name] = f"arn:aws:rds:{REGION}:{ACCOUNT}:db:{name}"
            rds.create_db_snapshot(DBSnapshotIdentifier=f"{name}-snap", DBInstanceIdentifier=name)
            rds.modify_db_snapshot_attribute(
                DBSnapshotIdentifier=f"{name}-snap", AttributeName="restore", ValuesToAdd=values
            )
        boto3.client("dynamodb", REGION).create_table(
            TableName="t",
            KeySchema=[{"AttributeName": "k", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "k", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )

        def run(tmp_path, session_factory=None):
            inventory = collect_inventory(
                CollectOptions(regions=[REGION], as_of=as_of, session_factory=session_factory)
            )
            path = tmp_path / "policy.yaml"
            path.write_text(textwrap.dedent(POLICY))
            findings = check_inventory(inventory, load_policies(path), as_of)
            frame = findings.frame
            return inventory, {
                (c, a, p): (s, d, r)
                for c, a, p, s, d, r in zip(
                    frame["control_id"],
                    frame["resource_arn"],
                    frame["plan"],
                    frame["status"],
                    frame["detail"],
                    frame["remediation"],
                )
            }

        yield arns, run


@pytest.fixture(scope="module")
def checked(estate, tmp_path_factory):
    arns, run = estate
    return arns, run(tmp_path_factory.mktemp("all"))[1]


@pytest.mark.parametrize(
    "resource, expected, says",
    [
        (
            "in-denied",
            "PASS",
            "(statement 'NoDeletes') denies backup:DeleteRecoveryPoint to everyone",
        ),
        ("in-compliance", "PASS", "compliance-mode vault lock in force"),
        ("in-open", "FAIL", "it has no vault lock, and it has no access policy"),
        ("in-vpn-only", "FAIL", "cannot evaluate"),
        ("in-governance", "FAIL", "governance mode only"),
    ],
)
def test_deletion_protected(checked, resource, expected, says):
    arns, findings = checked
    status, detail, remediation = findings[("deletion-protected", arns[resource], "p")]
    assert status == expected, detail
    assert says in detail
    if expected == "FAIL":
        assert "aws backup put-backup-vault-access-policy" in remediation
        assert "backup:DeleteRecoveryPoint" in remediation


def test_deletion_protected_only_when_the_plan_asks(checked):
    arns, findings = checked
    status, _, _ = findings[("deletion-protected", arns["snap-public"], "relaxed")]
    assert status == "NOT_APPLICABLE"


@pytest.mark.parametrize(
    "resource, expected, says",
    [
        ("snap-public", "FAIL", "snap-public-id"),
        ("snap-private", "PASS", "None of its backups is shared publicly"),
        ("db-public", "FAIL", "RDS DB snapshot db-public-snap"),
        # shared with one named account, not with everyone
        ("db-shared", "PASS", "None of its backups is shared publicly"),
    ],
)
def test_snapshot_not_public(checked, resource, expected, says):
    arns, findings = checked
    status, detail, remediation = findings[("snapshot-not-public", arns[resource], None)]
    assert status == expected, detail
    assert arns.get(says, says) in detail
    if resource == "snap-public":
        assert '--create-volume-permission "Remove=[{Group=all}]"' in remediation
    if resource == "db-public":
        assert (
            "modify-db-snapshot-attribute" in remediation
            and "--values-to-remove all" in remediation
        )


def test_snapshot_not_public_does_not_judge_other_types(checked):
    _, findings = checked
    table = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/t"
    assert ("snapshot-not-public", table, None) not in findings
    assert findings[("resource-covered", table, None)][0] == "FAIL"  # in scope, judged elsewhere


def test_public_ami_fails_the_volumes_behind_it(estate, tmp_path):
    arns, run = estate
    ec2 = boto3.client("ec2", REGION)
    instance = ec2.run_instances(ImageId=_any_image(ec2), MinCount=1, MaxCount=1)["Instances"][0]
    image = ec2.create_image(InstanceId=instance["InstanceId"], Name="public-image")["ImageId"]
    ec2.modify_image_attribute(ImageId=image, LaunchPermission={"Add": [{"Group": "all"}]})
    try:
        inventory, findings = run(tmp_path)
        public = inventory.tables["public_backups"]
        amis = public[public["backup_type"] == "ami"]
        assert list(amis["backup_id"].unique()) == [image]
        # The AMI's snapshots were taken of the instance's volumes: those fail, naming the AMI.
        behind = set(amis["resource_arn"].dropna())
        assert behind and arns["snap-private"] not in behind
        for arn in behind:
            status, detail, remediation = findings[("snapshot-not-public", arn, None)]
            assert status == "FAIL" and f"AMI {image}" in detail, detail
            assert "modify-image-attribute" in remediation
    finally:
        ec2.modify_image_attribute(ImageId=image, LaunchPermission={"Remove": [{"Group": "all"}]})


def _any_image(ec2) -> str:
    """An AMI to launch from: register one over a fresh snapshot."""
    vid = ec2.create_volume(AvailabilityZone=f"{REGION}a", Size=8)["VolumeId"]
    sid = ec2.create_snapshot(VolumeId=vid)["SnapshotId"]
    return ec2.register_image(
        Name="base-image",
        RootDeviceName="/dev/sda1",
        BlockDeviceMappings=[{"DeviceName": "/dev/sda1", "Ebs": {"SnapshotId": sid}}],
    )["ImageId"]


@pytest.mark.parametrize(
    "denied, control, resources",
    [
        ("GetBackupVaultAccessPolicy", "deletion-protected", ["in-denied", "in-open"]),
        ("DescribeImages", "snapshot-not-public", ["snap-public", "snap-private"]),
        ("DescribeDBSnapshotAttributes", "snapshot-not-public", ["db-public", "db-shared"]),
    ],
)
def test_denied_call_is_not_assessed(estate, tmp_path, denied, control, resources):
    arns, run = estate
    inventory, findings = run(tmp_path, Denier(denied))
    assert denied in set(inventory.errors["operation"])
    plan = "p" if control == "deletion-protected" else None
    for resource in resources:
        status, detail, _ = findings[(control, arns[resource], plan)]
        assert status == "NOT_ASSESSED", detail
    # The other resources keep their verdicts.
    if denied == "DescribeDBSnapshotAttributes":
        assert findings[(control, arns["snap-public"], None)][0] == "FAIL"
    if denied == "DescribeImages":
        assert findings[(control, arns["db-public"], None)][0] == "FAIL"
        assert findings[("backup-recency", arns["in-denied"], "p")][0] != "NOT_ASSESSED"
