"""Storage Gateway emulation through real boto3 clients: shapes, paging, errors, tags."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

GIB = 1024**3


def _gateway(sgw, name="gw", gtype="CACHED"):
    return sgw.activate_gateway(
        ActivationKey="AAAAA-BBBBB-CCCCC-DDDDD-EEEEE",
        GatewayName=name,
        GatewayTimezone="GMT",
        GatewayRegion="us-east-1",
        GatewayType=gtype,
    )["GatewayARN"]


def test_gateways_volumes_and_tags(aws):
    sgw = aws("storagegateway")
    assert sgw.list_gateways()["Gateways"] == []
    cached = _gateway(sgw, "cached-gw", "CACHED")
    stored = _gateway(sgw, "stored-gw", "STORED")
    v1 = sgw.create_cached_iscsi_volume(
        GatewayARN=cached,
        VolumeSizeInBytes=2 * 1024 * GIB,
        TargetName="t1",
        NetworkInterfaceId="10.0.0.1",
        ClientToken="token-1",
        Tags=[{"Key": "backup", "Value": "gold"}],
    )["VolumeARN"]
    v2 = sgw.create_stored_iscsi_volume(
        GatewayARN=stored,
        DiskId="pci-0000:03:00.0-scsi-0:0:0:0",
        PreserveExistingData=False,
        TargetName="t2",
        NetworkInterfaceId="10.0.0.1",
    )["VolumeARN"]
    assert v1.startswith(cached + "/volume/vol-")

    gws = sgw.list_gateways()["Gateways"]
    assert {g["GatewayARN"] for g in gws} == {cached, stored}
    assert {g["GatewayType"] for g in gws} == {"CACHED", "STORED"}
    info = sgw.describe_gateway_information(GatewayARN=cached)
    assert info["GatewayName"] == "cached-gw" and info["GatewayState"] == "RUNNING"

    assert [v["VolumeARN"] for v in sgw.list_volumes(GatewayARN=cached)["VolumeInfos"]] == [v1]
    assert {v["VolumeARN"] for v in sgw.list_volumes()["VolumeInfos"]} == {v1, v2}
    cached_desc = sgw.describe_cached_iscsi_volumes(VolumeARNs=[v1])["CachediSCSIVolumes"][0]
    assert cached_desc["VolumeSizeInBytes"] == 2 * 1024 * GIB
    assert cached_desc["VolumeType"] == "CACHED iSCSI"
    assert cached_desc["CreatedDate"].year >= 2024
    stored_desc = sgw.describe_stored_iscsi_volumes(VolumeARNs=[v2])["StorediSCSIVolumes"][0]
    assert stored_desc["VolumeType"] == "STORED iSCSI" and stored_desc["VolumeDiskId"]

    assert sgw.list_tags_for_resource(ResourceARN=v1)["Tags"] == [
        {"Key": "backup", "Value": "gold"}
    ]
    sgw.add_tags_to_resource(ResourceARN=v2, Tags=[{"Key": "env", "Value": "prod"}])
    assert sgw.list_tags_for_resource(ResourceARN=v2)["Tags"] == [{"Key": "env", "Value": "prod"}]
    # The tagging API is not documented to list gateway volumes: only the gateway is there.
    sgw.add_tags_to_resource(ResourceARN=cached, Tags=[{"Key": "site", "Value": "dc1"}])
    tagging = aws("resourcegroupstaggingapi")
    found = {
        m["ResourceARN"]
        for p in tagging.get_paginator("get_resources").paginate(
            ResourceTypeFilters=["storagegateway"]
        )
        for m in p["ResourceTagMappingList"]
    }
    assert found == {cached}


def test_describe_batches_fail_whole_on_a_detached_or_deleted_volume(aws):
    """Describe*iSCSIVolumes take volumes of one gateway; a detached or missing one fails the call."""
    sgw = aws("storagegateway")
    gw = _gateway(sgw)
    arns = [
        sgw.create_cached_iscsi_volume(
            GatewayARN=gw,
            VolumeSizeInBytes=GIB,
            TargetName=f"t{i}",
            NetworkInterfaceId="10.0.0.1",
            ClientToken=f"token-c{i}",
        )["VolumeARN"]
        for i in range(3)
    ]
    assert len(sgw.describe_cached_iscsi_volumes(VolumeARNs=arns)["CachediSCSIVolumes"]) == 3
    sgw.detach_volume(VolumeARN=arns[0])
    listed = {v["VolumeARN"]: v for v in sgw.list_volumes(GatewayARN=gw)["VolumeInfos"]}
    assert listed[arns[0]]["VolumeAttachmentStatus"] == "DETACHED"
    with pytest.raises(ClientError) as err:
        sgw.describe_cached_iscsi_volumes(VolumeARNs=arns)
    assert err.value.response["Error"]["Code"] == "InvalidGatewayRequestException"
    assert len(sgw.describe_cached_iscsi_volumes(VolumeARNs=arns[1:])["CachediSCSIVolumes"]) == 2
    sgw.delete_volume(VolumeARN=arns[1])
    with pytest.raises(ClientError) as err:
        sgw.describe_cached_iscsi_volumes(VolumeARNs=arns[1:])
    assert err.value.response["error"]["errorCode"] == "VolumeNotFound"


def test_volume_snapshot_is_an_ebs_snapshot(aws):
    sgw, ec2 = aws("storagegateway"), aws("ec2")
    gw = _gateway(sgw)
    vol = sgw.create_cached_iscsi_volume(
        GatewayARN=gw,
        VolumeSizeInBytes=100 * GIB,
        TargetName="t",
        NetworkInterfaceId="10.0.0.1",
        ClientToken="token-2",
    )["VolumeARN"]
    snap_id = sgw.create_snapshot(VolumeARN=vol, SnapshotDescription="nightly")["SnapshotId"]
    snap = ec2.describe_snapshots(SnapshotIds=[snap_id])["Snapshots"][0]
    assert snap["VolumeId"] == vol.rsplit("/", 1)[1].lower()  # EC2 writes gateway ids in lower case
    assert snap["VolumeSize"] == 100 and snap["Description"] == "nightly"


def test_errors_are_invalid_gateway_request(aws):
    sgw = aws("storagegateway")
    missing = "arn:aws:storagegateway:us-east-1:123456789012:gateway/sgw-00000000"
    for call in (
        lambda: sgw.describe_gateway_information(GatewayARN=missing),
        lambda: sgw.list_volumes(GatewayARN=missing),
        lambda: sgw.describe_cached_iscsi_volumes(VolumeARNs=[missing + "/volume/vol-00000000"]),
        lambda: sgw.list_tags_for_resource(ResourceARN=missing),
    ):
        with pytest.raises(ClientError) as err:
            call()
        assert err.value.response["Error"]["Code"] == "InvalidGatewayRequestException"
        assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    with pytest.raises(ClientError) as err:
        sgw.describe_gateway_information(GatewayARN=missing)
    assert err.value.response["error"]["errorCode"] == "GatewayNotFound"


def test_volume_lists_page_with_markers(aws):
    sgw = aws("storagegateway")
    gw = _gateway(sgw)
    arns = [
        sgw.create_cached_iscsi_volume(
            GatewayARN=gw,
            VolumeSizeInBytes=10 * GIB,
            TargetName=f"t{i}",
            NetworkInterfaceId="10.0.0.1",
            ClientToken=f"token-{i:03d}",
        )["VolumeARN"]
        for i in range(7)
    ]
    first = sgw.list_volumes(GatewayARN=gw, Limit=3)
    assert len(first["VolumeInfos"]) == 3 and first["Marker"]
    pages = list(
        sgw.get_paginator("list_volumes").paginate(GatewayARN=gw, PaginationConfig={"PageSize": 3})
    )
    assert [len(p["VolumeInfos"]) for p in pages] == [3, 3, 1]
    assert [v["VolumeARN"] for p in pages for v in p["VolumeInfos"]] == arns
    with pytest.raises(ClientError) as err:
        sgw.list_volumes(GatewayARN=gw, Marker="not-a-marker")
    assert err.value.response["Error"]["Code"] == "InvalidGatewayRequestException"
