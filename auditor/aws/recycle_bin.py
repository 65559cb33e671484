"""EBS snapshots in the Recycle Bin: deleted, not yet gone, and still billed.

A snapshot deleted while a Recycle Bin retention rule applies stays in the bin until its
RecycleBinExitTime; DescribeSnapshots no longer lists it, ListSnapshotsInRecycleBin does (EC2 API
reference). While there it "can only be viewed, restored or have its tags modified" (Amazon EBS
User Guide, "Considerations for Recycle Bin"): it restores nothing until recovered, so it is no
backup for recency or retention. It is billed at the snapshot storage rate all the while
(Amazon EBS User Guide, "Recover deleted Amazon EBS snapshots and EBS-backed AMIs with Recycle
Bin", Pricing), so metering counts it until its exit time.

The listing has no size. The snapshot's volume, when it still exists, gives an upper bound
(a snapshot holds at most its volume's blocks); otherwise the size is unknown, which metering
reports as unsized rather than as free.
"""

from __future__ import annotations

from typing import Any

from auditor.aws.context import Context

# What a failed listing leaves incomplete: the EBS snapshots (of volumes and of SGW volumes).
AFFECTS = ("ebs-volume", "storagegateway-volume")
GIB = 1024**3
# What EC2 shows as the volume of a copied snapshot: no known source.
UNKNOWN_VOLUME = "vol-ffffffff"
# Status of a backup that exists but restores nothing (the inventory's word for "being deleted").
IN_BIN_STATUS = "DELETING"


def collect(ctx: Context, volume_sizes: dict[str, Any]) -> None:
    """One `recovery_points` row per snapshot in the bin; `volume_sizes` maps volume id -> GiB."""
    listed = ctx.paginate("ec2", "list_snapshots_in_recycle_bin", "Snapshots", affects=AFFECTS)
    from auditor.aws.ebs import snapshot_creator  # ebs imports this module

    for snap in listed or ():
        created_by = snapshot_creator(snap)  # the listing has its Description, not its tags
        volume = snap.get("VolumeId")
        if volume == UNKNOWN_VOLUME:
            volume = None
        gib = volume_sizes.get(volume) if volume else None
        ctx.add(
            "recovery_points",
            # EC2 snapshot ARNs carry no account (IAM's resource format, as DescribeSnapshots rows).
            recovery_point_arn=ctx.arn("ec2", f"snapshot/{snap['SnapshotId']}", account=""),
            resource_arn=ctx.arn("ec2", f"volume/{volume}") if volume else None,
            resource_type="ebs-volume",
            backup_type="ebs-snapshot",
            source="aws-backup" if created_by == "aws-backup" else "native",
            created_by=created_by,
            status=IN_BIN_STATUS,
            # When it entered the bin is not when it was taken: its creation time is unknown.
            created_at=None,
            size_bytes=int(gib) * GIB if gib is not None else None,
            size_basis="VolumeSize(upper-bound)" if gib is not None else None,
            storage_class="warm",
            # Recycle Bin deletes it for good at RecycleBinExitTime: billed until then.
            delete_at=snap.get("RecycleBinExitTime"),
            _size_exact=False,
            _native_volume_id=volume,
        )
