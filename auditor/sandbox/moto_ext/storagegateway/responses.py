"""Storage Gateway request handlers (JSON protocol, `X-Amz-Target: StorageGateway_20130630.<Op>`).

Parameters are parsed and results serialized with botocore's model (moto's automated parsing and
`ActionResult`), so shapes, timestamps and errors are what boto3 expects. Errors are
`InvalidGatewayRequestException` with AWS's `error.errorCode` detail (GatewayNotFound,
VolumeNotFound, InvalidParameters).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from moto.core.responses import ActionResult, BaseResponse
from moto.core.utils import camelcase_to_underscores

from auditor.sandbox.moto_ext.paging import page
from auditor.sandbox.moto_ext.storagegateway.models import (
    InvalidGatewayRequestException,
    StorageGatewayBackend,
    storagegateway_backends,
)

_LIST_FIELDS = (
    "GatewayId",
    "GatewayARN",
    "GatewayType",
    "GatewayOperationalState",
    "GatewayName",
    "HostEnvironment",
    "SoftwareVersion",
)
_VOLUME_INFO_FIELDS = (
    "VolumeARN",
    "VolumeId",
    "GatewayARN",
    "GatewayId",
    "VolumeType",
    "VolumeSizeInBytes",
    "VolumeAttachmentStatus",
)


def _bad_marker(message: str) -> Exception:
    return InvalidGatewayRequestException(message, "InvalidParameters", {"Marker": "invalid"})


class StorageGatewayResponse(BaseResponse):
    """Handlers for the Storage Gateway operations the auditor reads (and a few to seed with)."""

    def __init__(self) -> None:
        super().__init__(service_name="storagegateway")
        self.automated_parameter_parsing = True

    @property
    def backend(self) -> StorageGatewayBackend:
        return storagegateway_backends[self.current_account][self.region]

    def _paged(self, items: list[Any], scope: str) -> tuple[list[Any], str | None]:
        return page(
            items,
            self.params.get("Marker"),
            self.params.get("Limit"),
            default=100,
            maximum=100,
            scope=scope,
            bad_token=_bad_marker,
        )

    def list_gateways(self) -> ActionResult:
        rows = [{k: g[k] for k in _LIST_FIELDS if k in g} for g in self.backend.gateways.values()]
        chunk, marker = self._paged(rows, "gateways")
        body: dict[str, Any] = {"Gateways": chunk}
        if marker:
            body["Marker"] = marker
        return ActionResult(body)

    def describe_gateway_information(self) -> ActionResult:
        gw = dict(self.backend.gateway(self.params["GatewayARN"]))
        gw.pop("GatewayOperationalState", None)
        gw["Tags"] = [
            {"Key": k, "Value": v} for k, v in self.backend.tags.get(gw["GatewayARN"], {}).items()
        ]
        return ActionResult(gw)

    def list_volumes(self) -> ActionResult:
        gateway_arn = self.params.get("GatewayARN")
        vols = list(self.backend.volumes.values())
        if gateway_arn:
            self.backend.gateway(gateway_arn)
            vols = [v for v in vols if v["GatewayARN"] == gateway_arn]
        rows = [{k: v[k] for k in _VOLUME_INFO_FIELDS} for v in vols]
        chunk, marker = self._paged(rows, f"volumes:{gateway_arn}")
        body: dict[str, Any] = {"VolumeInfos": chunk}
        if gateway_arn:
            body["GatewayARN"] = gateway_arn
        if marker:
            body["Marker"] = marker
        return ActionResult(body)

    def _describe_volumes(self, volume_type: str, key: str) -> ActionResult:
        # "All of the specified ... volumes must be from the same gateway" (Storage Gateway API
        # reference, DescribeCachediSCSIVolumes / DescribeStorediSCSIVolumes): a detached volume
        # is on no gateway, so a batch holding one, or volumes of two gateways, fails as a whole,
        # as does a batch naming a volume that does not exist (VolumeNotFound).
        out = []
        for arn in self.params["VolumeARNs"]:
            vol = self.backend.volume(arn)
            if vol["VolumeType"] != volume_type:
                raise InvalidGatewayRequestException(
                    f"The specified volume is not a {volume_type} volume.",
                    "InvalidParameters",
                    {"VolumeARN": arn},
                )
            out.append(vol)
        gateways = {
            v["GatewayARN"] if v["VolumeAttachmentStatus"] != "DETACHED" else None for v in out
        }
        if len(gateways) > 1 or (None in gateways and len(out) > 1):
            raise InvalidGatewayRequestException(
                "Cannot describe volumes of multiple gateways.", "InvalidParameters"
            )
        return ActionResult({key: sorted(out, key=lambda v: v["VolumeARN"])})

    def describe_cached_iscsi_volumes(self) -> ActionResult:
        return self._describe_volumes("CACHED iSCSI", "CachediSCSIVolumes")

    def describe_stored_iscsi_volumes(self) -> ActionResult:
        return self._describe_volumes("STORED iSCSI", "StorediSCSIVolumes")

    def list_tags_for_resource(self) -> ActionResult:
        arn = self.params["ResourceARN"]
        tags = [{"Key": k, "Value": v} for k, v in self.backend.resource_tags(arn).items()]
        chunk, marker = self._paged(tags, f"tags:{arn}")
        body: dict[str, Any] = {"ResourceARN": arn, "Tags": chunk}
        if marker:
            body["Marker"] = marker
        return ActionResult(body)

    # ---- calls to build an estate through the API
    def activate_gateway(self) -> ActionResult:
        p = self.params
        if p.get("GatewayRegion") and p["GatewayRegion"] != self.region:
            raise InvalidGatewayRequestException(
                "GatewayRegion does not match the endpoint.", "InvalidParameters"
            )
        gw = self.backend.add_gateway(
            p["GatewayName"],
            p.get("GatewayType", "STORED"),
            timezone_name=p["GatewayTimezone"],
            tags={t["Key"]: t["Value"] for t in p.get("Tags", [])},
        )
        return ActionResult({"GatewayARN": gw["GatewayARN"]})

    def _create_volume(self, volume_type: str) -> ActionResult:
        p = self.params
        size = p.get("VolumeSizeInBytes")
        if size is None:  # a stored volume takes the size of its local disk
            size = 1024**4
        vol = self.backend.add_volume(
            p["GatewayARN"],
            volume_type,
            int(size),
            target_name=p["TargetName"],
            kms_key=p.get("KMSKey"),
            source_snapshot_id=p.get("SnapshotId"),
            tags={t["Key"]: t["Value"] for t in p.get("Tags", [])},
        )
        return ActionResult(
            {"VolumeARN": vol["VolumeARN"], "TargetARN": vol["VolumeiSCSIAttributes"]["TargetARN"]}
        )

    def create_cached_iscsi_volume(self) -> ActionResult:
        return self._create_volume("CACHED iSCSI")

    def create_stored_iscsi_volume(self) -> ActionResult:
        return self._create_volume("STORED iSCSI")

    def detach_volume(self) -> ActionResult:
        """DetachVolume: the volume leaves its gateway (VolumeAttachmentStatus DETACHED)."""
        arn = self.params["VolumeARN"]
        self.backend.volume(arn)["VolumeAttachmentStatus"] = "DETACHED"
        return ActionResult({"VolumeARN": arn})

    def delete_volume(self) -> ActionResult:
        arn = self.params["VolumeARN"]
        self.backend.volume(arn)
        del self.backend.volumes[arn]
        self.backend.tags.pop(arn, None)
        return ActionResult({"VolumeARN": arn})

    def add_tags_to_resource(self) -> ActionResult:
        arn = self.params["ResourceARN"]
        self.backend.tag_resource(arn, {t["Key"]: t["Value"] for t in self.params["Tags"]})
        return ActionResult({"ResourceARN": arn})

    def remove_tags_from_resource(self) -> ActionResult:
        arn = self.params["ResourceARN"]
        self.backend.untag_resource(arn, list(self.params["TagKeys"]))
        return ActionResult({"ResourceARN": arn})

    def create_snapshot(self) -> ActionResult:
        """A volume snapshot is an EBS snapshot whose VolumeId is the gateway volume id in lower case."""
        from auditor.sandbox.moto_ext.native import add_ebs_snapshot

        vol = self.backend.volume(self.params["VolumeARN"])
        sid = add_ebs_snapshot(
            self.current_account,
            self.region,
            volume_id=vol["VolumeId"].lower(),
            volume_size_gib=max(1, vol["VolumeSizeInBytes"] // 1024**3),
            created=datetime.now(UTC),
            description=self.params["SnapshotDescription"],
            encrypted=True,
            kms_key_id=vol.get("KMSKey"),
            tags={t["Key"]: t["Value"] for t in self.params.get("Tags", [])},
        )
        return ActionResult({"VolumeARN": vol["VolumeARN"], "SnapshotId": sid})


# moto dispatches on camelcase_to_underscores(<operation name>); make sure each handler is found
# under that name whatever it makes of "iSCSI".
for _op, _fn in {
    "DescribeCachediSCSIVolumes": StorageGatewayResponse.describe_cached_iscsi_volumes,
    "DescribeStorediSCSIVolumes": StorageGatewayResponse.describe_stored_iscsi_volumes,
    "CreateCachediSCSIVolume": StorageGatewayResponse.create_cached_iscsi_volume,
    "CreateStorediSCSIVolume": StorageGatewayResponse.create_stored_iscsi_volume,
}.items():
    setattr(StorageGatewayResponse, camelcase_to_underscores(_op), _fn)
