"""The demo estate's air-gapped copies: a vault account shares a logically air-gapped vault.

A separate vault account (not itself audited) owns a logically air-gapped vault and shares it with
the demo account through AWS RAM (AWS Backup Developer Guide, "Logically air-gapped vault"). Two
EBS volumes of the demo account are tagged `isolation: air-gapped` (the example policies' `isolated`
plan asks for `copy_to: {air_gapped: true}`): the first has a recent copy in the shared vault
(air-gapped-copy PASS), the second none (FAIL). The copy is an AWS Backup recovery point of the
vault account, as a copy into an air-gapped vault is.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

VAULT_ACCOUNT = "210987654321"
VAULT_NAME = "airgap-vault"
TAG = ("isolation", "air-gapped")


def _volumes_with_backups(account_id: str, region: str) -> list[tuple[str, dict[str, Any]]]:
    """(volume ARN, newest completed recovery point) of EBS volumes backed up by AWS Backup."""
    from moto.backup.models import backup_backends

    from auditor.sandbox.moto_ext.backup import extended_backend

    newest: dict[str, dict[str, Any]] = {}
    points = extended_backend(backup_backends[account_id][region]).recovery_points
    for rp in points.values():
        arn = str(rp.get("ResourceArn") or "")
        if (
            ":volume/" not in arn
            or rp.get("Status") != "COMPLETED"
            or rp.get("SourceBackupVaultArn")
        ):
            continue
        if arn not in newest or rp["CreationDate"] > newest[arn]["CreationDate"]:
            newest[arn] = rp
    return sorted(newest.items())


def seed_air_gapped(as_of: datetime, account_id: str, region: str) -> dict[str, Any]:
    """Add the shared air-gapped vault and the two tagged volumes; return what was made."""
    from moto.backup.models import backup_backends
    from moto.ec2.models import ec2_backends

    from auditor.sandbox.moto_ext import air_gapped
    from auditor.sandbox.moto_ext.backup import _init_ext, add_recovery_point, extended_backend

    candidates = _volumes_with_backups(account_id, region)
    if len(candidates) < 2:
        return {}
    owner = extended_backend(backup_backends[VAULT_ACCOUNT][region])
    if not hasattr(owner, "recovery_points"):
        _init_ext(owner)
    vault = air_gapped.create_air_gapped_vault(owner, VAULT_NAME, 7, 365)
    air_gapped.share_vault(VAULT_ACCOUNT, region, VAULT_NAME, account_id)
    ec2 = ec2_backends[account_id][region]
    (copied, source), (uncopied, _) = candidates[0], candidates[1]
    for arn in (copied, uncopied):
        ec2.create_tags([arn.rsplit("/", 1)[1]], {TAG[0]: TAG[1]})
    when = as_of - timedelta(hours=3)
    rp = add_recovery_point(
        owner,
        {
            # named from the copied backup, so every demo run finds the same copy
            "RecoveryPointArn": air_gapped.recovery_point_arn(
                VAULT_ACCOUNT, region, key=f"{source['RecoveryPointArn']}/air-gapped-copy"
            ),
            "BackupVaultName": vault.backup_vault_name,
            "SourceBackupVaultArn": source["BackupVaultArn"],
            "ResourceArn": copied,
            "ResourceType": "EBS",
            "Status": "COMPLETED",
            "CreationDate": when,
            "BackupSizeInBytes": int(source.get("BackupSizeInBytes") or 0),
            "Lifecycle": {"DeleteAfterDays": 30},
        },
    )
    return {"vault_arn": vault.backup_vault_arn, "copied": copied, "uncopied": uncopied, "copy": rp}
