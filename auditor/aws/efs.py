"""EFS: file systems with tags and metered size (one paginated listing per region)."""

from __future__ import annotations

from auditor.aws.context import Context


def collect(ctx: Context) -> None:
    """File systems (resources, tags). Their backups exist only in AWS Backup vaults."""
    systems = ctx.paginate(
        "efs", "describe_file_systems", "FileSystems", affects=("efs-filesystem",)
    )
    for fs in systems or ():
        fs_id = fs["FileSystemId"]
        arn = fs.get("FileSystemArn") or ctx.arn("elasticfilesystem", f"file-system/{fs_id}")
        ctx.add(
            "resources",
            resource_type="efs-filesystem",
            resource_arn=arn,
            resource_id=fs_id,
            name=fs.get("Name"),
            created_at=fs.get("CreationTime"),
            size_bytes=(fs.get("SizeInBytes") or {}).get("Value"),
            encrypted=fs.get("Encrypted"),
            kms_key_id=fs.get("KmsKeyId"),
            state=fs.get("LifeCycleState"),
        )
        ctx.add_tags(arn, fs.get("Tags"))
