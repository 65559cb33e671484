"""Air-gapped copies through the AWS API on the emulator: a logically air-gapped vault in a vault
account, shared with the audited account through AWS RAM (AWS Backup Developer Guide, "Logically
air-gapped vault"; AWS Backup API reference, ListBackupVaults ByShared and
ListRecoveryPointsByBackupVault BackupVaultAccountId), judged by the air-gapped-copy control."""

from __future__ import annotations

from datetime import timedelta

import boto3
import pandas as pd
import pytest

from auditor.controls import check_inventory
from auditor.policy import load_policies
from auditor.sandbox.moto_ext.air_gapped import share_vault
from tests.aws.conftest import ACCOUNT, AS_OF

R = "us-east-1"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/service-role/AWSBackupDefaultServiceRole"
VAULT_ACCOUNT = "210987654321"
POLICY = """
version: 1
scope: {resource_types: [ebs-volume]}
plans:
  - name: gold
    select: {tags: {backup: gold}}
    frequency: 24h
    retention_days: 7
    accept: [aws-backup]
    copy_to: {air_gapped: true}
"""


def _vault_account_client():
    creds = boto3.client("sts", R).assume_role(
        RoleArn=f"arn:aws:iam::{VAULT_ACCOUNT}:role/OrganizationAccountAccessRole",
        RoleSessionName="seed",
    )["Credentials"]
    return boto3.client(
        "backup",
        R,
        aws_access_key_id=creds["AccessKeyId"],
        aws_secret_access_key=creds["SecretAccessKey"],
        aws_session_token=creds["SessionToken"],
    )


def _estate(copy: bool, share: bool = True) -> str:
    """A tagged volume backed up in the audited account, maybe copied to the shared vault."""
    from moto.ec2.models import ec2_backends

    ec2 = boto3.client("ec2", R)
    vol = ec2.create_volume(AvailabilityZone=f"{R}a", Size=4)["VolumeId"]
    ec2_backends[ACCOUNT][R].volumes[vol].create_time = AS_OF - timedelta(days=30)
    ec2.create_tags(Resources=[vol], Tags=[{"Key": "backup", "Value": "gold"}])
    lag = _vault_account_client().create_logically_air_gapped_backup_vault(
        BackupVaultName="airgap", MinRetentionDays=7, MaxRetentionDays=365
    )["BackupVaultArn"]
    if share:
        share_vault(VAULT_ACCOUNT, R, "airgap", ACCOUNT)
    bk = boto3.client("backup", R)
    bk.create_backup_vault(BackupVaultName="primary")
    arn = f"arn:aws:ec2:{R}:{ACCOUNT}:volume/{vol}"
    job = bk.start_backup_job(BackupVaultName="primary", ResourceArn=arn, IamRoleArn=ROLE)
    point = bk.describe_backup_job(BackupJobId=job["BackupJobId"])["RecoveryPointArn"]
    if copy:
        bk.start_copy_job(
            RecoveryPointArn=point,
            SourceBackupVaultName="primary",
            DestinationBackupVaultArn=lag,
            IamRoleArn=ROLE,
        )
    return arn


def _verdict(inv, tmp_path) -> dict:
    (tmp_path / "p.yaml").write_text(POLICY)
    # the emulator stamps jobs with the real clock: judge one hour after the newest backup
    newest = inv.recovery_points["created_at"].max()
    as_of = (AS_OF if pd.isna(newest) else newest.to_pydatetime()) + timedelta(hours=1)
    findings = check_inventory(
        inv, load_policies(tmp_path / "p.yaml"), as_of, ["air-gapped-copy"]
    ).frame
    assert len(findings) == 1
    return findings.iloc[0].to_dict()


def test_shared_air_gapped_vault_and_its_copy_are_seen_from_the_audited_account(
    aws, collect, tmp_path, hooks
):
    arn = _estate(copy=True)
    bk = boto3.client("backup", R)
    shared = bk.list_backup_vaults(ByShared=True)["BackupVaultList"]
    assert [v["VaultType"] for v in shared] == ["LOGICALLY_AIR_GAPPED_BACKUP_VAULT"]
    inv = collect(services=("ebs", "backup"), session_factory=hooks)
    assert inv.errors.empty, inv.errors
    vaults = inv.tables["vaults"].set_index("vault_name")
    assert vaults.loc["airgap", "account_id"] == VAULT_ACCOUNT
    rp = inv.recovery_points
    copies = rp[rp["vault_name"] == "airgap"]
    assert list(copies["account_id"]) == [VAULT_ACCOUNT]
    assert list(copies["resource_arn"]) == [arn]
    # an air-gapped vault holds AWS Backup's own recovery points, not EBS snapshots
    assert copies["recovery_point_arn"].str.contains(":recovery-point:").all()
    sent = [p for s, op, p in hooks.params if op == "ListRecoveryPointsByBackupVault"]
    assert any(
        VAULT_ACCOUNT in str(p.get("url_path", "")) + str(p.get("query_string")) for p in sent
    )
    row = _verdict(inv, tmp_path)
    assert row["status"] == "PASS", row["detail"]


@pytest.mark.parametrize("share", [True, False])
def test_no_copy_in_the_air_gapped_vault_fails(aws, collect, tmp_path, share):
    _estate(copy=False, share=share)
    inv = collect(services=("ebs", "backup"))
    assert inv.errors.empty, inv.errors
    row = _verdict(inv, tmp_path)
    assert row["status"] == "FAIL"
    assert ("no such vault is visible" in row["detail"]) is (not share)


def test_a_denied_vault_listing_is_not_assessed(aws, collect, tmp_path, hooks):
    _estate(copy=True)
    hooks.deny("backup", "ListBackupVaults")
    inv = collect(services=("ebs", "backup"), session_factory=hooks)
    assert row_status(_verdict(inv, tmp_path)) == "NOT_ASSESSED"


def test_an_unshared_vault_refuses_its_recovery_points(aws):
    _estate(copy=True, share=False)
    bk = boto3.client("backup", R)
    with pytest.raises(bk.exceptions.ClientError) as err:
        bk.list_recovery_points_by_backup_vault(
            BackupVaultName="airgap", BackupVaultAccountId=VAULT_ACCOUNT
        )
    assert err.value.response["Error"]["Code"] == "AccessDeniedException"


def row_status(row: dict) -> str:
    """The status of one finding row."""
    return str(row["status"])
