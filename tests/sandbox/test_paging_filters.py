"""A listing with filters pages through the sandbox server like AWS: each Marker/NextToken is
accepted by the next request of the same query (botocore sends the same parameters again), and
refused by another query."""

from __future__ import annotations

import boto3
import pytest
from botocore.exceptions import ClientError

from auditor.sandbox import SandboxServer


@pytest.fixture(scope="module")
def rds():
    server = SandboxServer().start()
    try:
        client = boto3.client(
            "rds",
            region_name="us-east-1",
            endpoint_url=server.endpoint_url,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )
        for ident, engine in (("aurora-1", "aurora-postgresql"), ("docdb-1", "docdb")):
            client.create_db_cluster(
                DBClusterIdentifier=ident,
                Engine=engine,
                MasterUsername="admin",
                MasterUserPassword="password123",
            )
            for i in range(25):
                client.create_db_cluster_snapshot(
                    DBClusterIdentifier=ident, DBClusterSnapshotIdentifier=f"{ident}-snap-{i}"
                )
        yield client
    finally:
        server.stop()


def test_cluster_snapshots_filtered_by_engine_page_to_the_end(rds):
    # DescribeDBClusterSnapshots: Filters (engine) and MaxRecords 20..100 with a Marker
    # (RDS API Reference, DescribeDBClusterSnapshots). A parsed filter list must not make the
    # second page's token look foreign (it did: the emulator refused it, and a collection of
    # DocumentDB/Neptune snapshots over 100 per region failed with "Invalid pagination token").
    pages = list(
        rds.get_paginator("describe_db_cluster_snapshots").paginate(
            Filters=[{"Name": "engine", "Values": ["docdb"]}], PaginationConfig={"PageSize": 20}
        )
    )
    items = [s for page in pages for s in page["DBClusterSnapshots"]]
    ids = [s["DBClusterSnapshotIdentifier"] for s in items]
    assert len(pages) == 2 and len(ids) == len(set(ids))
    assert {f"docdb-1-snap-{i}" for i in range(25)} <= set(ids)  # and the cluster's automated one
    assert {s["Engine"] for s in items} == {"docdb"}


def test_a_marker_of_one_query_is_refused_by_another(rds):
    first = rds.describe_db_cluster_snapshots(
        Filters=[{"Name": "engine", "Values": ["docdb"]}], MaxRecords=20
    )
    with pytest.raises(ClientError) as err:
        rds.describe_db_cluster_snapshots(
            Filters=[{"Name": "engine", "Values": ["aurora-postgresql"]}],
            MaxRecords=20,
            Marker=first["Marker"],
        )
    assert err.value.response["Error"]["Code"] == "InvalidParameterValue"
