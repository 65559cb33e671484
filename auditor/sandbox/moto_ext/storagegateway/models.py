"""Storage Gateway backend: gateways and volumes as dicts in the API's own shapes.

Gateway ARN: arn:aws:storagegateway:REGION:ACCT:gateway/sgw-XXXXXXXX
Volume ARN:  arn:aws:storagegateway:REGION:ACCT:gateway/sgw-XXXXXXXX/volume/vol-XXXXXXXX
(8 upper-case hex digits, the format the Storage Gateway API reference shows). A volume's
snapshots are EBS snapshots whose VolumeId is the volume id in lower case (see auditor.sandbox).
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from moto.core.base_backend import BackendDict, BaseBackend
from moto.core.exceptions import ServiceException
from moto.core.resource_tagging import TaggableResourcesMixin, TaggedResource


class InvalidGatewayRequestException(ServiceException):
    """AWS's error for a missing gateway/volume or a bad request, with its `error` detail."""

    code = "InvalidGatewayRequestException"

    def __init__(
        self, message: str, error_code: str, details: dict[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.error = {"errorCode": error_code, "errorDetails": details or {}}


def _hex8(rng: random.Random | None = None) -> str:
    r = rng or random
    return "".join(r.choice("0123456789ABCDEF") for _ in range(8))


class StorageGatewayBackend(BaseBackend, TaggableResourcesMixin):
    """One region of one account: gateways, volumes and tags."""

    SERVICE_NAMESPACE = "storagegateway"

    def __init__(self, region_name: str, account_id: str) -> None:
        super().__init__(region_name, account_id)
        self.gateways: dict[str, dict[str, Any]] = {}
        self.volumes: dict[str, dict[str, Any]] = {}
        self.tags: dict[str, dict[str, str]] = {}

    # -- creation (API and direct seeding)
    def add_gateway(
        self,
        name: str,
        gateway_type: str = "CACHED",
        *,
        timezone_name: str = "GMT",
        gateway_id: str | None = None,
        tags: dict[str, str] | None = None,
        host_environment: str = "VMWARE",
        rng: random.Random | None = None,
    ) -> dict[str, Any]:
        gid = gateway_id or f"sgw-{_hex8(rng)}"
        arn = f"arn:aws:storagegateway:{self.region_name}:{self.account_id}:gateway/{gid}"
        gw = {
            "GatewayARN": arn,
            "GatewayId": gid,
            "GatewayName": name,
            "GatewayTimezone": timezone_name,
            "GatewayState": "RUNNING",
            "GatewayType": gateway_type,
            "GatewayOperationalState": "ACTIVE",
            "GatewayNetworkInterfaces": [{"Ipv4Address": "10.0.0.10"}],
            "HostEnvironment": host_environment,
            "EndpointType": "STANDARD",
            "SoftwareVersion": "2.7.0",
            "GatewayCapacity": "Medium",
        }
        self.gateways[arn] = gw
        self.tags[arn] = dict(tags or {})
        return gw

    def gateway(self, arn: str) -> dict[str, Any]:
        gw = self.gateways.get(arn or "")
        if gw is None:
            raise InvalidGatewayRequestException(
                "The specified gateway was not found.", "GatewayNotFound", {"GatewayARN": str(arn)}
            )
        return gw

    def add_volume(
        self,
        gateway_arn: str,
        volume_type: str,
        size_bytes: int,
        *,
        target_name: str,
        created: datetime | None = None,
        used_bytes: int | None = None,
        volume_id: str | None = None,
        kms_key: str | None = None,
        source_snapshot_id: str | None = None,
        tags: dict[str, str] | None = None,
        rng: random.Random | None = None,
    ) -> dict[str, Any]:
        gw = self.gateway(gateway_arn)
        vid = volume_id or f"vol-{_hex8(rng)}"
        arn = f"{gw['GatewayARN']}/volume/{vid}"
        vol: dict[str, Any] = {
            "VolumeARN": arn,
            "VolumeId": vid,
            "GatewayARN": gw["GatewayARN"],
            "GatewayId": gw["GatewayId"],
            "VolumeType": volume_type,  # CACHED iSCSI | STORED iSCSI
            "VolumeStatus": "AVAILABLE",
            "VolumeAttachmentStatus": "ATTACHED",
            "VolumeSizeInBytes": int(size_bytes),
            "VolumeProgress": 100.0,
            "VolumeiSCSIAttributes": {
                "TargetARN": f"{gw['GatewayARN']}/target/iqn.1997-05.com.amazon:{target_name}",
                "NetworkInterfaceId": "10.0.0.10",
                "NetworkInterfacePort": 3260,
                "LunNumber": 0,
                "ChapEnabled": False,
            },
            "CreatedDate": created or datetime.now(UTC),
            "VolumeUsedInBytes": int(used_bytes if used_bytes is not None else size_bytes // 3),
            "TargetName": target_name,
        }
        if kms_key:
            vol["KMSKey"] = kms_key
        if source_snapshot_id:
            vol["SourceSnapshotId"] = source_snapshot_id
        if volume_type == "STORED iSCSI":
            vol["VolumeDiskId"] = "pci-0000:03:00.0-scsi-0:0:1:0"
            vol["PreservedExistingData"] = False
        self.volumes[arn] = vol
        self.tags[arn] = dict(tags or {})
        return vol

    def volume(self, arn: str) -> dict[str, Any]:
        vol = self.volumes.get(arn)
        if vol is None:
            raise InvalidGatewayRequestException(
                "The specified volume was not found.", "VolumeNotFound", {"VolumeARN": arn}
            )
        return vol

    def resource_tags(self, arn: str) -> dict[str, str]:
        if arn not in self.tags:
            raise InvalidGatewayRequestException(
                "The specified resource was not found.", "InvalidParameters", {"ResourceARN": arn}
            )
        return self.tags[arn]

    # Resource Groups Tagging API. Volume tags are read with Storage Gateway's own
    # ListTagsForResource (the API its reference documents for storage volumes' tags); the tagging
    # API is not documented to return volumes, so only gateways are listed there.
    def iter_tagged_resources(self) -> Iterator[TaggedResource]:
        for arn in self.gateways:
            yield TaggedResource(
                arn=arn, tags=dict(self.tags.get(arn, {})), resource_type="storagegateway:gateway"
            )

    def tag_resource(self, arn: str, tags: dict[str, str]) -> None:
        self.resource_tags(arn).update(tags)

    def untag_resource(self, arn: str, tag_keys: list[str]) -> None:
        current = self.resource_tags(arn)
        for key in tag_keys:
            current.pop(key, None)


storagegateway_backends = BackendDict(StorageGatewayBackend, "storagegateway")
