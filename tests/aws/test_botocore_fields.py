"""Every response field the collectors read exists in the installed botocore model.

A field missing from the model is silently absent from every parsed response (botocore drops what
its model does not name), so a too-old botocore would read e.g. a PITR table's 7-day recovery
period as empty and assume the 35-day default. pyproject's boto3 floor is the first release whose
models have all of these (botocore 1.40.0 lacks DescribeVolumes IncludeManagedResources, RDS
DBSnapshot BackupRetentionPeriod and Backup TargetLogicallyAirGappedBackupVaultArn; 1.43.0 has them).
"""

from __future__ import annotations

import botocore.session
import pytest

# (service, shape, member) read by auditor/aws/*.py
FIELDS = [
    ("ec2", "Snapshot", "FullSnapshotSizeInBytes"),
    ("ec2", "Snapshot", "CompletionTime"),
    ("ec2", "Snapshot", "StorageTier"),
    ("ec2", "Snapshot", "KmsKeyId"),
    ("ec2", "Snapshot", "Encrypted"),
    ("ec2", "SnapshotRecycleBinInfo", "RecycleBinEnterTime"),
    ("ec2", "SnapshotRecycleBinInfo", "RecycleBinExitTime"),
    ("ec2", "SnapshotRecycleBinInfo", "VolumeId"),
    ("ec2", "DescribeVolumesRequest", "IncludeManagedResources"),
    ("ec2", "Volume", "Operator"),
    ("ec2", "Volume", "Encrypted"),
    ("dynamodb", "PointInTimeRecoveryDescription", "RecoveryPeriodInDays"),
    ("dynamodb", "TableDescription", "TableSizeBytes"),
    ("dynamodb", "BackupSummary", "BackupSizeBytes"),
    ("dynamodb", "BackupSummary", "BackupExpiryDateTime"),
    ("rds", "DBSnapshot", "SnapshotType"),
    ("rds", "DBSnapshot", "BackupRetentionPeriod"),
    ("rds", "DBSnapshot", "SourceDBSnapshotIdentifier"),
    ("rds", "DBClusterSnapshot", "SourceDBClusterSnapshotArn"),
    ("rds", "DBInstance", "BackupRetentionPeriod"),
    ("backup", "BackupVaultListMember", "VaultType"),
    ("backup", "BackupVaultListMember", "VaultState"),
    ("backup", "BackupVaultListMember", "LockDate"),
    ("backup", "ListBackupVaultsInput", "ByVaultType"),
    ("backup", "BackupRule", "TargetLogicallyAirGappedBackupVaultArn"),
    ("backup", "BackupRule", "ScheduleExpressionTimezone"),
    ("backup", "RecoveryPointByBackupVault", "CalculatedLifecycle"),
    ("backup", "RecoveryPointByBackupVault", "IsEncrypted"),
    ("storagegateway", "VolumeInfo", "VolumeAttachmentStatus"),
    ("storagegateway", "CachediSCSIVolume", "KMSKey"),
    ("storagegateway", "ListTagsForResourceOutput", "Tags"),
    ("account", "ListRegionsRequest", "RegionOptStatusContains"),
    ("account", "Region", "RegionOptStatus"),
]


@pytest.mark.parametrize(("service", "shape", "member"), FIELDS)
def test_field_is_in_the_installed_model(service, shape, member):
    model = botocore.session.get_session().get_service_model(service)
    assert member in model.shape_for(shape).members, f"{service} {shape}.{member}"
