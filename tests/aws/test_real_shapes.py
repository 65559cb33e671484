"""Collectors replayed over responses shaped like real accounts' (botocore Stubber, no emulator).

The fixtures under fixtures/real_shapes/ are hand-written from the AWS API references and from what
recorded real responses carry (see the README there): Aurora's AllocatedStorage of 1, cross-Region
copies, snapshots from before AWS added their ARN, fields the emulator never fills.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import pandas as pd
import pytest
from botocore.stub import ANY, Stubber

from auditor.aws import dynamodb, efs, rds
from auditor.aws.context import Context, Target
from auditor.aws.items import MALFORMED
from auditor.aws.normalize import build_tables

FIXTURES = Path(__file__).parent / "fixtures" / "real_shapes"
AS_OF = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
ACCOUNT = "210987654321"
REGION = "us-east-2"
GIB = 1024**3
# Listings send AWS's maximum page size (auditor.aws.context.page_size_for).
PAGED_RDS = {"MaxRecords": ANY}
_ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")


def _datetimes(value: Any) -> Any:
    """Timestamps as botocore hands them to callers (aware datetimes)."""
    if isinstance(value, dict):
        return {k: _datetimes(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_datetimes(v) for v in value]
    if isinstance(value, str) and _ISO.match(value):
        return datetime.strptime(value, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    return value


def _fixture(name: str) -> dict[str, Any]:
    return _datetimes(json.loads((FIXTURES / name).read_text(encoding="utf-8")))


class _StubbedSessions:
    """Stands in for auditor.aws.session.Sessions: one stubbed client per service."""

    def __init__(self) -> None:
        self.session = boto3.Session(
            aws_access_key_id="testing", aws_secret_access_key="testing", region_name=REGION
        )
        self.clients: dict[str, Any] = {}
        self.stubbers: dict[str, Stubber] = {}

    def stub(self, service: str) -> Stubber:
        if service not in self.stubbers:
            self.clients[service] = self.session.client(service, region_name=REGION)
            self.stubbers[service] = Stubber(self.clients[service])
            self.stubbers[service].activate()
        return self.stubbers[service]

    def client(self, session: Any, service: str, region: str) -> Any:
        return self.clients[service]


@pytest.fixture
def stubbed():
    sessions = _StubbedSessions()
    ctx = Context(Target(ACCOUNT, sessions.session), REGION, sessions, as_of=AS_OF)  # type: ignore[arg-type]
    yield ctx, sessions
    for stubber in sessions.stubbers.values():
        stubber.assert_no_pending_responses()
        stubber.deactivate()


def _rds_responses(sessions: _StubbedSessions) -> None:
    rds_stub = sessions.stub("rds")
    cw = sessions.stub("cloudwatch")
    rds_stub.add_response(
        "describe_db_clusters", _fixture("rds-describe-db-clusters.json"), PAGED_RDS
    )
    # One bulk GetMetricData for the Aurora cluster(s), VolumeBytesUsed per DBClusterIdentifier.
    cw.add_response(
        "get_metric_data",
        _fixture("cloudwatch-get-metric-data.json"),
        {
            "MetricDataQueries": [
                {
                    "Id": "v0",
                    "MetricStat": {
                        "Metric": {
                            "Namespace": "AWS/RDS",
                            "MetricName": "VolumeBytesUsed",
                            "Dimensions": [
                                {"Name": "DBClusterIdentifier", "Value": "orders-aurora"}
                            ],
                        },
                        "Period": ANY,
                        "Stat": ANY,
                    },
                    "ReturnData": True,
                }
            ],
            "StartTime": ANY,
            "EndTime": ANY,
            "ScanBy": "TimestampDescending",
            "MaxDatapoints": 100_800,
        },
    )
    rds_stub.add_response(
        "describe_db_instances", _fixture("rds-describe-db-instances.json"), PAGED_RDS
    )
    rds_stub.add_response(
        "describe_db_instance_automated_backups",
        _fixture("rds-describe-db-instance-automated-backups-us-east-2.json"),
        PAGED_RDS,
    )
    rds_stub.add_response(
        "describe_db_snapshots", _fixture("rds-describe-db-snapshots-us-east-2.json"), PAGED_RDS
    )
    rds_stub.add_response(
        "describe_db_snapshots",
        {"DBSnapshots": []},
        {"SnapshotType": "awsbackup", "MaxRecords": ANY},
    )
    rds_stub.add_response(
        "describe_db_cluster_snapshots",
        _fixture("rds-describe-db-cluster-snapshots-us-east-2.json"),
        PAGED_RDS,
    )


def _tables(ctx: Context) -> dict[str, pd.DataFrame]:
    return build_tables(ctx.records)


def test_aurora_sizes_come_from_volume_bytes_used_never_allocated_storage(stubbed):
    ctx, sessions = stubbed
    _rds_responses(sessions)
    rds.collect(ctx)
    res = _tables(ctx)["resources"].set_index("resource_id")
    assert (res.loc["orders-aurora", "size_bytes"], res.loc["orders-aurora", "size_basis"]) == (
        86973087744,
        "VolumeBytesUsed",
    )
    # A member instance has no storage of its own to report: unknown, not 1 GiB.
    assert pd.isna(res.loc["orders-aurora-1", "size_bytes"])
    assert res.loc["orders-aurora-1", "size_basis"] == "unknown"
    # A Multi-AZ DB cluster (not Aurora) and an instance: AllocatedStorage is their size.
    assert res.loc["ledger-maz", "size_bytes"] == 400 * GIB
    assert res.loc["billing", "size_basis"] == "AllocatedStorage"
    rps = _tables(ctx)["recovery_points"].set_index("recovery_point_arn")
    auto = rps.loc[
        f"arn:aws:rds:{REGION}:{ACCOUNT}:cluster-snapshot:rds:orders-aurora-2026-11-26-04-20"
    ]
    # AllocatedStorage 0 of an Aurora cluster snapshot is no size.
    assert pd.isna(auto["size_bytes"]) and pd.isna(auto["size_basis"])


def test_cross_region_copies_belong_to_their_source_database(stubbed):
    ctx, sessions = stubbed
    _rds_responses(sessions)
    rds.collect(ctx)
    rps = _tables(ctx)["recovery_points"].set_index("recovery_point_arn")
    copy = rps.loc[f"arn:aws:rds:{REGION}:{ACCOUNT}:snapshot:billing-2026-11-25-copy"]
    assert copy["region"] == REGION  # stored here
    assert copy["resource_arn"] == f"arn:aws:rds:us-east-1:{ACCOUNT}:db:payments"
    assert copy["copy_source_arn"] == (
        f"arn:aws:rds:us-east-1:{ACCOUNT}:snapshot:rds:payments-2026-11-25-03-15"
    )
    assert copy["created_at"] == pd.Timestamp("2026-11-25T09:40:12Z")
    assert copy["source_created_at"] == pd.Timestamp("2026-11-25T03:15:03Z")
    pending = rps.loc[f"arn:aws:rds:{REGION}:{ACCOUNT}:snapshot:payments-2026-11-26-copy"]
    assert pending["status"] == "CREATING" and pd.isna(pending["created_at"])
    assert pending["resource_arn"] == f"arn:aws:rds:us-east-1:{ACCOUNT}:db:payments"
    ccopy = rps.loc[
        f"arn:aws:rds:{REGION}:{ACCOUNT}:cluster-snapshot:catalog-aurora-copy-2026-11-24"
    ]
    assert ccopy["resource_arn"] == f"arn:aws:rds:us-east-1:{ACCOUNT}:cluster:catalog-aurora"
    # An own automated snapshot is no copy: no source, no source time.
    own = rps.loc[f"arn:aws:rds:{REGION}:{ACCOUNT}:snapshot:rds:billing-2026-11-26-03-10"]
    assert pd.isna(own["copy_source_arn"]) and pd.isna(own["source_created_at"])
    assert own["resource_arn"] == f"arn:aws:rds:{REGION}:{ACCOUNT}:db:billing"


def test_a_malformed_snapshot_costs_one_error_row_not_the_region(stubbed):
    ctx, sessions = stubbed
    _rds_responses(sessions)
    rds.collect(ctx)
    tables = _tables(ctx)
    rps = tables["recovery_points"]
    # The old-format snapshot is kept under the ARN AWS's format gives it.
    derived = f"arn:aws:rds:{REGION}:{ACCOUNT}:snapshot:billing-final-2019"
    assert derived in set(rps["recovery_point_arn"])
    # Everything else of the region is there: 5 DB resources, 5 DB + 2 cluster snapshots and
    # one replicated automated backup.
    assert len(tables["resources"]) == 5
    assert len(rps) == 8
    errors = tables["errors"]
    assert (errors["error_code"] == MALFORMED).all() and len(errors) == 2
    derived_row = errors[errors["message"].str.startswith("billing-final-2019:")]
    assert len(derived_row) == 1 and derived in derived_row["message"].iloc[0]
    # The record without an identifier could not be built: its loss leaves rds-instance incomplete.
    skipped = errors[errors["message"].str.startswith("(no identifier)")]
    assert skipped["affects"].tolist() == ["rds-instance"]
    assert skipped["operation"].tolist() == ["DescribeDBSnapshots"]


def test_rds_fields_for_continuous_backup_replicas_and_protection(stubbed):
    ctx, sessions = stubbed
    _rds_responses(sessions)
    rds.collect(ctx)
    res = _tables(ctx)["resources"].set_index("resource_id")
    billing = res.loc["billing"]
    assert billing["latest_restorable_at"] == pd.Timestamp("2026-11-26T11:54:00Z")
    assert billing["continuous_window_days"] == 7
    assert billing["copy_tags_to_snapshot"] and not billing["deletion_protection"]
    replica = res.loc["billing-replica"]
    assert replica["read_replica_source"] == "billing"
    assert pd.isna(replica["continuous_window_days"]) and pd.isna(replica["native_schedule"])
    aurora = res.loc["orders-aurora"]
    assert aurora["deletion_protection"] and not aurora["copy_tags_to_snapshot"]
    assert aurora["latest_restorable_at"] == pd.Timestamp("2026-11-26T11:55:00Z")
    # A cluster member's continuous backup is the cluster's.
    assert pd.isna(res.loc["orders-aurora-1", "continuous_window_days"])


def test_aurora_size_unknown_when_cloudwatch_has_no_value_or_refuses(stubbed):
    ctx, sessions = stubbed
    rds_stub = sessions.stub("rds")
    cw = sessions.stub("cloudwatch")
    rds_stub.add_response(
        "describe_db_clusters", _fixture("rds-describe-db-clusters.json"), PAGED_RDS
    )
    cw.add_client_error("get_metric_data", "AccessDenied", http_status_code=403)
    rds_stub.add_response("describe_db_instances", {"DBInstances": []}, PAGED_RDS)
    rds_stub.add_response(
        "describe_db_instance_automated_backups", {"DBInstanceAutomatedBackups": []}, PAGED_RDS
    )
    rds_stub.add_response("describe_db_snapshots", {"DBSnapshots": []}, PAGED_RDS)
    rds_stub.add_response(
        "describe_db_snapshots",
        {"DBSnapshots": []},
        {"SnapshotType": "awsbackup", "MaxRecords": ANY},
    )
    rds_stub.add_response("describe_db_cluster_snapshots", {"DBClusterSnapshots": []}, PAGED_RDS)
    rds.collect(ctx)
    tables = _tables(ctx)
    res = tables["resources"].set_index("resource_id")
    assert pd.isna(res.loc["orders-aurora", "size_bytes"])
    assert res.loc["orders-aurora", "size_basis"] == "unknown"
    # The refusal is recorded, and leaves no resource type incomplete (only a size unknown).
    assert tables["errors"]["operation"].tolist() == ["GetMetricData"]
    assert tables["errors"]["affects"].tolist() == ["aurora-size"]


def test_dynamodb_pitr_protection_and_backups_of_every_type(stubbed):
    ctx, sessions = stubbed
    ddb = sessions.stub("dynamodb")
    tag = sessions.stub("resourcegroupstaggingapi")
    ddb.add_response("list_tables", {"TableNames": ["carts"]}, {"Limit": ANY})
    tag.add_response("get_resources", {"ResourceTagMappingList": []}, None)
    ddb.add_response(
        "list_backups",
        _fixture("dynamodb-list-backups-all.json"),
        {"BackupType": "ALL", "Limit": ANY},
    )
    ddb.add_response(
        "list_backups",
        _fixture("dynamodb-list-backups-aws-backup.json"),
        {"BackupType": "AWS_BACKUP", "Limit": ANY},
    )
    ddb.add_response(
        "describe_table", _fixture("dynamodb-describe-table.json"), {"TableName": "carts"}
    )
    ddb.add_response(
        "describe_continuous_backups",
        _fixture("dynamodb-describe-continuous-backups.json"),
        {"TableName": "carts"},
    )
    dynamodb.collect(ctx)
    for fn, args in ctx.spawned:
        fn(ctx, *args)
    tables = _tables(ctx)
    table = tables["resources"].set_index("name").loc["carts"]
    assert table["deletion_protection"]
    assert table["latest_restorable_at"] == pd.Timestamp("2026-11-26T11:55:00Z")
    assert table["continuous_window_days"] == 14 and table["native_retention_days"] == 14
    assert table["size_basis"] == "TableSizeBytes"
    rps = tables["recovery_points"].set_index("recovery_point_arn")
    assert set(rps["created_by"]) == {"user", "aws-backup"}
    assert len(rps) == 2
    errors = tables["errors"]
    assert errors["message"].tolist() == ["no-arn: missing field 'BackupArn'"]


def test_efs_automatic_backup_tag_and_an_older_record_without_its_arn(stubbed):
    ctx, sessions = stubbed
    sessions.stub("efs").add_response(
        "describe_file_systems", _fixture("efs-describe-file-systems.json"), {"MaxItems": ANY}
    )
    efs.collect(ctx)
    tables = _tables(ctx)
    res = tables["resources"].set_index("resource_id")
    assert set(res.index) == {"fs-028d2a86fa813320a", "fs-fac23c7a"}
    assert res.loc["fs-fac23c7a", "resource_arn"] == (
        f"arn:aws:elasticfilesystem:{REGION}:{ACCOUNT}:file-system/fs-fac23c7a"
    )
    tags = tables["tags"]
    auto = tags[tags["key"] == efs.AUTOMATIC_BACKUP_TAG]
    assert auto[["arn", "value"]].values.tolist() == [
        [res.loc["fs-028d2a86fa813320a", "resource_arn"], "enabled"]
    ]
    assert tables["errors"].empty


def test_retained_and_replicated_automated_backups(stubbed):
    ctx, sessions = stubbed
    _rds_responses(sessions)
    rds.collect(ctx)
    rps = _tables(ctx)["recovery_points"].set_index("recovery_point_arn")
    # A deleted instance's retained automated snapshot expires after that instance's retention.
    kept = rps.loc[f"arn:aws:rds:{REGION}:{ACCOUNT}:snapshot:rds:legacy-db-2026-11-20-02-00"]
    assert kept["delete_at"] == pd.Timestamp("2026-11-30T02:00:11Z")
    # Automated backups replicated here from us-east-1: the source instance's cross-Region copy.
    replica = rps.loc[f"arn:aws:rds:{REGION}:{ACCOUNT}:auto-backup:ab-L2IJCEXJP7XQ7HOJ4SIEXAMPLE"]
    assert replica["resource_arn"] == f"arn:aws:rds:us-east-1:{ACCOUNT}:db:payments"
    assert replica["backup_type"] == "rds-automated-backup" and replica["region"] == REGION
    assert replica["created_at"] == pd.Timestamp("2026-11-26T11:50:00Z")
    # This Region's own active and retained automated backups are no rows of their own.
    assert (rps["backup_type"] == "rds-automated-backup").sum() == 1
