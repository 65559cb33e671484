"""EFS: file systems with tags, metered size and whether automatic backups are on.

"Amazon EFS applies the aws:elasticfilesystem:default-backup system tag key with a value of enabled
to EFS file systems when automatic backups are enabled" (EFS user guide, "Managing automatic backups
of EFS file systems"). That tag is kept with the file system's other tags; automatic backups are
AWS Backup's default plan for the file system, whose rules and recovery points aws/backup.py
collects, so no native schedule is recorded here.
"""

from __future__ import annotations

from auditor.aws.context import Context
from auditor.aws.items import for_each

AUTOMATIC_BACKUP_TAG = "aws:elasticfilesystem:default-backup"


def collect(ctx: Context) -> None:
    """File systems (resources, tags). Their backups exist only in AWS Backup vaults."""
    systems = ctx.paginate(
        "efs", "describe_file_systems", "FileSystems", affects=("efs-filesystem",)
    )

    def build(fs: dict) -> None:
        fs_id = fs["FileSystemId"]
        arn = fs.get("FileSystemArn") or ctx.arn("elasticfilesystem", f"file-system/{fs_id}")
        size = (fs.get("SizeInBytes") or {}).get("Value")
        ctx.add(
            "resources",
            resource_type="efs-filesystem",
            resource_arn=arn,
            resource_id=fs_id,
            name=fs.get("Name"),
            created_at=fs.get("CreationTime"),
            size_bytes=size,
            size_basis="SizeInBytes" if size is not None else "unknown",
            encrypted=fs.get("Encrypted"),
            kms_key_id=fs.get("KmsKeyId"),
            state=fs.get("LifeCycleState"),
        )
        ctx.add_tags(arn, fs.get("Tags"))

    for_each(
        ctx,
        systems,
        build,
        service="efs",
        operation="DescribeFileSystems",
        ident_key="FileSystemId",
        affects="efs-filesystem",
    )
