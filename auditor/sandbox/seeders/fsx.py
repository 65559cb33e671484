"""Amazon FSx file systems of the four kinds, their automatic and user backups, AWS Backup's own.

What the estate shows: file systems whose automatic daily backups are kept long enough, kept too
briefly or turned off (AutomaticBackupRetentionDays 0), user-initiated backups kept until deleted
(those of deleted file systems are orphans), and AWS Backup recovery points, which are FSx backups of
Type AWS_BACKUP ("Amazon FSx backups" in the AWS Backup developer guide,
https://docs.aws.amazon.com/aws-backup/latest/devguide/backup-feature-availability.html ; FSx API
reference, Backup.Type).
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any

from auditor.sandbox.moto_ext import fsx as fsx_ext
from auditor.sandbox.seeders.base import GIB, Artifact, TypeSeeder, utc

if TYPE_CHECKING:
    from auditor.sandbox.seed import _Region

# FileSystemType -> (configuration member, a deployment type that supports backups). Lustre
# scratch file systems cannot be backed up ("Working with backups", FSx for Lustre user guide:
# backups are supported on persistent file systems), so the estate's Lustre ones are persistent.
KINDS = {
    "WINDOWS": ("WindowsConfiguration", "MULTI_AZ_1"),
    "LUSTRE": ("LustreConfiguration", "PERSISTENT_2"),
    "ONTAP": ("OntapConfiguration", "MULTI_AZ_1"),
    "OPENZFS": ("OpenZFSConfiguration", "SINGLE_AZ_2"),
}
# AutomaticBackupRetentionDays: 0 turns automatic backups off; at most 90 days (FSx API reference).
RETENTIONS = (0, 7, 30, 35, 35, 90)
DAILY_WINDOW = "05:00"  # DailyAutomaticBackupStartTime, HH:MM in UTC


class FsxSeeder(TypeSeeder):
    """FSx file systems; AWS Backup's recovery points of them are FSx backups (Type AWS_BACKUP)."""

    type_id = "fsx-filesystem"
    base_count = 3
    deleted_divisor = 2
    backup_managed = False
    always_encrypted = True  # FSx encrypts every file system and backup at rest

    def create(self, reg: _Region, n: int, *, deleted: bool = False) -> None:
        """Create `n` file systems (deleted ones are recorded only)."""
        backend = fsx_ext.fsx_backend(reg.acct, reg.region)
        for i in range(n):
            fs_type = reg.rng.choice(sorted(KINDS))
            config_key, deployment = KINDS[fs_type]
            fs_id = f"fs-{reg.hex(17)}"
            name = f"{'old-' if deleted else ''}fsx-{reg.region}-{i:04d}"
            tags = reg.tags("fsx", name)
            created = reg.created_at()
            capacity = reg.rng.choice((32, 300, 1024, 1200, 2400, 4800))
            retention = reg.rng.choice(RETENTIONS)
            arn = f"arn:aws:fsx:{reg.region}:{reg.acct}:file-system/{fs_id}"
            metadata = {
                "OwnerId": reg.acct,
                "CreationTime": utc(created).timestamp(),
                "FileSystemId": fs_id,
                "FileSystemType": fs_type,
                "StorageCapacity": capacity,
                "StorageType": "SSD",
                "KmsKeyId": reg.kms["data"],
                "ResourceARN": arn,
            }
            reg.add_resource(
                resource_type=self.type_id,
                resource_arn=arn,
                resource_id=fs_id,
                name=name,
                tags=tags,
                created_at=created,
                size_bytes=capacity * GIB,
                encrypted=True,
                deleted=deleted,
                engine=fs_type,
                retention=retention,
                fsx_metadata=metadata,
                used_bytes=int(capacity * GIB * reg.rng.uniform(0.2, 0.8)),
            )
            if deleted:
                continue
            fs = backend.create_file_system(
                client_request_token=f"token-{fs_id}",
                file_system_type=fs_type,
                storage_capacity=capacity,
                storage_type="SSD",
                subnet_ids=[f"subnet-{reg.hex(17)}"],
                security_group_ids=[],
                tags=None,
                kms_key_id=reg.kms["data"],
                file_system_type_version=None,
                **{
                    key: (
                        {
                            "DeploymentType": deployment,
                            "AutomaticBackupRetentionDays": retention,
                            "DailyAutomaticBackupStartTime": DAILY_WINDOW,
                        }
                        if key == _ARGUMENT[config_key]
                        else None
                    )
                    for key in _ARGUMENT.values()
                },
            )
            backend.file_systems.pop(fs.file_system_id)
            fs.file_system_id, fs.resource_arn = fs_id, arn
            fs.dns_name = f"{fs_id}.fsx.{reg.region}.amazonaws.com"
            fs.creation_time = utc(created).timestamp()
            backend.file_systems[fs_id] = fs
            if tags:
                backend.tagger.tag_resource(arn, [{"Key": k, "Value": v} for k, v in tags.items()])

    def artifact(self, reg: _Region, r: dict[str, Any], made: Artifact) -> str | None:
        """AWS Backup's FSx recovery point is an FSx backup of Type AWS_BACKUP (a copy too)."""
        return fsx_ext.add_backup(
            reg.acct,
            made.region,
            r["fsx_metadata"],
            backup_type="AWS_BACKUP",
            created=made.created,
            backup_id=f"backup-{reg.hex(17)}",
            size_bytes=self._full_size(r),
        )

    def native(self, reg: _Region, r: dict[str, Any]) -> None:
        """Automatic daily backups for the retention period (live file systems: automatic backups
        go with their file system) and a few user-initiated backups, kept until deleted."""
        end = r.get("deleted_at") or reg.as_of
        start = utc(r["created_at"])
        retention = r["retention"]
        if not r["deleted"]:
            for d in range(retention):
                t = (end - timedelta(days=d + 1)).replace(
                    hour=5, minute=reg.rng.randint(0, 59), second=0, microsecond=0
                )
                if t < start:
                    break
                self._backup(reg, r, "AUTOMATIC", "automated", t, t + timedelta(days=retention))
        for _ in range(reg.rng.choice((0, 0, 1, 2)) if not r["deleted"] else 1):
            t = (end - timedelta(days=reg.rng.uniform(1, 200))).replace(microsecond=0)
            if t >= start:
                self._backup(reg, r, "USER_INITIATED", "user", t, None)

    def _backup(
        self, reg: _Region, r: dict[str, Any], fsx_type: str, created_by: str, t, delete_at
    ):
        size = self._full_size(r)
        arn = fsx_ext.add_backup(
            reg.acct,
            reg.region,
            r["fsx_metadata"],
            backup_type=fsx_type,
            created=t,
            backup_id=f"backup-{reg.hex(17)}",
            size_bytes=size,
        )
        reg.native_row(r, arn, "fsx-backup", created_by, t, size, True, delete_at=delete_at)

    @staticmethod
    def _full_size(r: dict[str, Any]) -> int:
        """What a restore of the file system would hold now (FSx's Backup.SizeInBytes)."""
        return int(r["used_bytes"])


# configuration member -> moto's create_file_system keyword
_ARGUMENT = {
    "WindowsConfiguration": "windows_configuration",
    "LustreConfiguration": "lustre_configuration",
    "OntapConfiguration": "ontap_configuration",
    "OpenZFSConfiguration": "open_zfs_configuration",
}

SEEDER = FsxSeeder()
