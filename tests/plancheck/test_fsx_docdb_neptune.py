"""Plan-check of FSx file systems and DocumentDB / Neptune clusters, CloudFormation and Terraform.

The native schedules are the services' documented defaults when a template leaves them out: FSx
automatic backups are kept 30 days on Windows File Server, ONTAP and OpenZFS and are off (0) on
Lustre (FSx API reference, CreateFileSystem*Configuration.AutomaticBackupRetentionDays); DocumentDB
and Neptune keep automated backups 1 day (CreateDBCluster.BackupRetentionPeriod, "Default: 1").
"""

from __future__ import annotations

import json

P, F, NA = "PASS", "FAIL", "NOT_ASSESSED"

POLICY = """
version: 1
scope:
  resource_types: [fsx-filesystem, docdb-cluster, neptune-cluster]
plans:
  - name: daily-two-weeks
    select:
      tags: {backup: daily}
    frequency: 24h
    grace: 6h
    retention_days: 14
    accept: [native]  # only the services' own backups: their schedule decides plan-deployed
    encrypted: true
"""

TEMPLATE = """
Resources:
  WinFs:
    Type: AWS::FSx::FileSystem
    Properties:
      FileSystemType: WINDOWS
      StorageCapacity: 300
      SubnetIds: [subnet-0123456789abcdef0]
      WindowsConfiguration: {ThroughputCapacity: 32}
      Tags: [{Key: backup, Value: daily}]
  ScratchLustre:
    Type: AWS::FSx::FileSystem
    Properties:
      FileSystemType: LUSTRE
      StorageCapacity: 1200
      SubnetIds: [subnet-0123456789abcdef0]
      LustreConfiguration: {DeploymentType: PERSISTENT_2}
      Tags: [{Key: backup, Value: daily}]
  ShortZfs:
    Type: AWS::FSx::FileSystem
    Properties:
      FileSystemType: OPENZFS
      StorageCapacity: 64
      SubnetIds: [subnet-0123456789abcdef0]
      OpenZFSConfiguration: {DeploymentType: SINGLE_AZ_2, AutomaticBackupRetentionDays: 7}
      Tags: [{Key: backup, Value: daily}]
  Docs:
    Type: AWS::DocDB::DBCluster
    Properties:
      BackupRetentionPeriod: 21
      StorageEncrypted: true
      Tags: [{Key: backup, Value: daily}]
  DocsDefault:
    Type: AWS::DocDB::DBCluster
    Properties:
      StorageEncrypted: true
      Tags: [{Key: backup, Value: daily}]
  Graph:
    Type: AWS::Neptune::DBCluster
    Properties:
      BackupRetentionPeriod: 14
      Tags: [{Key: backup, Value: daily}]
"""


def test_cloudformation_native_schedules_and_encryption(pc, write):
    from auditor.plancheck import plan_check

    policy = write("p/policy.yaml", POLICY)
    template = write("t.yaml", TEMPLATE)
    got = pc.verdicts(plan_check(policy.parent, [template], pc.AS_OF))
    # Windows' default 30 days of daily automatic backups meet the plan
    assert got[("WinFs", "plan-deployed", "daily-two-weeks")] == P
    assert got[("WinFs", "backup-encrypted", "daily-two-weeks")] == P  # FSx always encrypts
    # Lustre's automatic backups are off unless set
    assert got[("ScratchLustre", "plan-deployed", "daily-two-weeks")] == F
    assert got[("ShortZfs", "plan-deployed", "daily-two-weeks")] == F  # 7 days < 14
    assert got[("Docs", "plan-deployed", "daily-two-weeks")] == P
    assert got[("DocsDefault", "plan-deployed", "daily-two-weeks")] == F  # 1 day by default
    assert got[("Graph", "plan-deployed", "daily-two-weeks")] == P
    # StorageEncrypted unset on a Neptune cluster: no documented default, so not known
    assert got[("Graph", "backup-encrypted", "daily-two-weeks")] == NA


def _plan(resources):
    return json.dumps(
        {
            "format_version": "1.2",
            "planned_values": {"root_module": {"resources": resources}},
            "resource_changes": [
                {
                    "address": r["address"],
                    "type": r["type"],
                    "change": {"actions": ["create"], "after": r["values"], "after_unknown": {}},
                }
                for r in resources
            ],
            "configuration": {"root_module": {"resources": []}},
        }
    )


def _resource(address, tf_type, values):
    return {
        "address": address,
        "mode": "managed",
        "type": tf_type,
        "name": address.split(".", 1)[1],
        "values": {"tags": {"backup": "daily"}, **values},
    }


def test_terraform_fsx_and_clusters(pc, write):
    from auditor.plancheck import plan_check

    policy = write("p/policy.yaml", POLICY)
    plan = write(
        "plan.json",
        _plan(
            [
                _resource(
                    "aws_fsx_ontap_file_system.files",
                    "aws_fsx_ontap_file_system",
                    {"automatic_backup_retention_days": 30},
                ),
                _resource(
                    "aws_fsx_windows_file_system.short",
                    "aws_fsx_windows_file_system",
                    {"automatic_backup_retention_days": 3},
                ),
                _resource(
                    "aws_docdb_cluster.docs",
                    "aws_docdb_cluster",
                    {"backup_retention_period": 1, "storage_encrypted": True},
                ),
                _resource(
                    "aws_neptune_cluster.graph",
                    "aws_neptune_cluster",
                    {"backup_retention_period": 35, "storage_encrypted": False},
                ),
            ]
        ),
    )
    got = pc.verdicts(plan_check(policy.parent, [plan], pc.AS_OF))
    assert got[("aws_fsx_ontap_file_system.files", "plan-deployed", "daily-two-weeks")] == P
    assert got[("aws_fsx_windows_file_system.short", "plan-deployed", "daily-two-weeks")] == F
    assert got[("aws_docdb_cluster.docs", "plan-deployed", "daily-two-weeks")] == F
    assert got[("aws_neptune_cluster.graph", "plan-deployed", "daily-two-weeks")] == P
    assert got[("aws_neptune_cluster.graph", "backup-encrypted", "daily-two-weeks")] == F
