"""Amazon FSx as AWS answers it: what moto's FSx models lack, added in AWS's wire shapes.

moto (5.2) serves CreateFileSystem, DescribeFileSystems, CreateBackup and DescribeBackups, but:
- a file system has no `CreationTime`, `Lifecycle` or `OwnerId`;
- a backup never leaves `CREATING`, has no `Type`, no `KmsKeyId`, no `OwnerId`, no `ResourceType`
  and no `FileSystem` (the metadata of its file system), so DescribeBackups' `backup-type` and
  `file-system-type` filters match nothing;
- there is no way to make an automatic backup, an AWS Backup one or a cross-Region copy.

What AWS documents, and this module follows:
- "DescribeBackups" (FSx API reference,
  https://docs.aws.amazon.com/fsx/latest/APIReference/API_DescribeBackups.html) returns every backup
  the account owns in the Region, each a "Backup" object
  (https://docs.aws.amazon.com/fsx/latest/APIReference/API_Backup.html): `Type` AUTOMATIC |
  USER_INITIATED | AWS_BACKUP, `Lifecycle` (AVAILABLE once complete), `CreationTime`, `KmsKeyId`,
  `OwnerId`, `ResourceARN`, `ResourceType` FILE_SYSTEM | VOLUME, `FileSystem` (the file system's
  metadata, kept with the backup after the file system is deleted), `SourceBackupId` and
  `SourceBackupRegion` on a copy ("CopyBackup",
  https://docs.aws.amazon.com/fsx/latest/APIReference/API_CopyBackup.html).
- "CreateBackup" makes a user-initiated backup
  (https://docs.aws.amazon.com/fsx/latest/APIReference/API_CreateBackup.html).
- "FileSystem" (https://docs.aws.amazon.com/fsx/latest/APIReference/API_FileSystem.html):
  `CreationTime`, `Lifecycle` (AVAILABLE when usable), `OwnerId`.
"""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any

_installed = False


def fsx_backend(account_id: str, region: str) -> Any:
    """moto's FSx backend of one account and Region."""
    from moto.fsx.models import fsx_backends

    return fsx_backends[account_id][region]


def _file_system_dict(self: Any) -> dict[str, Any]:
    out = _ORIGINAL["fs_to_dict"](self)
    if getattr(self, "creation_time", None) is None:
        self.creation_time = time.time()  # first seen: moto records no creation time
    out.setdefault("CreationTime", self.creation_time)
    out.setdefault("Lifecycle", getattr(self, "lifecycle", "AVAILABLE"))
    out.setdefault("OwnerId", self.backend.account_id)
    return out


def _file_system_metadata(fs: Any) -> dict[str, Any]:
    """What a backup keeps of its file system (a subset of the FileSystem object)."""
    meta = {
        "OwnerId": fs.backend.account_id,
        "CreationTime": getattr(fs, "creation_time", None),
        "FileSystemId": fs.file_system_id,
        "FileSystemType": fs.file_system_type,
        "StorageCapacity": fs.storage_capacity,
        "StorageType": fs.storage_type,
        "KmsKeyId": fs.kms_key_id,
        "ResourceARN": fs.resource_arn,
    }
    return {k: v for k, v in meta.items() if v is not None}


def _backup_init(self: Any, *args: Any, **kwargs: Any) -> None:
    _ORIGINAL["backup_init"](self, *args, **kwargs)
    fs = self.backend.file_systems.get(self.file_system_id)
    self.backup_type = "USER_INITIATED"  # what CreateBackup makes
    self.lifecycle = "AVAILABLE"
    self.file_system = _file_system_metadata(fs) if fs is not None else {}
    self.file_system_type = self.file_system.get("FileSystemType")
    self.kms_key_id = self.file_system.get("KmsKeyId")
    self.source_backup_id = None
    self.source_backup_region = None
    self.size_in_bytes = None


def _backup_dict(self: Any) -> dict[str, Any]:
    out = _ORIGINAL["backup_to_dict"](self)
    # moto adds request fields AWS's Backup object does not have (its file system is `FileSystem`)
    out.pop("ClientRequestToken", None)
    out.pop("FileSystemId", None)
    out.update(
        {
            "Type": self.backup_type,
            "Lifecycle": self.lifecycle,
            "OwnerId": self.backend.account_id,
            "ResourceType": "VOLUME" if self.volume_id else "FILE_SYSTEM",
            "FileSystem": self.file_system,
        }
    )
    extra = {
        "KmsKeyId": self.kms_key_id,
        "SourceBackupId": self.source_backup_id,
        "SourceBackupRegion": self.source_backup_region,
        "SizeInBytes": self.size_in_bytes,
    }
    out.update({k: v for k, v in extra.items() if v is not None})
    return out


def add_backup(
    account_id: str,
    region: str,
    file_system: dict[str, Any],
    *,
    backup_type: str,
    created: datetime,
    backup_id: str,
    tags: dict[str, str] | None = None,
    source: tuple[str, str] | None = None,
    size_bytes: int | None = None,
) -> str:
    """Insert one available FSx backup of `file_system` (its metadata dict); the backup's ARN.

    `source` is (source backup id, source Region) for a copy. The file system may be gone (an
    orphaned backup) or live in another Region (a copy): its metadata is what the backup keeps.
    """
    from moto.fsx.models import Backup

    backend = fsx_backend(account_id, region)
    backup: Any = Backup.__new__(Backup)  # built field by field: moto's __init__ needs a live fs
    backup.backup_id = backup_id
    backup.file_system_id = file_system["FileSystemId"]
    backup.client_request_token = backup_id
    backup.volume_id = None
    backup.resource_arn = f"arn:aws:fsx:{region}:{account_id}:backup/{backup_id}"
    backup.creation_time = created.timestamp()
    backup.backend = backend
    backup.backup_type = backup_type
    backup.lifecycle = "AVAILABLE"
    backup.file_system = dict(file_system)
    backup.file_system_type = file_system.get("FileSystemType")
    backup.kms_key_id = file_system.get("KmsKeyId")
    backup.source_backup_id, backup.source_backup_region = source or (None, None)
    backup.size_in_bytes = size_bytes
    backend.backups[backup_id] = backup
    if tags:
        backend.tagger.tag_resource(
            backup.resource_arn, [{"Key": k, "Value": v} for k, v in tags.items()]
        )
    return backup.resource_arn


def file_system_metadata(file_system: Any) -> dict[str, Any]:
    """The metadata a backup keeps of a moto FSx file system."""
    return _file_system_metadata(file_system)


_ORIGINAL: dict[str, Any] = {}


def install() -> None:
    """Patch moto's FSx models (idempotent)."""
    global _installed
    if _installed:
        return
    from moto.fsx.models import Backup, FileSystem

    _ORIGINAL["fs_to_dict"] = FileSystem.to_dict
    _ORIGINAL["backup_init"] = Backup.__init__
    _ORIGINAL["backup_to_dict"] = Backup.to_dict
    FileSystem.to_dict = _file_system_dict  # type: ignore[method-assign]
    Backup.__init__ = _backup_init  # type: ignore[method-assign]
    Backup.to_dict = _backup_dict  # type: ignore[method-assign]
    _installed = True
