"""Who could delete or restore the backups: vault access policies and publicly shared backups.

- Vault access policies: GetBackupVaultAccessPolicy once per vault (AWS offers no bulk form), run
  as spawned tasks beside the per-vault recovery point listings. A vault without a policy answers
  ResourceNotFoundException (AWS Backup API reference, GetBackupVaultAccessPolicy, Errors: "A
  resource that is required for the action doesn't exist"): that is recorded as "no policy", not
  as a failed call.
- Public EBS snapshots: one DescribeSnapshots listing per region with OwnerIds=self and
  RestorableByUserIds=all: the account's own snapshots whose create volume permission was granted
  to the `all` group (EC2 API reference, DescribeSnapshots: "public: The owner of the snapshot
  granted create volume permissions for the snapshot to the all group"). No per-snapshot calls.
- Public AMIs: one DescribeImages listing per region with Owners=self and the filter
  is-public=true (EC2 API reference, DescribeImages: "is-public - A Boolean that indicates whether
  the image is public"). An AMI exposes the data of the EBS snapshots behind its block device
  mappings, so each is tied to the volumes those snapshots were taken from.
- Public RDS snapshots: DescribeDBSnapshotAttributes / DescribeDBClusterSnapshotAttributes for
  manual snapshots only: only manual snapshots can be shared (RDS API reference,
  DBSnapshotAttribute: "Manual DB snapshot attributes are used to authorize other AWS accounts
  to restore a manual DB snapshot"); `all` among the `restore` attribute's values makes it public.
  There is no bulk form, so the calls are bounded per region (RDS_ATTRIBUTE_CALLS_PER_REGION);
  the snapshots past the bound are recorded as unchecked in `errors`, which makes the verdicts
  that depend on them NOT_ASSESSED. The manifest's `api_calls` counts the calls made.

Only what is found public (or the policy text) is recorded, in `public_backups` and
`vault_policies`; collectors never judge it.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from auditor.aws.context import BACKUP_WIDE, GONE, Context, not_found

__all__ = [
    "RDS_ATTRIBUTE_CALLS_PER_REGION",
    "RDS_SNAPSHOTS_PER_TASK",
    "public_amis",
    "public_ebs_snapshots",
    "rds_snapshot_sharing",
    "spawn_rds_sharing_checks",
    "vault_access_policy",
]

# At most this many DescribeDB(Cluster)SnapshotAttributes calls per account and region: RDS keeps
# up to 100 manual snapshots per region by default (RDS User Guide, "Quotas in Amazon RDS":
# "Manual DB instance snapshots 100", "Manual DB cluster snapshots 100"), raised on request.
RDS_ATTRIBUTE_CALLS_PER_REGION = 2000
RDS_SNAPSHOTS_PER_TASK = 50
PUBLIC = "all"
NOT_CHECKED = "NotChecked"


def vault_access_policy(ctx: Context, vault_name: str, vault_arn: str | None) -> None:
    """One `vault_policies` row: the vault's access policy document, or none."""
    answer = ctx.call(
        "backup",
        "get_backup_vault_access_policy",
        affects=BACKUP_WIDE,
        gone=not_found("ResourceNotFoundException"),
        BackupVaultName=vault_name,
    )
    if answer is None:
        return  # recorded in `errors`: the vault's protection is not assessed
    ctx.add(
        "vault_policies",
        vault_name=vault_name,
        vault_arn=(answer.get("BackupVaultArn") if answer is not GONE else None) or vault_arn,
        has_policy=answer is not GONE and bool(answer.get("Policy")),
        policy=None if answer is GONE else answer.get("Policy"),
    )


def public_ebs_snapshots(ctx: Context, volume_of: dict[str, str | None]) -> None:
    """The account's EBS snapshots restorable by anyone (one paginated listing)."""
    snapshots = ctx.paginate(
        "ec2",
        "describe_snapshots",
        "Snapshots",
        affects=("ebs-volume",),
        OwnerIds=["self"],
        RestorableByUserIds=[PUBLIC],
    )
    for snap in snapshots or ():
        snapshot_id = snap["SnapshotId"]
        volume = volume_of.get(snapshot_id, snap.get("VolumeId"))
        _add_public(
            ctx,
            backup_type="ebs-snapshot",
            backup_id=snapshot_id,
            backup_arn=ctx.arn("ec2", f"snapshot/{snapshot_id}", account=""),
            resource_arn=_volume_arn(ctx, volume),
            shared_with=PUBLIC,
        )


def public_amis(ctx: Context, volume_of: dict[str, str | None]) -> None:
    """The account's public AMIs, one row per volume whose snapshot backs the AMI."""
    images = ctx.paginate(
        "ec2",
        "describe_images",
        "Images",
        affects=("ebs-volume",),
        Owners=["self"],
        Filters=[{"Name": "is-public", "Values": ["true"]}],
    )
    for image in images or ():
        image_id = image["ImageId"]
        snapshots = [
            str((m.get("Ebs") or {}).get("SnapshotId"))
            for m in image.get("BlockDeviceMappings") or ()
            if (m.get("Ebs") or {}).get("SnapshotId")
        ]
        found = sorted({v for v in (volume_of.get(s) for s in snapshots) if v})
        volumes: list[str | None] = list(found) or [None]
        for volume in volumes:
            _add_public(
                ctx,
                backup_type="ami",
                backup_id=image_id,
                backup_arn=ctx.arn("ec2", f"image/{image_id}", account=""),
                resource_arn=_volume_arn(ctx, volume),
                shared_with=PUBLIC,
            )


def spawn_rds_sharing_checks(ctx: Context, manual: Iterable[tuple[str, str, str | None]]) -> None:
    """Queue the sharing checks of manual RDS snapshots: (kind, identifier, source resource ARN).

    `kind` is "rds-snapshot" or "rds-cluster-snapshot". Past RDS_ATTRIBUTE_CALLS_PER_REGION, the
    rest are recorded as unchecked.
    """
    items = list(manual)
    checked = items[:RDS_ATTRIBUTE_CALLS_PER_REGION]
    for kind, affects in (
        ("rds-snapshot", "rds-instance"),
        ("rds-cluster-snapshot", "rds-cluster"),
    ):
        skipped = sum(1 for k, _, _ in items[RDS_ATTRIBUTE_CALLS_PER_REGION:] if k == kind)
        if skipped:
            ctx.records["errors"].append(
                {
                    "account_id": ctx.account_id,
                    "region": ctx.region,
                    "service": "rds",
                    "operation": _OPERATION[kind],
                    "error_code": NOT_CHECKED,
                    "message": f"{skipped} manual snapshot(s) not checked for public sharing: more "
                    f"than {RDS_ATTRIBUTE_CALLS_PER_REGION} in this region",
                    "affects": affects,
                }
            )
    for start in range(0, len(checked), RDS_SNAPSHOTS_PER_TASK):
        ctx.spawn(rds_snapshot_sharing, checked[start : start + RDS_SNAPSHOTS_PER_TASK])


_OPERATION = {
    "rds-snapshot": "DescribeDBSnapshotAttributes",
    "rds-cluster-snapshot": "DescribeDBClusterSnapshotAttributes",
}


def rds_snapshot_sharing(ctx: Context, snapshots: list[tuple[str, str, str | None]]) -> None:
    """One attributes call per manual snapshot; a row for each one shared with `all`."""
    for kind, ident, resource_arn in snapshots:
        if kind == "rds-snapshot":
            answer = ctx.call(
                "rds",
                "describe_db_snapshot_attributes",
                affects=("rds-instance",),
                gone=not_found("DBSnapshotNotFound"),
                DBSnapshotIdentifier=ident,
            )
            result = (answer or {}).get("DBSnapshotAttributesResult") or {}
            attributes = result.get("DBSnapshotAttributes") or []
            prefix = "snapshot"
        else:
            answer = ctx.call(
                "rds",
                "describe_db_cluster_snapshot_attributes",
                affects=("rds-cluster",),
                gone=not_found("DBClusterSnapshotNotFoundFault"),
                DBClusterSnapshotIdentifier=ident,
            )
            result = (answer or {}).get("DBClusterSnapshotAttributesResult") or {}
            attributes = result.get("DBClusterSnapshotAttributes") or []
            prefix = "cluster-snapshot"
        if not answer:
            continue  # failed (recorded) or deleted since the listing
        restore = _restore_values(attributes)
        if PUBLIC in restore:
            _add_public(
                ctx,
                backup_type=kind,
                backup_id=ident,
                backup_arn=ctx.arn("rds", f"{prefix}:{ident}"),
                resource_arn=resource_arn,
                shared_with=",".join(sorted(restore)),
            )


def _restore_values(attributes: list[dict[str, Any]]) -> set[str]:
    return {
        str(v)
        for a in attributes
        if a.get("AttributeName") == "restore"
        for v in a.get("AttributeValues") or ()
    }


def _volume_arn(ctx: Context, volume: str | None) -> str | None:
    # What EC2 shows as the volume of a copied or AMI-registered snapshot (auditor.aws.ebs):
    # no known source volume.
    if not volume or volume == "vol-ffffffff":
        return None
    return ctx.arn("ec2", f"volume/{volume}")


def _add_public(ctx: Context, **row: Any) -> None:
    ctx.add("public_backups", **row)
