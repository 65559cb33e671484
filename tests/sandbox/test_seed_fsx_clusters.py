"""The seeded estate's FSx file systems and DocumentDB / Neptune clusters, as AWS's APIs list them."""

from __future__ import annotations

REGIONS = ("us-east-1", "eu-west-1")


def _fsx_backups(fsx) -> list[dict]:
    return [b for p in fsx.get_paginator("describe_backups").paginate() for b in p["Backups"]]


def test_fsx_file_systems_of_every_kind_and_their_backups(estate, api):
    r = estate.resources
    fsx_rows = r[r.resource_type == "fsx-filesystem"]
    assert set(fsx_rows.engine) <= {"WINDOWS", "LUSTRE", "ONTAP", "OPENZFS"}
    assert len(set(fsx_rows.engine)) >= 2
    b = estate.backups
    for region in REGIONS:
        fsx = api("fsx", region)
        listed = {
            fs["ResourceARN"]: fs
            for p in fsx.get_paginator("describe_file_systems").paginate()
            for fs in p["FileSystems"]
        }
        assert set(listed) == set(fsx_rows[fsx_rows.region == region].resource_arn)
        backups = _fsx_backups(fsx)
        truth = b[(b.region == region) & (b.backup_type == "fsx-backup")]
        assert {x["ResourceARN"] for x in backups} == set(truth.recovery_point_arn)
        by_type = {x["ResourceARN"]: x["Type"] for x in backups}
        # AWS Backup's FSx recovery points are FSx backups of Type AWS_BACKUP; the rest are FSx's
        for arn, source, created_by in zip(
            truth.recovery_point_arn, truth.source, truth.created_by
        ):
            expected = {
                "aws-backup": "AWS_BACKUP",
                "automated": "AUTOMATIC",
                "user": "USER_INITIATED",
            }
            assert by_type[arn] == expected[created_by], (arn, source)
        assert all(
            x["Lifecycle"] == "AVAILABLE" and x["FileSystem"]["FileSystemId"] for x in backups
        )
    assert {"AWS_BACKUP", "AUTOMATIC", "USER_INITIATED"} <= {
        x["Type"] for region in REGIONS for x in _fsx_backups(api("fsx", region))
    }


def test_docdb_and_neptune_clusters_are_listed_by_engine(estate, api):
    r = estate.resources
    for rtype, engine in (("docdb-cluster", "docdb"), ("neptune-cluster", "neptune")):
        rows = r[r.resource_type == rtype]
        assert len(rows) and set(rows.engine) == {engine}
        for region in REGIONS:
            rds = api("rds", region)
            listed = [
                c["DBClusterArn"]
                for p in rds.get_paginator("describe_db_clusters").paginate(
                    Filters=[{"Name": "engine", "Values": [engine]}]
                )
                for c in p["DBClusters"]
            ]
            assert set(listed) == set(rows[rows.region == region].resource_arn)
