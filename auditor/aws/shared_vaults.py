"""Backup vaults other accounts share with this one through AWS RAM (logically air-gapped vaults).

A logically air-gapped vault can live in a dedicated account and be shared with others through AWS
Resource Access Manager (AWS Backup Developer Guide, "Logically air-gapped vault"). The account
being audited then sees it with ListBackupVaults(ByShared=true), and its recovery points with
ListRecoveryPointsByBackupVault(BackupVaultAccountId=<owner>) (AWS Backup API reference). Both are
recorded in the owner's account and the vault's region (from its ARN), where the copies are
stored: the air-gapped copy of a resource is then visible even when the owning account is not
collected. When the owner is collected too, the same rows merge (same account, same ARNs).
"""

from __future__ import annotations

from auditor.aws.context import BACKUP_WIDE, Context


def _owner_and_region(vault_arn: str | None) -> tuple[str | None, str | None]:
    """(account, region) of `arn:aws:backup:REGION:ACCOUNT:backup-vault:NAME`."""
    parts = (vault_arn or "").split(":")
    if len(parts) < 7 or parts[2] != "backup":
        return None, None
    return parts[4] or None, parts[3] or None


def collect(ctx: Context) -> None:
    """Vaults shared with this account, and (as tasks of their own) their recovery points."""
    from auditor.aws.backup import list_recovery_points, vault_record

    shared = ctx.paginate(
        "backup", "list_backup_vaults", "BackupVaultList", affects=BACKUP_WIDE, ByShared=True
    )
    for v in shared or ():
        owner, region = _owner_and_region(v.get("BackupVaultArn"))
        if owner is None or owner == ctx.account_id:
            continue  # this account's own vaults are listed without ByShared
        vault_record(ctx, v, account_id=owner, region=region or ctx.region)
        ctx.spawn(list_recovery_points, v["BackupVaultName"], v.get("BackupVaultArn"), owner)
