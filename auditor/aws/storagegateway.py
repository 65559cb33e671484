"""Storage Gateway: volume gateways' cached and stored volumes.

Volumes are listed per gateway (ListVolumes), then described in batches of one gateway and one
volume type each: Describe{Cached,Stored}iSCSIVolumes take ARNs "from the same gateway" only
(Storage Gateway API reference), so a detached volume (no longer on a gateway) cannot be in a
batch; it is kept from its ListVolumes entry, with state DETACHED. A volume deleted between the
listing and the describe makes the whole batch fail with InvalidGatewayRequestException
(errorCode VolumeNotFound): the batch is then described one volume at a time and the deleted one
dropped as gone, so one deletion never blanks a gateway.

Tags come from Storage Gateway's own ListTagsForResource, per volume ARN: it is the API the
Storage Gateway API reference documents for the tags of "storage volumes" (AddTagsToResource,
ListTagsForResource); the Resource Groups Tagging API is not documented to return volumes.

The volumes' backups are EBS snapshots: EC2 lists them with `VolumeId` = the gateway volume's id
in lower case (AWS's documented convention), and the normaliser attributes them to the volume (see
`normalize.attribute_gateway_snapshots`).
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from botocore.exceptions import ClientError

from auditor.aws.context import GONE, Context

AFFECTS = ("storagegateway-volume",)
BATCH = 50
TAGGED_VOLUMES_PER_TASK = 25
VOLUME_GATEWAYS = {"CACHED", "STORED", ""}  # "" keeps a gateway whose type is not reported
DESCRIBE = {
    "stored": ("describe_stored_iscsi_volumes", "StorediSCSIVolumes"),
    "cached": ("describe_cached_iscsi_volumes", "CachediSCSIVolumes"),
}


def _volume_gone(exc: ClientError) -> bool:
    """InvalidGatewayRequestException whose detail says the volume (or its gateway) is gone."""
    detail = exc.response.get("error") or {}
    return exc.response.get("Error", {}).get("Code") == "InvalidGatewayRequestException" and (
        detail.get("errorCode") in ("VolumeNotFound", "GatewayNotFound")
    )


def _describe(ctx: Context, kind: str, arns: list[str]) -> tuple[dict[str, dict], set[str]]:
    """Details of `arns` (one gateway, one type), and the ARNs found deleted meanwhile."""
    method, key = DESCRIBE[kind]
    details: dict[str, dict] = {}
    gone: set[str] = set()
    for start in range(0, len(arns), BATCH):
        batch = arns[start : start + BATCH]
        resp = ctx.call(
            "storagegateway", method, affects=AFFECTS, gone=_volume_gone, VolumeARNs=batch
        )
        if resp is GONE:  # some volume of the batch was deleted: ask one by one
            for arn in batch:
                one = ctx.call(
                    "storagegateway", method, affects=AFFECTS, gone=_volume_gone, VolumeARNs=[arn]
                )
                if one is GONE:
                    gone.add(arn)
                for d in (one or {}).get(key, []):
                    details[d["VolumeARN"]] = d
            continue
        for d in (resp or {}).get(key, []):
            details[d["VolumeARN"]] = d
    return details, gone


def collect(ctx: Context) -> None:
    """Gateway volumes (resources), and tasks reading their tags."""
    gateways = ctx.paginate("storagegateway", "list_gateways", "Gateways", affects=AFFECTS)
    volumes: list[dict] = []
    for gw in gateways or ():
        # Only volume gateways have volumes (file and tape gateways answer ListVolumes with an error).
        if (gw.get("GatewayType") or "").upper() not in VOLUME_GATEWAYS:
            continue
        listed = ctx.paginate(
            "storagegateway",
            "list_volumes",
            "VolumeInfos",
            affects=AFFECTS,
            GatewayARN=gw["GatewayARN"],
        )
        volumes.extend(listed or ())

    groups: dict[tuple[str, str], list[str]] = defaultdict(list)
    for v in volumes:
        if (v.get("VolumeAttachmentStatus") or "").upper() == "DETACHED":
            continue
        kind = "stored" if "STORED" in (v.get("VolumeType") or "").upper() else "cached"
        groups[(v.get("GatewayARN") or "", kind)].append(v["VolumeARN"])
    details: dict[str, dict] = {}
    gone: set[str] = set()
    for (_, kind), arns in groups.items():
        found, deleted = _describe(ctx, kind, arns)
        details.update(found)
        gone |= deleted

    kept = [v for v in volumes if v["VolumeARN"] not in gone]
    for v in kept:
        _add_volume(ctx, v, details.get(v["VolumeARN"], {}))
    arns = [v["VolumeARN"] for v in kept]
    for start in range(0, len(arns), TAGGED_VOLUMES_PER_TASK):
        ctx.spawn(volume_tags, arns[start : start + TAGGED_VOLUMES_PER_TASK])


def _add_volume(ctx: Context, v: dict[str, Any], d: dict[str, Any]) -> None:
    detached = (v.get("VolumeAttachmentStatus") or "").upper() == "DETACHED"
    ctx.add(
        "resources",
        resource_type="storagegateway-volume",
        resource_arn=v["VolumeARN"],
        resource_id=v.get("VolumeId") or d.get("VolumeId"),
        name=d.get("TargetName"),
        created_at=d.get("CreatedDate"),
        size_bytes=v.get("VolumeSizeInBytes", d.get("VolumeSizeInBytes")),
        # Gateway data in AWS is always encrypted (S3-managed keys unless KMSKey is set).
        encrypted=True,
        kms_key_id=d.get("KMSKey"),
        # A detached volume cannot be described; its attachment state is what is known.
        state="DETACHED" if detached else d.get("VolumeStatus"),
        parent_arn=v.get("GatewayARN"),
    )


def volume_tags(ctx: Context, volume_arns: list[str]) -> None:
    """Tags of gateway volumes (ListTagsForResource per volume: there is no bulk form)."""
    for arn in volume_arns:
        tags = ctx.paginate(
            "storagegateway", "list_tags_for_resource", "Tags", affects=AFFECTS, ResourceARN=arn
        )
        ctx.add_tags(arn, tags)
