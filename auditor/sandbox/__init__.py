"""The emulated AWS estate: moto plus what moto lacks, and a deterministic seeded estate.

Public API:
- `install()`: registers the sandbox's additions to moto (idempotent). Call before any request.
- `SandboxServer`: moto's threaded server on 127.0.0.1 (context manager, `.endpoint_url`).
- `seed_estate(as_of, *, seed=7, regions=..., account_id=..., scale=1.0) -> Estate`: fills the
  active moto backends (inside `mock_aws()` or under a `SandboxServer`) with a realistic estate.
- `seed_organization(as_of, accounts)`: an AWS Organization holding those accounts.
- `Estate`: the ground truth of what was seeded.

Conventions the sandbox emulates (what the collectors rely on; sources in comments of
`auditor.sandbox.moto_ext.native`):

Storage Gateway snapshots. A volume gateway's snapshots are EBS snapshots: the Storage Gateway API
reference (CreateSnapshot) says "To list or delete a snapshot, you must use the Amazon EC2 API"
(DescribeSnapshots / DeleteSnapshot). The sandbox puts them in EC2 in the gateway's account and
region, with `VolumeId` = the gateway volume's id IN LOWER CASE (the volume ARN is
`arn:aws:storagegateway:R:A:gateway/sgw-XXXXXXXX/volume/vol-XXXXXXXX`, 8 upper-case hex; the Storage
Gateway API reference's introduction: "Storage Gateway resource IDs are in uppercase. When you use
these resource IDs with the Amazon EC2 API, EC2 expects resource IDs in lowercase"), `VolumeSize` =
the volume's size in GiB, and the description given to CreateSnapshot (scheduled ones here:
"Scheduled snapshot of <volume id>"). The collector links a snapshot to a gateway volume by
lower-cased `VolumeId` (EC2 volume ids are `vol-` + 17 lower-case hex, so they never collide). When AWS Backup
backs up a gateway volume, the recovery point is such an EBS snapshot
(`arn:aws:ec2:R::snapshot/snap-...`, ResourceType "Storage Gateway"), marked like any EBS
snapshot AWS Backup makes.

Backups AWS Backup made of native services (the same recovery point ARN in both listings):
- EBS: description "This snapshot is created by the AWS Backup service.", tag
  `aws:backup:source-resource` = source volume id; recovery point ARN `arn:aws:ec2:R::snapshot/ID`.
- RDS instance: DB snapshot `awsbackup:job-<job id>`, SnapshotType `awsbackup` (listed by
  DescribeDBSnapshots only with SnapshotType="awsbackup", as on AWS); ARN
  `arn:aws:rds:R:A:snapshot:awsbackup:job-...`. Aurora clusters are not backed up by AWS Backup here
  (the estate leaves it to native snapshots); they have automated and manual cluster snapshots.
- DynamoDB: BackupType `AWS_BACKUP`, ARN `arn:aws:dynamodb:R:A:table/T/backup/ID`; in a region where
  DynamoDB advanced features are on (DescribeRegionSettings ResourceTypeManagementPreference
  DynamoDB=true) the recovery points are `arn:aws:backup:R:A:recovery-point:ID` with no native backup.
- EFS: always `arn:aws:backup:R:A:recovery-point:ID` (metered by AWS Backup).

Cross-region copies: a copy is a recovery point in the destination region's vault with
`SourceBackupVaultArn` = the source vault's ARN and the same ResourceArn; the link from copy to
original is the copy job (ListCopyJobs in the SOURCE region: SourceRecoveryPointArn ->
DestinationRecoveryPointArn). ParentRecoveryPointArn is not set (AWS uses it for composite backups,
not copies). A copied EBS/RDS recovery point is also a native snapshot in the destination region.

Not in ListRecoveryPointsByBackupVault (AWS's list shape lacks it): StorageClass — it is in
DescribeRecoveryPoint; a list reader can derive it from CalculatedLifecycle.MoveToColdStorageAt
(set only for types AWS Backup moves to cold: EFS, EBS (archive tier), fully managed DynamoDB).

Operations added to moto (in-process and server): AWS Backup Create/Get/List/DeleteBackupSelection,
StartBackupJob, DescribeBackupJob, ListBackupJobs, ListCopyJobs, ListRecoveryPointsByBackupVault,
ListRecoveryPointsByResource, DescribeRecoveryPoint, DeleteRecoveryPoint, ListProtectedResources, StartCopyJob,
DescribeCopyJob,
DescribeRegionSettings, UpdateRegionSettings (and ListBackupPlans/ListBackupVaults/DescribeBackupVault
replaced to page and to report NumberOfRecoveryPoints and the vault key); Storage Gateway
ListGateways, DescribeGatewayInformation, ListVolumes, DescribeCachediSCSIVolumes,
DescribeStorediSCSIVolumes, ListTagsForResource, ActivateGateway, CreateCachediSCSIVolume,
CreateStorediSCSIVolume, DeleteVolume, AddTagsToResource, RemoveTagsFromResource, CreateSnapshot
(and its gateways/volumes in the Resource Groups Tagging API). Paging like AWS: EC2
DescribeSnapshots (MaxResults 5..1000, default 1000) and DescribeVolumes (5..500, default 500), RDS
DescribeDBSnapshots/DescribeDBClusterSnapshots (MaxRecords 20..100, default 100), DynamoDB
ListBackups (Limit/ExclusiveStartBackupArn, BackupType, TimeRange), every AWS Backup list
(MaxResults 1..1000, default 1000), Storage Gateway lists (Limit/Marker, default 100).
"""

from __future__ import annotations

import os

# Before moto is imported anywhere: no ~1,180 public AMI snapshots in every region.
os.environ["MOTO_EC2_LOAD_DEFAULT_AMIS"] = "false"
os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")

from auditor.sandbox.moto_ext import install
from auditor.sandbox.server import SandboxServer


def __getattr__(name: str):
    # The seeding module imports pandas and moto backends; load it only when used.
    if name in ("seed_estate", "seed_organization", "Estate"):
        from auditor.sandbox import seed

        return getattr(seed, name)
    raise AttributeError(name)


__all__ = ["Estate", "SandboxServer", "install", "seed_estate", "seed_organization"]
