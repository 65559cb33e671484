"""Vault access policies, public EBS snapshots and AMIs, where moto lacks them, in AWS's shapes.

- AWS Backup PutBackupVaultAccessPolicy, GetBackupVaultAccessPolicy, DeleteBackupVaultAccessPolicy
  (AWS Backup API reference: `PUT|GET|DELETE /backup-vaults/{backupVaultName}/access-policy`;
  Get answers {BackupVaultArn, BackupVaultName, Policy}; a vault without a policy, or no such
  vault, answers ResourceNotFoundException). The policy is kept on moto's Vault object, so moto's
  reset clears it.
- EC2 DescribeSnapshots `RestorableByUserIds` (EC2 API reference, DescribeSnapshots: "The IDs of
  the AWS accounts that can create volumes from the snapshot"; `all` selects the snapshots whose
  create volume permission was granted to the `all` group, i.e. public ones), which moto ignores:
  applied here from the permissions moto's ModifySnapshotAttribute keeps.

- EC2 CreateImage: the AMI's snapshot is taken of the instance's root volume (moto snapshots a
  throwaway volume).

moto already serves what else the public-backup checks call: ModifyImageAttribute and
DescribeImages with `Owners` and the `is-public` filter, and the RDS snapshot attribute calls.
"""

from __future__ import annotations

import json
from typing import Any

from moto.backup import urls as backup_urls
from moto.backup.exceptions import ResourceNotFoundException
from moto.backup.responses import BackupResponse
from moto.core.responses import EmptyResult

__all__ = ["install", "restorable_by"]

_PATH = "{0}/backup-vaults/(?P<name>[^/]+)/access-policy$"


def _vault(response: BackupResponse) -> Any:
    name = response.path.rstrip("/").split("/")[-2]
    from urllib.parse import unquote

    name = unquote(name)
    vault = response.backup_backend.vaults.get(name)
    if vault is None:
        raise ResourceNotFoundException(
            msg=f"Backup vault {name} does not exist in account {response.current_account}"
        )
    return vault


def r_put_backup_vault_access_policy(self: BackupResponse) -> EmptyResult:
    """PutBackupVaultAccessPolicy: store the document (AWS checks it is a JSON policy)."""
    vault = _vault(self)
    body = json.loads(self.body or "{}")
    policy = body.get("Policy")
    try:
        parsed = json.loads(policy) if policy else None
    except ValueError:
        parsed = None
    if not isinstance(parsed, dict):
        from moto.backup.exceptions import InvalidParameterValueException

        raise InvalidParameterValueException(msg="Policy is not a valid JSON policy document")
    vault.access_policy = policy
    return EmptyResult()


def r_get_backup_vault_access_policy(self: BackupResponse) -> str:
    """GetBackupVaultAccessPolicy: the document, or ResourceNotFoundException when none is set."""
    vault = _vault(self)
    policy = getattr(vault, "access_policy", None)
    if not policy:
        raise ResourceNotFoundException(
            msg=f"Backup vault {vault.backup_vault_name} has no access policy"
        )
    return json.dumps(
        {
            "BackupVaultArn": vault.backup_vault_arn,
            "BackupVaultName": vault.backup_vault_name,
            "Policy": policy,
        }
    )


def r_delete_backup_vault_access_policy(self: BackupResponse) -> EmptyResult:
    """DeleteBackupVaultAccessPolicy: remove the document (no error when none is set)."""
    vault = _vault(self)
    vault.access_policy = None
    return EmptyResult()


def restorable_by(snapshots: list[Any], users: list[str], account_id: str) -> list[Any]:
    """The snapshots whose create volume permission reaches every one of `users`.

    `all` is the public group; `self` or an account id is that account, which also holds for its
    own snapshots (the implicit permission) and for public ones.
    """
    out = snapshots
    for user in users:
        if user == "all":
            out = [s for s in out if "all" in getattr(s, "create_volume_permission_groups", ())]
            continue
        account = account_id if user == "self" else user
        out = [
            s
            for s in out
            if s.owner_id == account
            or account in getattr(s, "create_volume_permission_userids", ())
            or "all" in getattr(s, "create_volume_permission_groups", ())
        ]
    return out


def _patch_create_image() -> None:
    """CreateImage's snapshot is of the instance's root volume, as on AWS.

    "Amazon EC2 ... creates a snapshot of each volume attached to the instance" (EC2 User Guide,
    "Create an Amazon EBS-backed AMI"); moto snapshots a throwaway volume instead, so nothing
    would tie a public AMI to the volume whose data it holds.
    """
    from moto.ec2.models.amis import AmiBackend

    if getattr(AmiBackend, "_auditor_image_volume", False):
        return
    original = AmiBackend.create_image

    def create_image(self: Any, instance_id: str, *args: Any, **kwargs: Any) -> Any:
        ami = original(self, instance_id, *args, **kwargs)
        instance = self.get_instance(instance_id)
        root = instance.block_device_mapping.get(instance.root_device_name or "/dev/sda1")
        if root is not None and getattr(ami, "ebs_snapshot", None) is not None:
            ami.ebs_snapshot.volume = self.get_volume(root.volume_id)
        return ami

    AmiBackend.create_image = create_image  # type: ignore[method-assign]
    AmiBackend._auditor_image_volume = True  # type: ignore[attr-defined]


_HANDLERS = {
    "put_backup_vault_access_policy": r_put_backup_vault_access_policy,
    "get_backup_vault_access_policy": r_get_backup_vault_access_policy,
    "delete_backup_vault_access_policy": r_delete_backup_vault_access_policy,
}


def install() -> None:
    """Add the vault access policy handlers and URL (idempotent)."""
    for name, fn in _HANDLERS.items():
        setattr(BackupResponse, name, fn)
    backup_urls.url_paths.setdefault(_PATH, BackupResponse.dispatch)
    _patch_create_image()
