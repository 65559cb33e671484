"""The demo estate's deletion protection and public backups, set after the rest is seeded.

In the first region of each seeded account:
- gold-vault gets an access policy denying backup:DeleteRecoveryPoint to everyone (the form AWS
  documents: AWS Backup Developer Guide, "Vault access policies"), so gold resources there pass
  `deletion-protected` (their copies sit in the next region's dr-vault, whose compliance lock is in
  force); the other regions' gold-vault keeps only its governance lock, so theirs fail;
- one manual EBS snapshot of a volume in scope is shared with the `all` group (what EC2's
  ModifySnapshotAttribute with createVolumePermission Add Group=all does), and one manual RDS DB
  snapshot gets `all` in its `restore` attribute (ModifyDBSnapshotAttribute): both fail
  `snapshot-not-public`.

State is set on moto's backend objects (as the rest of the seeding does), in the shapes the
sandbox serves through the AWS APIs (auditor/sandbox/moto_ext/protection.py).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

__all__ = ["DENY_DELETION_POLICY", "seed_protection"]

DENY_DELETION_POLICY = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "DenyEarlyDeletion",
                "Effect": "Deny",
                "Principal": {"AWS": "*"},
                "Action": [
                    "backup:DeleteRecoveryPoint",
                    "backup:UpdateRecoveryPointLifecycle",
                    "backup:PutBackupVaultAccessPolicy",
                ],
                "Resource": "*",
            }
        ],
    }
)


def _in_scope(tags: Iterable[dict[str, Any]]) -> bool:
    values = {t.get("key", t.get("Key")): t.get("value", t.get("Value")) for t in tags}
    return values.get("backup") in ("gold", "silver")


def _public_ebs_snapshot(account_id: str, region: str) -> str | None:
    from moto.ec2.models import ec2_backends

    ec2 = ec2_backends[account_id][region]
    candidates = sorted(
        (
            s
            for s in ec2.snapshots.values()
            if s.owner_id == account_id
            and s.volume is not None
            and s.volume.id in ec2.volumes
            and "AWS Backup" not in (s.description or "")
            and _in_scope(ec2.volumes[s.volume.id].get_tags())
        ),
        key=lambda s: (s.start_time, s.id),
    )
    if not candidates:
        return None
    candidates[0].create_volume_permission_groups.add("all")
    return str(candidates[0].id)


def _public_rds_snapshot(account_id: str, region: str) -> str | None:
    from moto.rds.models import rds_backends

    rds = rds_backends[account_id][region]
    candidates = sorted(
        (
            s
            for s in rds.database_snapshots.values()
            if getattr(s, "snapshot_type", None) == "manual"
            and s.database.db_instance_identifier in rds.databases
        ),
        key=lambda s: s.db_snapshot_identifier,
    )
    if not candidates:
        return None
    candidates[0].attributes["restore"] = ["all"]
    return str(candidates[0].db_snapshot_identifier)


def seed_protection(account_id: str, regions: list[str]) -> dict[str, Any]:
    """Deny policy on the first region's gold-vault, one public EBS and one public RDS snapshot.

    Returns what was set: {"protected_vaults": [...], "public_snapshots": [...]}.
    """
    from moto.backup.models import backup_backends

    if not regions:
        return {"protected_vaults": [], "public_snapshots": []}
    first = regions[0]
    vault = backup_backends[account_id][first].vaults.get("gold-vault")
    protected = []
    if vault is not None:
        vault.access_policy = DENY_DELETION_POLICY  # type: ignore[attr-defined]
        protected.append(f"{first}/gold-vault")
    public = [
        s
        for s in (_public_ebs_snapshot(account_id, first), _public_rds_snapshot(account_id, first))
        if s
    ]
    return {"protected_vaults": protected, "public_snapshots": public}
