"""Read-only checks on one seeded estate: AWS Backup and EC2/RDS/DynamoDB listings page like AWS,
filter like AWS, and agree with the seeding's ground truth."""

from __future__ import annotations

from datetime import timedelta

import pytest
from botocore.exceptions import ClientError


def _all(client, op, key, **kwargs):
    pages = list(client.get_paginator(op).paginate(**kwargs))
    return pages, [item for p in pages for item in p[key]]


def test_recovery_points_page_with_tokens(estate, api):
    backup = api("backup")
    total = backup.describe_backup_vault(BackupVaultName="gold-vault")["NumberOfRecoveryPoints"]
    assert total > 25
    seen, token, pages = [], None, 0
    while True:
        kwargs = {"BackupVaultName": "gold-vault", "MaxResults": 10}
        if token:
            kwargs["NextToken"] = token
        resp = backup.list_recovery_points_by_backup_vault(**kwargs)
        assert len(resp["RecoveryPoints"]) <= 10
        seen += [r["RecoveryPointArn"] for r in resp["RecoveryPoints"]]
        pages += 1
        token = resp.get("NextToken")
        if not token:
            break
    assert pages == -(-total // 10)
    assert len(seen) == len(set(seen)) == total
    paginated = [
        r["RecoveryPointArn"]
        for p in backup.get_paginator("list_recovery_points_by_backup_vault").paginate(
            BackupVaultName="gold-vault", PaginationConfig={"PageSize": 7}
        )
        for r in p["RecoveryPoints"]
    ]
    assert paginated == seen


def test_every_backup_list_pages(estate, api):
    backup = api("backup")
    for op, key, kwargs in (
        ("list_backup_jobs", "BackupJobs", {}),
        ("list_copy_jobs", "CopyJobs", {}),
        ("list_protected_resources", "Results", {}),
        ("list_backup_vaults", "BackupVaultList", {}),
        ("list_backup_plans", "BackupPlansList", {}),
    ):
        full = getattr(backup, op)(**kwargs)[key]
        assert len(full) >= 2, op
        first = getattr(backup, op)(MaxResults=1, **kwargs)
        assert len(first[key]) == 1 and first["NextToken"], op
        pages = list(
            backup.get_paginator(op).paginate(
                PaginationConfig={"PageSize": max(1, len(full) // 3)}, **kwargs
            )
        )
        assert len(pages) >= 3, op
        assert sum(len(p[key]) for p in pages) == len(full), op


def test_bad_token_is_rejected(estate, api):
    backup = api("backup")
    with pytest.raises(ClientError) as err:
        backup.list_recovery_points_by_backup_vault(
            BackupVaultName="gold-vault", NextToken="garbage"
        )
    assert err.value.response["Error"]["Code"] == "InvalidParameterValueException"
    token = backup.list_backup_jobs(MaxResults=1)["NextToken"]
    with pytest.raises(ClientError):  # a token from another listing
        backup.list_recovery_points_by_backup_vault(BackupVaultName="gold-vault", NextToken=token)


def test_filters_on_jobs_and_recovery_points(estate, api, as_of):
    backup = api("backup")
    failed = backup.list_backup_jobs(ByState="FAILED")["BackupJobs"]
    assert failed and all(j["State"] == "FAILED" and "RecoveryPointArn" not in j for j in failed)
    since = as_of - timedelta(days=10)
    recent = backup.list_recovery_points_by_backup_vault(
        BackupVaultName="gold-vault", ByCreatedAfter=since
    )["RecoveryPoints"]
    assert recent and all(r["CreationDate"] >= since for r in recent)
    ebs = backup.list_recovery_points_by_backup_vault(
        BackupVaultName="gold-vault", ByResourceType="EBS"
    )["RecoveryPoints"]
    assert ebs and {r["ResourceType"] for r in ebs} == {"EBS"}


def test_describe_snapshots_pages(estate, api):
    ec2 = api("ec2")
    full = ec2.describe_snapshots(OwnerIds=["self"])["Snapshots"]
    # every seeded AMI stands on one EBS snapshot of its instance's root volume, listed here too
    expected = estate.backups[
        (estate.backups.region == "us-east-1")
        & estate.backups.backup_type.isin(["ebs-snapshot", "storagegateway-snapshot", "ec2-image"])
    ]
    assert len(full) == len(expected) > 100
    first = ec2.describe_snapshots(OwnerIds=["self"], MaxResults=5)
    assert len(first["Snapshots"]) == 5 and first["NextToken"]
    pages, items = _all(
        ec2, "describe_snapshots", "Snapshots", OwnerIds=["self"], PaginationConfig={"PageSize": 50}
    )
    assert len(pages) == -(-len(full) // 50)
    assert [s["SnapshotId"] for s in items] == [s["SnapshotId"] for s in full]
    with pytest.raises(ClientError) as err:
        ec2.describe_snapshots(OwnerIds=["self"], MaxResults=5, NextToken="bogus")
    assert err.value.response["Error"]["Code"] == "InvalidNextToken"


def test_describe_snapshots_xml_matches_motos_serializer(estate, api):
    """The fast XML writer parses to exactly what moto's model-driven serializer gives."""
    from moto.ec2.responses.elastic_block_store import ElasticBlockStore

    from auditor.sandbox.moto_ext import services

    ec2 = api("ec2")
    fast = ec2.describe_snapshots(OwnerIds=["self"], MaxResults=200)["Snapshots"]
    ids = [s["SnapshotId"] for s in fast]
    patched = ElasticBlockStore.describe_snapshots
    ElasticBlockStore.describe_snapshots = services.ORIGINAL["describe_snapshots"]
    try:
        slow = ec2.describe_snapshots(SnapshotIds=ids)["Snapshots"]
    finally:
        ElasticBlockStore.describe_snapshots = patched
    by_id = {s["SnapshotId"]: s for s in slow}
    for snap in fast:
        ref = dict(by_id[snap["SnapshotId"]])
        got = dict(snap)
        assert sorted(got.pop("Tags", []), key=str) == sorted(ref.pop("Tags", []), key=str)
        assert got == ref


def test_describe_volumes_pages(estate, api):
    ec2 = api("ec2")
    full = ec2.describe_volumes()["Volumes"]
    pages, items = _all(ec2, "describe_volumes", "Volumes", PaginationConfig={"PageSize": 5})
    assert len(pages) >= 3
    assert [v["VolumeId"] for v in items] == [v["VolumeId"] for v in full]


def test_rds_snapshots_page_and_hide_awsbackup_by_default(estate, api):
    rds = api("rds")
    default = rds.describe_db_snapshots()["DBSnapshots"]
    assert {s["SnapshotType"] for s in default} <= {"manual", "automated"}
    awsbackup = rds.describe_db_snapshots(SnapshotType="awsbackup")["DBSnapshots"]
    assert awsbackup and all(s["DBSnapshotIdentifier"].startswith("awsbackup:") for s in awsbackup)
    pages, items = _all(
        rds,
        "describe_db_snapshots",
        "DBSnapshots",
        SnapshotType="awsbackup",
        PaginationConfig={"PageSize": 20},
    )
    total = len(
        estate.backups[
            (estate.backups.region == "us-east-1")
            & (estate.backups.backup_type == "rds-snapshot")
            & (estate.backups.source == "aws-backup")
        ]
    )
    assert len(items) == total
    assert len(pages) == -(-total // 20) or total > 100
    first = rds.describe_db_snapshots(SnapshotType="awsbackup", MaxRecords=20)
    assert len(first["DBSnapshots"]) == min(20, total) and ("Marker" in first) == (total > 20)
    with pytest.raises(ClientError) as err:
        rds.describe_db_snapshots(MaxRecords=5)
    assert err.value.response["Error"]["Code"] == "InvalidParameterValue"
    _cl_pages, cl_items = _all(
        rds,
        "describe_db_cluster_snapshots",
        "DBClusterSnapshots",
        PaginationConfig={"PageSize": 20},
    )
    assert {s["SnapshotType"] for s in cl_items} <= {"manual", "automated"}


def test_dynamodb_list_backups_types_ranges_and_paging(estate, api, as_of):
    ddb = api("dynamodb")
    everything = ddb.list_backups(BackupType="ALL", Limit=100)
    user = ddb.list_backups()["BackupSummaries"]
    assert all(b["BackupType"] == "USER" for b in user)
    aws_backup = ddb.list_backups(BackupType="AWS_BACKUP")["BackupSummaries"]
    assert aws_backup and all(b["BackupType"] == "AWS_BACKUP" for b in aws_backup)
    assert all(b["BackupSizeBytes"] > 1000 for b in aws_backup)

    def listed(backup_type: str) -> list[str]:
        arns, start = [], None
        while True:
            kwargs = {"BackupType": backup_type, "Limit": 2}
            if start:
                kwargs["ExclusiveStartBackupArn"] = start
            resp = ddb.list_backups(**kwargs)
            arns += [b["BackupArn"] for b in resp["BackupSummaries"]]
            start = resp.get("LastEvaluatedBackupArn")
            if not start:
                return arns

    # ALL means USER and SYSTEM only (DynamoDB API reference): AWS Backup's need AWS_BACKUP.
    seen, backed_up = listed("ALL"), listed("AWS_BACKUP")
    b = estate.backups
    # DynamoDB backups in DynamoDB's own list; fully managed ones (AWS Backup ARNs) are not there.
    native = b[
        (b.region == "us-east-1")
        & (b.backup_type == "dynamodb-backup")
        & ~b.recovery_point_arn.str.contains(":recovery-point:")
    ]
    expected = native[native.source != "aws-backup"]
    assert len(seen) == len(set(seen)) == len(expected) > 2
    assert set(seen) == set(expected.recovery_point_arn)
    assert set(backed_up) == set(native[native.source == "aws-backup"].recovery_point_arn)
    assert len(everything["BackupSummaries"]) == min(100, len(expected))

    lower = as_of - timedelta(days=10)
    recent = ddb.list_backups(
        BackupType="AWS_BACKUP", TimeRangeLowerBound=lower, TimeRangeUpperBound=as_of
    )["BackupSummaries"]
    assert recent and all(lower <= b["BackupCreationDateTime"] < as_of for b in recent)
    table = aws_backup[0]["TableName"]
    assert {
        b["TableName"]
        for b in ddb.list_backups(TableName=table, BackupType="AWS_BACKUP")["BackupSummaries"]
    } == {table}


def test_table_reports_seeded_size_and_pitr(estate, api):
    ddb = api("dynamodb")
    rows = estate.resources[
        (estate.resources.region == "us-east-1")
        & (estate.resources.resource_type == "dynamodb-table")
    ]
    sizes = {}
    for name in rows.resource_id:
        sizes[name] = ddb.describe_table(TableName=name)["Table"]["TableSizeBytes"]
    assert sizes == dict(zip(rows.resource_id, rows.size_bytes))
    statuses = {
        ddb.describe_continuous_backups(TableName=n)["ContinuousBackupsDescription"][
            "PointInTimeRecoveryDescription"
        ]["PointInTimeRecoveryStatus"]
        for n in rows.resource_id
    }
    assert statuses <= {"ENABLED", "DISABLED"}
