"""The sandbox as a local server: real boto3 clients over HTTP reach the seeded estate."""

from __future__ import annotations

from datetime import UTC, datetime

import boto3
import pytest
from botocore.exceptions import ClientError

from auditor.sandbox import SandboxServer, seed_estate

AS_OF = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def server():
    with SandboxServer() as srv:
        estate = seed_estate(AS_OF, regions=("us-east-1", "eu-west-1"), account_id="123456789012")
        yield srv, estate
    # moto's backends outlive the server; reset them so later tests start empty.
    from moto.core.base_backend import BackendDict

    BackendDict.reset()


def _client(srv, service, region="us-east-1"):
    return boto3.client(
        service,
        region_name=region,
        endpoint_url=srv.endpoint_url,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


def test_endpoint_is_loopback(server):
    srv, _ = server
    assert srv.endpoint_url.startswith("http://127.0.0.1:")


def test_backup_over_http(server):
    srv, estate = server
    backup = _client(srv, "backup")
    rps = [
        rp
        for p in backup.get_paginator("list_recovery_points_by_backup_vault").paginate(
            BackupVaultName="gold-vault", PaginationConfig={"PageSize": 50}
        )
        for rp in p["RecoveryPoints"]
    ]
    truth = estate.backups[
        (estate.backups.region == "us-east-1") & (estate.backups.vault_name == "gold-vault")
    ]
    assert {r["RecoveryPointArn"] for r in rps} == set(truth.recovery_point_arn)
    # ARNs with "/" inside the path (EBS snapshots) survive the HTTP round trip.
    ebs = next(r for r in rps if r["RecoveryPointArn"].startswith("arn:aws:ec2:"))
    described = backup.describe_recovery_point(
        BackupVaultName="gold-vault", RecoveryPointArn=ebs["RecoveryPointArn"]
    )
    assert described["StorageClass"] in ("WARM", "COLD")
    by_resource = backup.list_recovery_points_by_resource(ResourceArn=ebs["ResourceArn"])[
        "RecoveryPoints"
    ]
    assert ebs["RecoveryPointArn"] in {r["RecoveryPointArn"] for r in by_resource}
    plan_id = backup.list_backup_plans()["BackupPlansList"][0]["BackupPlanId"]
    sel = backup.list_backup_selections(BackupPlanId=plan_id)["BackupSelectionsList"][0]
    assert backup.get_backup_selection(BackupPlanId=plan_id, SelectionId=sel["SelectionId"])[
        "BackupSelection"
    ]
    assert (
        backup.list_copy_jobs()["CopyJobs"]
        and backup.list_backup_jobs(ByState="FAILED")["BackupJobs"]
    )
    assert (
        backup.describe_region_settings()["ResourceTypeManagementPreference"]["DynamoDB"] is False
    )
    assert backup.list_protected_resources()["Results"]
    with pytest.raises(ClientError) as err:
        backup.describe_backup_vault(BackupVaultName="missing")
    assert err.value.response["Error"]["Code"] == "ResourceNotFoundException"


def test_storage_gateway_and_native_over_http(server, monkeypatch):
    srv, estate = server
    monkeypatch.setenv("AWS_ENDPOINT_URL", srv.endpoint_url)
    session = boto3.session.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name="eu-west-1"
    )
    sgw = session.client("storagegateway")
    vols = sgw.list_volumes()["VolumeInfos"]
    truth = estate.resources[
        (estate.resources.region == "eu-west-1")
        & (estate.resources.resource_type == "storagegateway-volume")
    ]
    assert {v["VolumeARN"] for v in vols} == set(truth.resource_arn)
    with pytest.raises(ClientError) as err:
        sgw.describe_gateway_information(
            GatewayARN="arn:aws:storagegateway:eu-west-1:123456789012:gateway/sgw-00000000"
        )
    assert err.value.response["Error"]["Code"] == "InvalidGatewayRequestException"
    ec2 = session.client("ec2")
    page = ec2.describe_snapshots(OwnerIds=["self"], MaxResults=5)
    assert len(page["Snapshots"]) == 5 and page["NextToken"]
    assert session.client("dynamodb").list_backups(BackupType="ALL", Limit=3)["BackupSummaries"]


def test_every_paged_listing_pages_over_http(server):
    """Page tokens survive the server's request parsing (query keys, JSON bodies)."""
    srv, estate = server
    b = estate.backups[estate.backups.region == "us-east-1"]
    ec2 = _client(srv, "ec2")
    snaps = [
        s
        for p in ec2.get_paginator("describe_snapshots").paginate(
            OwnerIds=["self"], PaginationConfig={"PageSize": 100}
        )
        for s in p["Snapshots"]
    ]
    # every seeded AMI stands on one EBS snapshot, listed by DescribeSnapshots too
    kinds = ["ebs-snapshot", "storagegateway-snapshot", "ec2-image"]
    assert len(snaps) == len(b[b.backup_type.isin(kinds)])
    vols = [
        v
        for p in ec2.get_paginator("describe_volumes").paginate(PaginationConfig={"PageSize": 5})
        for v in p["Volumes"]
    ]
    assert len(vols) == len(
        estate.resources[
            (estate.resources.region == "us-east-1")
            & (estate.resources.resource_type == "ebs-volume")
        ]
    )
    rds = _client(srv, "rds")
    db = [
        s
        for p in rds.get_paginator("describe_db_snapshots").paginate(
            SnapshotType="awsbackup", PaginationConfig={"PageSize": 20}
        )
        for s in p["DBSnapshots"]
    ]
    assert len(db) == len(b[(b.backup_type == "rds-snapshot") & (b.source == "aws-backup")]) > 20
    ddb = _client(srv, "dynamodb")
    seen = 0
    # ALL lists USER and SYSTEM backups; AWS Backup's need AWS_BACKUP (as on AWS).
    for backup_type in ("ALL", "AWS_BACKUP"):
        start = None
        while True:
            resp = ddb.list_backups(
                BackupType=backup_type,
                Limit=10,
                **({"ExclusiveStartBackupArn": start} if start else {}),
            )
            seen += len(resp["BackupSummaries"])
            start = resp.get("LastEvaluatedBackupArn")
            if not start:
                break
    assert seen == len(
        b[
            (b.backup_type == "dynamodb-backup")
            & ~b.recovery_point_arn.str.contains(":recovery-point:")
        ]
    )
    backup = _client(srv, "backup")
    jobs = [
        j
        for p in backup.get_paginator("list_backup_jobs").paginate(
            PaginationConfig={"PageSize": 100}
        )
        for j in p["BackupJobs"]
    ]
    assert len(jobs) == len(
        estate.jobs[(estate.jobs.region == "us-east-1") & (estate.jobs.job_type == "backup")]
    )
    sgw = _client(srv, "storagegateway")
    vols = [
        v
        for p in sgw.get_paginator("list_volumes").paginate(PaginationConfig={"PageSize": 1})
        for v in p["VolumeInfos"]
    ]
    assert len(vols) == len(
        estate.resources[
            (estate.resources.region == "us-east-1")
            & (estate.resources.resource_type == "storagegateway-volume")
        ]
    )
