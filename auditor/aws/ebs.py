"""EBS: volumes, the account's own snapshots, and those in the Recycle Bin (paginated listings)."""

from __future__ import annotations

import json

from auditor.aws import protection, recycle_bin
from auditor.aws.context import Context

GIB = 1024**3
# What EC2 shows as the volume of a copied (or AMI-registered) snapshot: no known source.
UNKNOWN_VOLUME = "vol-ffffffff"
AFFECTS = ("ebs-volume", "storagegateway-volume")  # SGW volumes' backups are EBS snapshots

SNAPSHOT_STATUS = {
    "pending": "CREATING",
    "completed": "COMPLETED",
    "error": "FAILED",
    "recoverable": "DELETING",  # in the Recycle Bin: deleted, restorable for a while
    "recovering": "CREATING",
}


def tag_value(tags: list[dict] | None, key: str) -> str | None:
    """The value of tag `key` in an AWS [{Key, Value}] list."""
    for tag in tags or ():
        if tag.get("Key") == key:
            return tag.get("Value")
    return None


def snapshot_creator(snapshot: dict) -> str:
    """Who made an EBS snapshot, from the marks AWS leaves on it.

    AWS Backup tags its snapshots `aws:backup:source-resource` and describes them as created by
    the AWS Backup service; Data Lifecycle Manager tags `aws:dlm:lifecycle-policy-id`.
    """
    tags = snapshot.get("Tags") or []
    keys = {t.get("Key", "") for t in tags}
    if any(k.startswith("aws:backup:") for k in keys) or "AWS Backup" in (
        snapshot.get("Description") or ""
    ):
        return "aws-backup"
    if any(k.startswith("aws:dlm:") for k in keys):
        return "automated"
    return "user"


def collect(ctx: Context) -> None:
    """Volumes (resources, tags) and own snapshots (recovery points, tags)."""
    # Volumes an AWS service manages (Operator.Managed) hold data like any other, but DescribeVolumes
    # leaves them out unless IncludeManagedResources=true when the account's managed-resource
    # visibility is "hidden" (EC2 API reference, DescribeVolumes, ManagedResourceVisibilitySettings):
    # an inventory that must show every unprotected volume asks for them.
    volumes = ctx.paginate(
        "ec2",
        "describe_volumes",
        "Volumes",
        affects=("ebs-volume",),
        IncludeManagedResources=True,
    )
    for vol in volumes or ():
        arn = ctx.arn("ec2", f"volume/{vol['VolumeId']}")
        ctx.add(
            "resources",
            resource_type="ebs-volume",
            resource_arn=arn,
            resource_id=vol["VolumeId"],
            name=tag_value(vol.get("Tags"), "Name"),
            created_at=vol.get("CreateTime"),
            size_bytes=(vol["Size"] * GIB) if vol.get("Size") is not None else None,
            encrypted=vol.get("Encrypted"),
            kms_key_id=vol.get("KmsKeyId"),
            state=vol.get("State"),
            # Volume.Attachments[].InstanceId (EC2 API reference, "Volume" / "VolumeAttachment")
            attached_to=json.dumps(
                sorted(a["InstanceId"] for a in vol.get("Attachments") or () if a.get("InstanceId"))
            ),
        )
        ctx.add_tags(arn, vol.get("Tags"))

    # Which volume each snapshot was taken from (also for the public-sharing checks below).
    volume_of: dict[str, str | None] = {}
    listed = ctx.each_page(
        "ec2",
        "describe_snapshots",
        "Snapshots",
        lambda page: _add_snapshots(ctx, page, volume_of),
        affects=AFFECTS,
        OwnerIds=["self"],
    )
    if not listed:
        volume_of.clear()  # the listing's rows were dropped: so are the volumes it named
    recycle_bin.collect(
        ctx, {v["VolumeId"]: v.get("Size") for v in volumes or () if v.get("VolumeId")}
    )
    # Which of them (and of the AMIs they back) anyone can restore: two more bulk listings.
    if listed:  # else recorded once: the same permission would fail again
        protection.public_ebs_snapshots(ctx, volume_of)
    protection.public_amis(ctx, volume_of)


def _add_snapshots(ctx: Context, snapshots: list[dict], volume_of: dict[str, str | None]) -> None:
    """The `recovery_points` and tag rows of one page of DescribeSnapshots; notes their volumes."""
    for snap in snapshots:
        volume_of[snap["SnapshotId"]] = (
            None if snap.get("VolumeId") == UNKNOWN_VOLUME else snap.get("VolumeId")
        )
        # EC2 snapshot ARNs carry no account (IAM's resource format, and what AWS Backup lists).
        arn = ctx.arn("ec2", f"snapshot/{snap['SnapshotId']}", account="")
        full = snap.get("FullSnapshotSizeInBytes")
        basis: str | None
        if full is not None:
            size, basis, exact = full, "FullSnapshotSizeInBytes", True
        else:
            size = snap["VolumeSize"] * GIB if snap.get("VolumeSize") is not None else None
            basis, exact = ("VolumeSize(upper-bound)" if size is not None else None), False
        created_by = snapshot_creator(snap)
        volume = snap.get("VolumeId")
        if volume == UNKNOWN_VOLUME:
            volume = None
        ctx.add(
            "recovery_points",
            recovery_point_arn=arn,
            resource_arn=ctx.arn("ec2", f"volume/{volume}") if volume else None,
            resource_type="ebs-volume",
            backup_type="ebs-snapshot",
            source="aws-backup" if created_by == "aws-backup" else "native",
            created_by=created_by,
            status=SNAPSHOT_STATUS.get(snap.get("State", ""), "FAILED"),
            created_at=snap.get("StartTime"),
            completed_at=snap.get("CompletionTime"),
            size_bytes=size,
            size_basis=basis,
            storage_class="archive" if snap.get("StorageTier") == "archive" else "warm",
            encrypted=snap.get("Encrypted"),
            kms_key_arn=snap.get("KmsKeyId"),
            _size_exact=exact,
            _native_volume_id=volume,
        )
        ctx.add_tags(arn, snap.get("Tags"))
