"""DocumentDB and Neptune clusters have RDS cluster ARNs (Amazon DocumentDB developer guide,
"Amazon DocumentDB ARNs"): AWS Backup's ResourceType, not the ARN's shape, says which service a
recovery point or job belongs to; Aurora's stay Aurora's."""

from __future__ import annotations

import pandas as pd
import pyarrow as pa

from auditor.aws.normalize import _arrow_backup_types, resource_type_from_arn

CLUSTER = "arn:aws:rds:us-east-1:111122223333:cluster:c1"
SNAPSHOT = "arn:aws:rds:us-east-1:111122223333:cluster-snapshot:awsbackup:job-1"


def test_backup_resource_type_decides_for_rds_cluster_arns():
    arns = pd.Series(
        [CLUSTER, CLUSTER, CLUSTER, "arn:aws:fsx:us-east-1:111122223333:file-system/fs-1"]
    )
    backup_types = pd.Series(["DocumentDB", "Neptune", "Aurora", "FSx"])
    assert list(resource_type_from_arn(arns, backup_types)) == [
        "docdb-cluster",
        "neptune-cluster",
        "rds-cluster",
        "fsx-filesystem",
    ]
    # without AWS Backup's word, an RDS cluster ARN is an RDS cluster
    assert list(resource_type_from_arn(pd.Series([CLUSTER]))) == ["rds-cluster"]


def test_cluster_snapshot_kind_follows_its_resource_type():
    arns = pa.array(
        [SNAPSHOT, SNAPSHOT, SNAPSHOT, "arn:aws:fsx:us-east-1:111122223333:backup/backup-1"]
    )
    types = pa.array(["docdb-cluster", "neptune-cluster", "rds-cluster", "fsx-filesystem"])
    assert _arrow_backup_types(arns, types).to_pylist() == [
        "docdb-cluster-snapshot",
        "neptune-cluster-snapshot",
        "rds-cluster-snapshot",
        "fsx-backup",
    ]
