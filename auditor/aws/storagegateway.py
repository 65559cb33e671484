"""Storage Gateway: volume gateways' cached and stored volumes.

Volumes are listed per gateway (ListVolumes), then described in batches per gateway and volume
type (Describe{Cached,Stored}iSCSIVolumes take a list of ARNs of one gateway). Tags come in bulk
from the Resource Groups Tagging API. The volumes' backups are EBS snapshots: EC2 lists them with
`VolumeId` = the gateway volume's id in lower case (AWS's documented convention), and the
normaliser attributes them to the volume (see `normalize.attribute_gateway_snapshots`).
"""

from __future__ import annotations

from collections import defaultdict

from auditor.aws.context import Context

AFFECTS = ("storagegateway-volume",)
BATCH = 50
VOLUME_GATEWAYS = {"CACHED", "STORED", ""}  # "" keeps a gateway whose type is not reported


def collect(ctx: Context) -> None:
    """Gateway volumes (resources, tags)."""
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
        kind = "stored" if "STORED" in (v.get("VolumeType") or "").upper() else "cached"
        groups[(v.get("GatewayARN") or "", kind)].append(v["VolumeARN"])
    details: dict[str, dict] = {}
    for (_, kind), arns in groups.items():
        method, key = (
            ("describe_stored_iscsi_volumes", "StorediSCSIVolumes")
            if kind == "stored"
            else ("describe_cached_iscsi_volumes", "CachediSCSIVolumes")
        )
        for start in range(0, len(arns), BATCH):
            resp = ctx.call(
                "storagegateway", method, affects=AFFECTS, VolumeARNs=arns[start : start + BATCH]
            )
            for d in (resp or {}).get(key, []):
                details[d["VolumeARN"]] = d

    for v in volumes:
        d = details.get(v["VolumeARN"], {})
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
            state=d.get("VolumeStatus"),
            parent_arn=v.get("GatewayARN"),
        )

    tagged = ctx.paginate(
        "resourcegroupstaggingapi",
        "get_resources",
        "ResourceTagMappingList",
        affects=AFFECTS,
        ResourceTypeFilters=["storagegateway:volume"],
    )
    for item in tagged or ():
        ctx.add_tags(item["ResourceARN"], item.get("Tags"))
