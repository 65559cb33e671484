"""Amazon FSx: file systems (Windows File Server, Lustre, NetApp ONTAP, OpenZFS) and their backups.

Two listings a region, both paginated and both carrying tags, so no per-item call is needed:
- DescribeFileSystems returns every file system with its `Tags` and its type's configuration, whose
  `AutomaticBackupRetentionDays` is the file system's own daily backup schedule ("0 disables
  automatic backups"; FSx API reference, WindowsFileSystemConfiguration,
  LustreFileSystemConfiguration, OntapFileSystemConfiguration, OpenZFSFileSystemConfiguration).
  Automatic backups are taken once a day, in the `DailyAutomaticBackupStartTime` window ("Working
  with backups" in each FSx user guide, e.g.
  https://docs.aws.amazon.com/fsx/latest/WindowsGuide/using-backups.html).
- DescribeBackups, without BackupIds, "returns all backups owned by your AWS account in the AWS
  Region" (FSx API reference, DescribeBackups), whoever made them: its `Type` is AUTOMATIC (the
  daily backup), USER_INITIATED (CreateBackup or a copy) or AWS_BACKUP (an AWS Backup recovery
  point: AWS Backup's FSx recovery points are FSx backups under the same ARN, which the inventory
  merges with the vault's row). Their storage is billed by Amazon FSx
  (https://aws.amazon.com/fsx/pricing/), not by AWS Backup.

Every FSx file system and backup is encrypted at rest: "Amazon FSx automatically encrypts file
system data at rest" and its backups with the file system's key ("Data encryption in Amazon FSx for
Windows File Server", https://docs.aws.amazon.com/fsx/latest/WindowsGuide/encryption.html; the
Lustre, ONTAP and OpenZFS guides' "Data encryption" pages say the same).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from auditor.aws.context import Context
from auditor.aws.items import for_each

AFFECTS = ("fsx-filesystem",)
RESOURCE_TYPE = "fsx-filesystem"
BACKUP_TYPE = "fsx-backup"
GIB = 1024**3

# FileSystemType -> the member holding its configuration (FSx API reference, FileSystem).
CONFIGURATION_KEY = {
    "WINDOWS": "WindowsConfiguration",
    "LUSTRE": "LustreConfiguration",
    "ONTAP": "OntapConfiguration",
    "OPENZFS": "OpenZFSConfiguration",
}
# Backup.Lifecycle -> the inventory's status (FSx API reference, Backup: PENDING and TRANSFERRING
# are a Lustre user-initiated backup's steps before AVAILABLE).
BACKUP_STATUS = {
    "AVAILABLE": "COMPLETED",
    "CREATING": "CREATING",
    "PENDING": "CREATING",
    "TRANSFERRING": "CREATING",
    "COPYING": "CREATING",
    "DELETED": "DELETING",
    "FAILED": "FAILED",
}
# Backup.Type -> who made it.
CREATED_BY = {"AUTOMATIC": "automated", "USER_INITIATED": "user", "AWS_BACKUP": "aws-backup"}
NATIVE_SCHEDULE = "fsx-automatic"


def automatic_retention_days(fs: dict[str, Any]) -> int:
    """The file system's AutomaticBackupRetentionDays (0: automatic backups off or unknown)."""
    config = fs.get(CONFIGURATION_KEY.get(fs.get("FileSystemType", ""), "")) or {}
    return int(config.get("AutomaticBackupRetentionDays") or 0)


def _name(tags: Any) -> str | None:
    for tag in tags or ():
        if tag.get("Key") == "Name":
            return tag.get("Value")
    return None


def file_system_row(ctx: Context, fs: dict[str, Any]) -> dict[str, Any]:
    """The `resources` row of one file system (raises on a malformed one)."""
    fs_id = fs["FileSystemId"]
    capacity = fs.get("StorageCapacity")
    retention = automatic_retention_days(fs)
    row: dict[str, Any] = {
        "resource_type": RESOURCE_TYPE,
        "resource_arn": fs.get("ResourceARN") or ctx.arn("fsx", f"file-system/{fs_id}"),
        "resource_id": fs_id,
        "name": _name(fs.get("Tags")),
        "created_at": fs.get("CreationTime"),
        # StorageCapacity is in GiB (FSx API reference, FileSystem.StorageCapacity)
        "size_bytes": int(capacity) * GIB if capacity is not None else None,
        "size_basis": "StorageCapacity" if capacity is not None else "unknown",
        "encrypted": True,  # always encrypted at rest (module docstring)
        "kms_key_id": fs.get("KmsKeyId"),
        "state": fs.get("Lifecycle"),
        # what the file system is (WINDOWS, LUSTRE, ONTAP, OPENZFS): AWS Backup's features differ
        "engine": fs.get("FileSystemType"),
    }
    if retention > 0:
        row.update(
            native_schedule=NATIVE_SCHEDULE,
            native_frequency_hours=24.0,
            native_retention_days=retention,
        )
    return row


def backup_row(ctx: Context, backup: dict[str, Any], retention: dict[str, int]) -> dict[str, Any]:
    """The `recovery_points` row of one FSx backup (raises on a malformed one).

    An automatic backup is deleted when its file system's retention period has passed; a
    user-initiated backup is kept until deleted; AWS Backup's lifecycle (from the vault's listing)
    decides for its own.
    """
    backup_id = backup["BackupId"]
    fs = backup.get("FileSystem") or {}
    fs_id = fs.get("FileSystemId")
    created_by = CREATED_BY.get(backup.get("Type", ""), "user")
    created = backup.get("CreationTime")
    lifecycle = backup.get("Lifecycle", "")
    source_id = backup.get("SourceBackupId")
    source_arn = (
        ctx.arn("fsx", f"backup/{source_id}", region=backup.get("SourceBackupRegion") or ctx.region)
        if source_id
        else None
    )
    days = retention.get(fs_id or "")
    delete_at = (
        created + timedelta(days=days) if created_by == "automated" and created and days else None
    )
    size = backup.get("SizeInBytes")
    return {
        "recovery_point_arn": backup.get("ResourceARN") or ctx.arn("fsx", f"backup/{backup_id}"),
        "resource_arn": fs.get("ResourceARN")
        or (ctx.arn("fsx", f"file-system/{fs_id}") if fs_id else None),
        "resource_type": RESOURCE_TYPE,
        "backup_type": BACKUP_TYPE,
        "source": "aws-backup" if created_by == "aws-backup" else "native",
        "created_by": created_by,
        "status": BACKUP_STATUS.get(lifecycle, "FAILED"),
        "created_at": created,
        "completed_at": created if lifecycle == "AVAILABLE" else None,
        # "the amount of data that the file system would contain if you restore this backup"
        # (FSx API reference, Backup.SizeInBytes): the full size, not what this backup adds
        "size_bytes": size,
        "size_basis": "SizeInBytes(full)" if size is not None else None,
        "storage_class": "warm",  # FSx backups have one storage class
        "delete_at": delete_at,
        "encrypted": True,
        "kms_key_arn": backup.get("KmsKeyId"),
        "copy_source_arn": source_arn,
        "_size_exact": False,
    }


def collect(ctx: Context) -> None:
    """File systems (resources, tags, automatic backup schedule) and every FSx backup."""
    systems = ctx.paginate("fsx", "describe_file_systems", "FileSystems", affects=AFFECTS)
    retention: dict[str, int] = {}

    def add_file_system(fs: dict[str, Any]) -> None:
        row = file_system_row(ctx, fs)
        retention[row["resource_id"]] = automatic_retention_days(fs)
        ctx.add("resources", **row)
        ctx.add_tags(row["resource_arn"], fs.get("Tags"))

    for_each(
        ctx,
        systems,
        add_file_system,
        service="fsx",
        operation="DescribeFileSystems",
        ident_key="FileSystemId",
        affects=RESOURCE_TYPE,
    )

    def add_backup(backup: dict[str, Any]) -> None:
        row = backup_row(ctx, backup, retention)
        ctx.add("recovery_points", **row)
        ctx.add_tags(row["recovery_point_arn"], backup.get("Tags"))

    ctx.each_page(
        "fsx",
        "describe_backups",
        "Backups",
        lambda page: for_each(
            ctx,
            page,
            add_backup,
            service="fsx",
            operation="DescribeBackups",
            ident_key="BackupId",
            affects=RESOURCE_TYPE,
        ),
        affects=AFFECTS,
    )
