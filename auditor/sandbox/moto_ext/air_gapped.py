"""Logically air-gapped vaults shared through AWS RAM, and copies into them, as AWS documents them.

AWS Backup Developer Guide, "Logically air-gapped vault": such a vault (VaultType
LOGICALLY_AIR_GAPPED_BACKUP_VAULT) is locked in Vault Lock's compliance mode from creation and
encrypted with an AWS owned key (or a customer managed one); its recovery points are AWS Backup's
own (an `arn:aws:backup:...:recovery-point:` ARN, no EBS snapshot or RDS snapshot in the owning
account). The owner can share the vault with other accounts through AWS Resource Access Manager;
a sharee then sees it with ListBackupVaults(ByShared=true) and lists its recovery points with
ListRecoveryPointsByBackupVault(BackupVaultAccountId=<owner>) (AWS Backup API reference). An
account the vault is not shared with is refused (AccessDeniedException).

`share_vault` stands for the owner's RAM CreateResourceShare and the sharee's acceptance.
"""

from __future__ import annotations

import uuid
from typing import Any, cast

from moto.backup.models import BackupBackend
from moto.backup.responses import BackupResponse

LAG = "LOGICALLY_AIR_GAPPED_BACKUP_VAULT"


def vault_type(vault: Any) -> str:
    """A moto vault's type (the sandbox sets it on air-gapped vaults; others are BACKUP_VAULT)."""
    return str(getattr(vault, "vault_type", "BACKUP_VAULT"))


def recovery_point_arn(account_id: str, region: str, key: str | None = None) -> str:
    """A new AWS Backup recovery point ARN in the air-gapped vault's account and region: its id
    random, as AWS makes it, or derived from `key` (a seeded estate names its backups the same
    in every run)."""
    rid = uuid.uuid5(uuid.NAMESPACE_URL, key) if key else uuid.uuid4()
    return f"arn:aws:backup:{region}:{account_id}:recovery-point:{str(rid).upper()}"


def create_air_gapped_vault(
    backend: Any, name: str, min_days: int, max_days: int, tags: dict | None = None
) -> Any:
    """CreateLogicallyAirGappedBackupVault on a moto backup backend: the vault, locked from
    creation with MinRetentionDays/MaxRetentionDays (both required) and an AWS Backup key.
    AWS reports VaultState CREATING until it is ready; the emulator makes it AVAILABLE at once."""
    vault = backend.create_backup_vault(
        backup_vault_name=name,
        backup_vault_tags=tags or {},
        encryption_key_arn="",
        creator_request_id="",
    )
    vault.vault_type = LAG
    vault.locked = True
    vault.min_retention_days = int(min_days)
    vault.max_retention_days = int(max_days)
    vault.lock_date = vault.creation_date
    return vault


def share_vault(owner: str, region: str, vault_name: str, with_account: str) -> None:
    """Share `owner`'s air-gapped vault `vault_name` with `with_account` (RAM share, accepted)."""
    from moto.backup.models import backup_backends

    vault = backup_backends[owner][region].vaults[vault_name]
    if vault_type(vault) != LAG:
        raise ValueError("only logically air-gapped vaults are shared through AWS RAM")
    shared = getattr(vault, "shared_with", None)
    if shared is None:
        shared = set()
        vault.shared_with = shared  # type: ignore[attr-defined]
    shared.add(with_account)


def _shared_with(account_id: str, region: str) -> list[tuple[Any, Any]]:
    """(owner backend, vault) of every vault of another account shared with `account_id`."""
    from moto.backup.models import backup_backends

    out = []
    for owner, backend_region, backend in backup_backends.iter_backends():
        if owner == account_id or backend_region != region:
            continue
        for vault in cast(BackupBackend, backend).vaults.values():
            if account_id in (getattr(vault, "shared_with", None) or ()):
                out.append((backend, vault))
    return out


def _access_denied(message: str) -> Exception:
    from moto.core.exceptions import JsonRESTError

    error = JsonRESTError("AccessDeniedException", message)
    error.code = 403
    return error


def install() -> None:
    """Wrap the sandbox's ListBackupVaults and ListRecoveryPointsByBackupVault (idempotent)."""
    from auditor.sandbox.moto_ext import backup

    if getattr(BackupResponse, "_auditor_air_gapped", False):
        return
    own_vaults = BackupResponse.list_backup_vaults
    own_points = BackupResponse.list_recovery_points_by_backup_vault  # type: ignore[attr-defined]

    def list_backup_vaults(self: BackupResponse) -> Any:
        p = backup._p(self)
        if not p.get("ByShared"):
            return own_vaults(self)
        backend = backup._backend(self)
        rows = [
            backup.vault_dict(backup.extended_backend(owner), vault)
            for owner, vault in _shared_with(backend.account_id, backend.region_name)
        ]
        if p.get("ByVaultType"):
            rows = [r for r in rows if r["VaultType"] == p["ByVaultType"]]
        chunk, token = backup._paged(p, rows)
        return backup._result({"BackupVaultList": chunk}, token)

    def list_recovery_points_by_backup_vault(self: BackupResponse) -> Any:
        p = backup._p(self)
        backend = backup._backend(self)
        owner = p.get("BackupVaultAccountId")
        if not owner or owner == backend.account_id:
            return own_points(self)
        for owner_backend, vault in _shared_with(backend.account_id, backend.region_name):
            if (
                owner_backend.account_id == owner
                and vault.backup_vault_name == p["BackupVaultName"]
            ):
                ext = backup.extended_backend(owner_backend)
                rows = [
                    rp
                    for rp in ext.recovery_points.values()
                    if rp["BackupVaultName"] == vault.backup_vault_name
                ]
                chunk, token = backup._paged(p, rows)
                return backup._result(
                    {"RecoveryPoints": backup._shaped(chunk, "RecoveryPointByBackupVault")}, token
                )
        raise _access_denied(
            f"Backup vault {p['BackupVaultName']} of account {owner} is not shared with "
            f"account {backend.account_id}"
        )

    BackupResponse.list_backup_vaults = list_backup_vaults  # type: ignore[method-assign]
    BackupResponse.list_recovery_points_by_backup_vault = list_recovery_points_by_backup_vault  # type: ignore[attr-defined]
    BackupResponse._auditor_air_gapped = True  # type: ignore[attr-defined]
