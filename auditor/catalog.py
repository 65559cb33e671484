"""The resource-type catalogue: every fact auditor keeps about a resource type, in one record.

One frozen `ResourceType` per protectable resource type and one `BackupKind` per kind of backup.
Every per-type table elsewhere (the inventory's list of types, plan-check's template types and ARN
shapes, the ARN-to-type regexes, AWS Backup's service names, metering's billing owners and usage
types) is derived from these records, so adding a type means adding its records here plus its
collector, its seeder and its prices. `tests/core/test_catalog.py` checks that each collected type
has all of them.

Types marked `collected=False` are declared ahead of the issue that adds their collector: their
identity (ARN shape, AWS Backup name, template types) is settled, but nothing derives them into the
tables collection, controls or metering use yet.

Sources, for the facts as a whole:
- AWS Backup's `ResourceType` names: "GetSupportedResourceTypes",
  https://docs.aws.amazon.com/aws-backup/latest/devguide/API_GetSupportedResourceTypes.html, and
  "Feature availability by resource",
  https://docs.aws.amazon.com/aws-backup/latest/devguide/backup-feature-availability.html
- ARN shapes: the "Actions, resources, and condition keys" page of each service in the Service
  Authorization Reference, https://docs.aws.amazon.com/service-authorization/latest/reference/
- Billing owners are the AWS Price List offer codes (AmazonEC2, AmazonRDS, AmazonDynamoDB,
  AWSBackup), https://docs.aws.amazon.com/awsaccountbilling/latest/aboutv2/price-changes.html ;
  usage types as a Cost and Usage Report writes them, on each service's pricing page (cited on
  each `BackupKind`).
- CloudFormation types: https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-template-resource-type-ref.html ;
  Terraform types: https://registry.terraform.io/providers/hashicorp/aws/latest/docs
"""

from __future__ import annotations

from dataclasses import dataclass

# Storage classes a backup can be billed in: AWS Backup's warm and cold tiers, and EBS's snapshot
# archive tier (what AWS Backup's "cold" means for an EBS snapshot).
STORAGE_CLASSES = ("warm", "cold", "archive")


@dataclass(frozen=True)
class RestorePath:
    """One way to restore a backup: what it becomes, where, and the AWS CLI call that starts it.

    `command` is a template: {region}, {id} (the backup's own identifier, e.g. snap-0123...),
    {arn} (its ARN) and {vault} are filled from the backup's row; <angle-bracket> fields are the
    user's choice (a new name, an Availability Zone) and stay as written.
    """

    target: str  # what the restore creates, e.g. "EBS volume"
    where: str  # where it can be created: an AZ of the backup's region, the region, on premises
    command: str
    doc: str  # the AWS page that documents this restore


@dataclass(frozen=True)
class BackupKind:
    """One kind of backup: who bills its storage, how it is restored and how it is deleted."""

    kind: str  # the inventory's backup_type, e.g. "ebs-snapshot"
    service: str  # metering's service label (and the key of its incremental-change ratio)
    billing_owner: str  # offer code that bills the backup when its own service made it
    # (billing owner, storage class, usage type as a CUR writes it without the region prefix)
    usage_types: tuple[tuple[str, str, str], ...]
    arn_format: str  # how its ARN is built; placeholders {partition} {region} {account} {id} ...
    arn_regex: str  # recognises the ARN (a prefix match)
    arn_names_kind: bool  # the ARN alone tells this kind (False: shared with another kind)
    pricing_page: str = ""
    # How the backup's own service restores it (AWS Backup's StartRestoreJob is added for the
    # backups AWS Backup created: see auditor/restore.py).
    restore_paths: tuple[RestorePath, ...] = ()
    # The backed-up service's own delete call for a backup it made ("" when there is none: EFS
    # backups exist only in AWS Backup). Backups AWS Backup created refuse it: see auditor/restore.py.
    delete_command: str = ""
    # AWS Backup StartRestoreJob metadata for this kind ("Restoring a backup by resource type" pages).
    restore_job_metadata: str = ""
    # The storage class a recovery point of this kind is billed in when AWS Backup reports it cold
    # and only Backup's listing of it was seen (None: AWS Backup's own cold tier).
    cold_as: str | None = None

    def usage_type(self, owner: str, storage_class: str) -> str | None:
        """The usage type this kind is billed under by `owner` in `storage_class`, or None."""
        for row_owner, row_class, usage in self.usage_types:
            if (row_owner, row_class) == (owner, storage_class):
                return usage
        return None


@dataclass(frozen=True)
class ResourceType:
    """One protectable resource type and everything auditor needs to know about it."""

    type_id: str  # the inventory's resource_type value
    collected: bool  # False: declared for a coming collector, derived into no table yet
    arn_format: str  # placeholders {partition} {region} {account} {id} (and {gateway_id})
    arn_regex: str  # recognises the ARN (a prefix match)
    arn_names_type: bool  # an ARN matching `arn_regex` is of this type (False: shared shape)
    backup_service: str  # AWS Backup's ResourceType string
    support_key: str  # the key the AWS Backup support matrix lists the type under
    backup_kinds: tuple[str, ...]  # native backup kinds, `BackupKind.kind`
    cloudformation_types: tuple[str, ...]
    terraform_types: tuple[str, ...]
    collector: str  # module auditor/aws/<collector>.py
    iam_actions: tuple[str, ...]  # read actions its collection needs (besides AWS Backup's own)
    seeder: str  # module auditor/sandbox/seeders/<seeder>.py that seeds it ("" if none yet)
    # The backup kind of an AWS Backup recovery point (arn:...:backup:...:recovery-point:) of this
    # type, when AWS Backup can hold one ("" when its recovery points are native snapshots only).
    recovery_point_kind: str = ""


_PART = "arn:{partition}"
_ANY = "[^:]*"  # one ARN field (region or account), possibly empty

# Restore paths. A snapshot restores as a new volume in any Availability Zone of its Region ("Create
# an Amazon EBS volume", https://docs.aws.amazon.com/ebs/latest/userguide/ebs-creating-volume.html ;
# "CreateVolume", https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_CreateVolume.html), and
# "Amazon EBS snapshots can be restored as AWS Storage Gateway volumes": a cached or stored volume on
# a Volume Gateway takes a SnapshotId ("CreateCachediSCSIVolume",
# https://docs.aws.amazon.com/storagegateway/latest/APIReference/API_CreateCachediSCSIVolume.html ;
# "CreateStorediSCSIVolume",
# https://docs.aws.amazon.com/storagegateway/latest/APIReference/API_CreateStorediSCSIVolume.html).
# A Volume Gateway's snapshots are EBS snapshots, so the same three paths restore them ("Creating a
# volume from a snapshot" in the Volume Gateway guide,
# https://docs.aws.amazon.com/storagegateway/latest/vgw/managing-volumes.html).
_TO_EBS_VOLUME = RestorePath(
    target="EBS volume",
    where="any Availability Zone of {region}",
    command="aws ec2 create-volume --region {region} --availability-zone <availability-zone>"
    " --snapshot-id {id}",
    doc="https://docs.aws.amazon.com/ebs/latest/userguide/ebs-creating-volume.html",
)
_TO_CACHED_VOLUME = RestorePath(
    target="Storage Gateway cached volume",
    where="on premises, through a Volume Gateway activated in {region}",
    command="aws storagegateway create-cached-iscsi-volume --region {region}"
    " --gateway-arn <gateway-arn> --snapshot-id {id} --volume-size-in-bytes <bytes>"
    " --target-name <target-name> --network-interface-id <gateway-ip> --client-token <token>",
    doc="https://docs.aws.amazon.com/storagegateway/latest/APIReference/API_CreateCachediSCSIVolume.html",
)
_TO_STORED_VOLUME = RestorePath(
    target="Storage Gateway stored volume",
    where="on premises, through a Volume Gateway activated in {region}",
    command="aws storagegateway create-stored-iscsi-volume --region {region}"
    " --gateway-arn <gateway-arn> --disk-id <disk-id> --snapshot-id {id}"
    " --no-preserve-existing-data --target-name <target-name> --network-interface-id <gateway-ip>",
    doc="https://docs.aws.amazon.com/storagegateway/latest/APIReference/API_CreateStorediSCSIVolume.html",
)
_SNAPSHOT_PATHS = (_TO_EBS_VOLUME, _TO_CACHED_VOLUME, _TO_STORED_VOLUME)
_EC2_DELETE = "aws ec2 delete-snapshot --region {region} --snapshot-id {id}"

BACKUP_KINDS: tuple[BackupKind, ...] = (
    # EBS snapshots bill under Amazon EC2 ("Amazon EBS pricing", https://aws.amazon.com/ebs/pricing/);
    # AWS Backup's cold tier for EBS is the snapshot archive tier
    # (https://docs.aws.amazon.com/ebs/latest/userguide/snapshot-archive-pricing.html).
    BackupKind(
        kind="ebs-snapshot",
        service="EBS",
        billing_owner="AmazonEC2",
        usage_types=(
            ("AmazonEC2", "warm", "EBS:SnapshotUsage"),
            ("AmazonEC2", "cold", "EBS:SnapshotArchiveStorage"),
            ("AmazonEC2", "archive", "EBS:SnapshotArchiveStorage"),
        ),
        arn_format=_PART + ":ec2:{region}:{account}:snapshot/{id}",
        arn_regex=rf"^arn:[^:]+:ec2:{_ANY}:{_ANY}:snapshot/",
        arn_names_kind=True,
        pricing_page="https://aws.amazon.com/ebs/pricing/",
        restore_paths=_SNAPSHOT_PATHS,
        delete_command=_EC2_DELETE,  # "DeleteSnapshot", Amazon EC2 API Reference
        restore_job_metadata="availabilityZone=<availability-zone>",
        cold_as="archive",  # the snapshot archive tier
    ),
    # A Storage Gateway volume's snapshots "are stored and billed as Amazon EBS snapshots"
    # ("AWS Storage Gateway FAQs", https://aws.amazon.com/storagegateway/faqs/).
    BackupKind(
        kind="storagegateway-snapshot",
        service="Storage Gateway",
        billing_owner="AmazonEC2",
        usage_types=(
            ("AmazonEC2", "warm", "EBS:SnapshotUsage"),
            ("AmazonEC2", "cold", "EBS:SnapshotArchiveStorage"),
            ("AmazonEC2", "archive", "EBS:SnapshotArchiveStorage"),
        ),
        arn_format=_PART + ":ec2:{region}:{account}:snapshot/{id}",
        arn_regex=rf"^arn:[^:]+:ec2:{_ANY}:{_ANY}:snapshot/",
        arn_names_kind=False,  # the same ARN as an EBS snapshot; its source volume decides
        pricing_page="https://aws.amazon.com/ebs/pricing/",
        restore_paths=_SNAPSHOT_PATHS,
        # "To list or delete a snapshot, you must use the Amazon EC2 API" ("CreateSnapshot",
        # https://docs.aws.amazon.com/storagegateway/latest/APIReference/API_CreateSnapshot.html)
        delete_command=_EC2_DELETE,
        # keys as GetRecoveryPointRestoreMetadata returns them for the volume
        restore_job_metadata="file://<restore-metadata.json>",
        cold_as="warm",  # no cold tier
    ),
    # "Amazon RDS pricing", https://aws.amazon.com/rds/pricing/ (backup storage).
    BackupKind(
        kind="rds-snapshot",
        service="RDS",
        billing_owner="AmazonRDS",
        usage_types=(("AmazonRDS", "warm", "RDS:ChargedBackupUsage"),),
        arn_format=_PART + ":rds:{region}:{account}:snapshot:{id}",
        arn_regex=rf"^arn:[^:]+:rds:{_ANY}:{_ANY}:snapshot:",
        arn_names_kind=True,
        pricing_page="https://aws.amazon.com/rds/pricing/",
        # "Restoring to a DB instance",
        # https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/USER_RestoreFromSnapshot.html ;
        # "Deleting a DB snapshot",
        # https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/USER_DeleteSnapshot.html
        restore_paths=(
            RestorePath(
                target="new RDS DB instance",
                where="{region}",
                command="aws rds restore-db-instance-from-db-snapshot --region {region}"
                " --db-instance-identifier <new-instance-name> --db-snapshot-identifier {id}",
                doc="https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/USER_RestoreFromSnapshot.html",
            ),
        ),
        delete_command="aws rds delete-db-snapshot --region {region} --db-snapshot-identifier {id}",
        restore_job_metadata="DBInstanceIdentifier=<new-instance-name>",
        cold_as="warm",  # no cold tier
    ),
    # Automated backups replicated to another Region: their snapshots and logs are RDS backup
    # storage in the destination Region ("Replicating automated backups to another AWS Region",
    # https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/USER_ReplicateBackups.html ;
    # "Amazon RDS pricing", https://aws.amazon.com/rds/pricing/). ARN form from
    # DescribeDBInstanceAutomatedBackups' DBInstanceAutomatedBackupsArn.
    BackupKind(
        kind="rds-automated-backup",
        service="RDS",
        billing_owner="AmazonRDS",
        usage_types=(("AmazonRDS", "warm", "RDS:ChargedBackupUsage"),),
        arn_format=_PART + ":rds:{region}:{account}:auto-backup:{id}",
        arn_regex=rf"^arn:[^:]+:rds:{_ANY}:{_ANY}:auto-backup:",
        arn_names_kind=True,
        pricing_page="https://aws.amazon.com/rds/pricing/",
        # "Restoring to a specified time from a replicated backup" in "Replicating automated backups
        # to another AWS Region" (above); "DeleteDBInstanceAutomatedBackup",
        # https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_DeleteDBInstanceAutomatedBackup.html
        restore_paths=(
            RestorePath(
                target="new RDS DB instance at a point in time",
                where="{region}",
                command="aws rds restore-db-instance-to-point-in-time --region {region}"
                " --source-db-instance-automated-backups-arn {arn}"
                " --target-db-instance-identifier <new-instance-name> --use-latest-restorable-time",
                doc="https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/USER_ReplicateBackups.html",
            ),
        ),
        delete_command="aws rds delete-db-instance-automated-backup --region {region}"
        " --db-instance-automated-backups-arn {arn}",
    ),
    # "Amazon Aurora pricing", https://aws.amazon.com/rds/aurora/pricing/ (backup storage).
    BackupKind(
        kind="rds-cluster-snapshot",
        service="Aurora",
        billing_owner="AmazonRDS",
        usage_types=(("AmazonRDS", "warm", "Aurora:BackupUsage"),),
        arn_format=_PART + ":rds:{region}:{account}:cluster-snapshot:{id}",
        arn_regex=rf"^arn:[^:]+:rds:{_ANY}:{_ANY}:cluster-snapshot:",
        arn_names_kind=True,
        pricing_page="https://aws.amazon.com/rds/aurora/pricing/",
        # "Restoring from a DB cluster snapshot",
        # https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/aurora-restore-snapshot.html ;
        # "Deleting a DB cluster snapshot",
        # https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/USER_DeleteSnapshot.html
        restore_paths=(
            RestorePath(
                target="new Aurora DB cluster",
                where="{region}",
                command="aws rds restore-db-cluster-from-snapshot --region {region}"
                " --db-cluster-identifier <new-cluster-name> --snapshot-identifier {id}"
                " --engine <engine>",
                doc="https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/aurora-restore-snapshot.html",
            ),
        ),
        delete_command="aws rds delete-db-cluster-snapshot --region {region}"
        " --db-cluster-snapshot-identifier {id}",
        restore_job_metadata="DBClusterIdentifier=<new-cluster-name>,Engine=<engine>",
        cold_as="warm",  # no cold tier
    ),
    # "Amazon DynamoDB pricing", https://aws.amazon.com/dynamodb/pricing/ (on-demand backup);
    # under AWS Backup's advanced DynamoDB features AWS Backup bills it
    # ("AWS Backup pricing", https://aws.amazon.com/backup/pricing/).
    BackupKind(
        kind="dynamodb-backup",
        service="DynamoDB",
        billing_owner="AmazonDynamoDB",
        usage_types=(
            ("AmazonDynamoDB", "warm", "TimedBackupStorage-ByteHrs"),
            ("AWSBackup", "warm", "WarmStorage-ByteHrs-DynamoDB"),
            ("AWSBackup", "cold", "ColdStorage-ByteHrs-DynamoDB"),
        ),
        arn_format=_PART + ":dynamodb:{region}:{account}:table/{table}/backup/{id}",
        arn_regex=r"^arn:[^:]+:dynamodb:[^:]*:[^:]*:table/[^/]+/backup/",
        arn_names_kind=True,
        pricing_page="https://aws.amazon.com/dynamodb/pricing/",
        # "Restoring a DynamoDB table from a backup",
        # https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Restore.Tutorial.html ;
        # "DeleteBackup", https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_DeleteBackup.html
        restore_paths=(
            RestorePath(
                target="new DynamoDB table",
                where="{region}",
                command="aws dynamodb restore-table-from-backup --region {region}"
                " --target-table-name <new-table-name> --backup-arn {arn}",
                doc="https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Restore.Tutorial.html",
            ),
        ),
        delete_command="aws dynamodb delete-backup --region {region} --backup-arn {arn}",
        restore_job_metadata="targetTableName=<new-table-name>",
    ),
    # DynamoDB point-in-time recovery: continuous backups billed by DynamoDB per GB-month of the
    # table's size ("Amazon DynamoDB pricing", https://aws.amazon.com/dynamodb/pricing/ ,
    # "Continuous backups with point-in-time recovery"). Metering adds one row per table with PITR
    # on; it has no ARN of its own (the table's ARN names it).
    BackupKind(
        kind="dynamodb-pitr",
        service="DynamoDB PITR",
        billing_owner="AmazonDynamoDB",
        usage_types=(("AmazonDynamoDB", "warm", "TimedPITRStorage-ByteHrs"),),
        arn_format=_PART + ":dynamodb:{region}:{account}:table/{id}",
        arn_regex=r"^arn:[^:]+:dynamodb:[^:]*:[^:]*:table/[^/]+$",
        arn_names_kind=False,
        pricing_page="https://aws.amazon.com/dynamodb/pricing/",
        # "Restoring a DynamoDB table to a point in time",
        # https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/PointInTimeRecovery.Tutorial.html
        restore_paths=(
            RestorePath(
                target="new DynamoDB table at a point in time",
                where="{region}",
                command="aws dynamodb restore-table-to-point-in-time --region {region}"
                " --source-table-arn {arn} --target-table-name <new-table-name>"
                " --use-latest-restorable-time",
                doc="https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/PointInTimeRecovery.Tutorial.html",
            ),
        ),
    ),
    # EFS backups exist only in AWS Backup, which bills them
    # ("AWS Backup pricing", https://aws.amazon.com/backup/pricing/).
    BackupKind(
        kind="efs-backup",
        service="EFS",
        billing_owner="AWSBackup",
        usage_types=(
            ("AWSBackup", "warm", "WarmStorage-ByteHrs-EFS"),
            ("AWSBackup", "cold", "ColdStorage-ByteHrs-EFS"),
        ),
        arn_format=_PART + ":backup:{region}:{account}:recovery-point:{id}",
        arn_regex=rf"^arn:[^:]+:backup:{_ANY}:{_ANY}:recovery-point:",
        arn_names_kind=False,  # AWS Backup's generic recovery point ARN; its resource decides
        pricing_page="https://aws.amazon.com/backup/pricing/",
        # "Restoring an Amazon EFS file system",
        # https://docs.aws.amazon.com/aws-backup/latest/devguide/restoring-efs.html : a full restore
        # goes to a new file system, or into a recovery directory of the source file system.
        restore_paths=(
            RestorePath(
                target="new EFS file system",
                where="{region}",
                command="aws backup start-restore-job --region {region} --recovery-point-arn {arn}"
                " --iam-role-arn <restore-role-arn> --resource-type EFS --metadata"
                " file-system-id=<source-file-system-id>,newFileSystem=true,Encrypted=true,"
                "PerformanceMode=generalPurpose,CreationToken=<token>",
                doc="https://docs.aws.amazon.com/aws-backup/latest/devguide/restoring-efs.html",
            ),
            RestorePath(
                target="the same EFS file system (a recovery directory at its root)",
                where="{region}",
                command="aws backup start-restore-job --region {region} --recovery-point-arn {arn}"
                " --iam-role-arn <restore-role-arn> --resource-type EFS --metadata"
                " file-system-id=<source-file-system-id>,newFileSystem=false",
                doc="https://docs.aws.amazon.com/aws-backup/latest/devguide/restoring-efs.html",
            ),
        ),
    ),
    # FSx backups (automatic, user-initiated and AWS Backup's, which are FSx backups of Type
    # AWS_BACKUP) are billed by Amazon FSx per GB-month ("Amazon FSx pricing",
    # https://aws.amazon.com/fsx/pricing/); FSx keeps one storage class, so AWS Backup's cold
    # transition does not apply ("Feature availability by resource": no cold storage for FSx).
    BackupKind(
        kind="fsx-backup",
        service="FSx",
        billing_owner="AmazonFSx",
        usage_types=(("AmazonFSx", "warm", "BackupUsage"),),
        arn_format=_PART + ":fsx:{region}:{account}:backup/{id}",
        arn_regex=rf"^arn:[^:]+:fsx:{_ANY}:{_ANY}:backup/",
        arn_names_kind=True,
        pricing_page="https://aws.amazon.com/fsx/pricing/",
        # "CreateFileSystemFromBackup", "DeleteBackup" (FSx API reference)
        restore_paths=(
            RestorePath(
                target="new FSx file system",
                where="{region}",
                command="aws fsx create-file-system-from-backup --region {region} --backup-id {id}"
                " --subnet-ids <subnet-id>",
                doc="https://docs.aws.amazon.com/fsx/latest/APIReference/API_CreateFileSystemFromBackup.html",
            ),
        ),
        delete_command="aws fsx delete-backup --region {region} --backup-id {id}",
        cold_as="warm",  # no cold tier
    ),
    # DocumentDB and Neptune cluster snapshots have RDS cluster snapshot ARNs (their resource's
    # engine tells them apart) and are billed by their own services: product codes AmazonDocDB
    # ("Amazon DocumentDB pricing", https://aws.amazon.com/documentdb/pricing/) and AmazonNeptune
    # ("Amazon Neptune pricing", https://aws.amazon.com/neptune/pricing/), usage type BackupUsage.
    BackupKind(
        kind="docdb-cluster-snapshot",
        service="DocumentDB",
        billing_owner="AmazonDocDB",
        usage_types=(("AmazonDocDB", "warm", "BackupUsage"),),
        arn_format=_PART + ":rds:{region}:{account}:cluster-snapshot:{id}",
        arn_regex=rf"^arn:[^:]+:rds:{_ANY}:{_ANY}:cluster-snapshot:",
        arn_names_kind=False,  # an RDS cluster snapshot ARN; its cluster's engine decides
        pricing_page="https://aws.amazon.com/documentdb/pricing/",
        # "Restoring from a cluster snapshot", "DeleteDBClusterSnapshot" (DocumentDB guide)
        restore_paths=(
            RestorePath(
                target="new DocumentDB cluster",
                where="{region}",
                command="aws docdb restore-db-cluster-from-snapshot --region {region}"
                " --db-cluster-identifier <new-cluster-name> --snapshot-identifier {id}"
                " --engine docdb",
                doc="https://docs.aws.amazon.com/documentdb/latest/developerguide/backup_restore-restore_from_snapshot.html",
            ),
        ),
        delete_command="aws docdb delete-db-cluster-snapshot --region {region}"
        " --db-cluster-snapshot-identifier {id}",
        cold_as="warm",  # no cold tier
    ),
    BackupKind(
        kind="neptune-cluster-snapshot",
        service="Neptune",
        billing_owner="AmazonNeptune",
        usage_types=(("AmazonNeptune", "warm", "BackupUsage"),),
        arn_format=_PART + ":rds:{region}:{account}:cluster-snapshot:{id}",
        arn_regex=rf"^arn:[^:]+:rds:{_ANY}:{_ANY}:cluster-snapshot:",
        arn_names_kind=False,  # an RDS cluster snapshot ARN; its cluster's engine decides
        pricing_page="https://aws.amazon.com/neptune/pricing/",
        # "Restoring from a DB cluster snapshot", "DeleteDBClusterSnapshot" (Neptune user guide)
        restore_paths=(
            RestorePath(
                target="new Neptune DB cluster",
                where="{region}",
                command="aws neptune restore-db-cluster-from-snapshot --region {region}"
                " --db-cluster-identifier <new-cluster-name> --snapshot-identifier {id}"
                " --engine neptune",
                doc="https://docs.aws.amazon.com/neptune/latest/userguide/backup-restore-restore-snapshot.html",
            ),
        ),
        delete_command="aws neptune delete-db-cluster-snapshot --region {region}"
        " --db-cluster-snapshot-identifier {id}",
        cold_as="warm",  # no cold tier
    ),
    # An AMI: AWS Backup's recovery point of an EC2 instance, or one made by CreateImage or a Data
    # Lifecycle Manager AMI policy. Its storage is the EBS snapshots behind it, billed by EC2 as EBS
    # snapshot storage ("Amazon EBS pricing", https://aws.amazon.com/ebs/pricing/ ; "Understand AMI
    # billing", https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/ami-billing.html). AWS Backup
    # offers no cold storage for EC2 ("Feature availability by resource").
    BackupKind(
        kind="ec2-image",
        service="EC2",
        billing_owner="AmazonEC2",
        usage_types=(
            ("AmazonEC2", "warm", "EBS:SnapshotUsage"),
            ("AmazonEC2", "archive", "EBS:SnapshotArchiveStorage"),
        ),
        arn_format=_PART + ":ec2:{region}:{account}:image/{id}",
        arn_regex=rf"^arn:[^:]+:ec2:{_ANY}:{_ANY}:image/",
        arn_names_kind=True,
        pricing_page="https://aws.amazon.com/ebs/pricing/",
        # "Launch an EC2 instance from an AMI" / "RunInstances",
        # https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_RunInstances.html ;
        # "Deregister an AMI" (its snapshots stay, and are billed, until deleted),
        # https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/deregister-ami.html
        restore_paths=(
            RestorePath(
                target="new EC2 instance",
                where="any Availability Zone of {region}",
                command="aws ec2 run-instances --region {region} --image-id {id}"
                " --instance-type <instance-type> --subnet-id <subnet-id>",
                doc="https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_RunInstances.html",
            ),
        ),
        delete_command="aws ec2 deregister-image --region {region} --image-id {id}"
        " --delete-associated-snapshots",
        restore_job_metadata="InstanceType=<instance-type>,SubnetId=<subnet-id>",
        cold_as="warm",  # no cold tier
    ),
    # S3 backups exist only in AWS Backup, which meters and bills them, periodic and continuous
    # alike ("AWS Backup pricing", https://aws.amazon.com/backup/pricing/ ; "Metering, costs, and
    # billing", https://docs.aws.amazon.com/aws-backup/latest/devguide/metering-and-billing.html:
    # S3 supports full AWS Backup management). AWS Backup has no cold storage for S3.
    BackupKind(
        kind="s3-backup",
        service="S3",
        billing_owner="AWSBackup",
        usage_types=(("AWSBackup", "warm", "WarmStorage-ByteHrs-S3"),),
        arn_format=_PART + ":backup:{region}:{account}:recovery-point:{id}",
        arn_regex=rf"^arn:[^:]+:backup:{_ANY}:{_ANY}:recovery-point:",
        arn_names_kind=False,  # AWS Backup's generic recovery point ARN; its resource decides
        pricing_page="https://aws.amazon.com/backup/pricing/",
        # "Restore S3 data using AWS Backup",
        # https://docs.aws.amazon.com/aws-backup/latest/devguide/restoring-s3.html
        restore_paths=(
            RestorePath(
                target="new S3 bucket",
                where="{region}",
                command="aws backup start-restore-job --region {region} --recovery-point-arn {arn}"
                " --iam-role-arn <restore-role-arn> --resource-type S3 --metadata"
                " DestinationBucketName=<new-bucket>,NewBucket=true,Encrypted=false",
                doc="https://docs.aws.amazon.com/aws-backup/latest/devguide/restoring-s3.html",
            ),
        ),
        restore_job_metadata="DestinationBucketName=<new-bucket>,NewBucket=true",
    ),
)

# Read actions shared by the types a collector lists through the tagging API.
_TAGS = "tag:GetResources"

RESOURCE_TYPES: tuple[ResourceType, ...] = (
    ResourceType(
        type_id="ebs-volume",
        collected=True,
        arn_format=_PART + ":ec2:{region}:{account}:volume/{id}",
        arn_regex=rf"^arn:[^:]+:ec2:{_ANY}:{_ANY}:volume/",
        arn_names_type=True,
        backup_service="EBS",
        support_key="ebs-volume",
        backup_kinds=("ebs-snapshot",),
        cloudformation_types=("AWS::EC2::Volume",),
        terraform_types=("aws_ebs_volume",),
        collector="ebs",
        iam_actions=(
            "ec2:DescribeVolumes",
            "ec2:DescribeSnapshots",
            "ec2:ListSnapshotsInRecycleBin",
            # public AMIs expose the snapshots behind them (snapshot-not-public)
            "ec2:DescribeImages",
        ),
        seeder="ebs",
    ),
    ResourceType(
        type_id="rds-instance",
        collected=True,
        arn_format=_PART + ":rds:{region}:{account}:db:{id}",
        arn_regex=rf"^arn:[^:]+:rds:{_ANY}:{_ANY}:db:",
        arn_names_type=True,
        backup_service="RDS",
        support_key="rds-instance",
        backup_kinds=("rds-snapshot", "rds-automated-backup"),
        cloudformation_types=("AWS::RDS::DBInstance",),
        terraform_types=("aws_db_instance",),
        collector="rds",
        iam_actions=(
            "rds:DescribeDBInstances",
            "rds:DescribeDBSnapshots",
            # retained automated backups outlive their instance and are still billed
            "rds:DescribeDBInstanceAutomatedBackups",
            # whether a manual snapshot is shared publicly (snapshot-not-public)
            "rds:DescribeDBSnapshotAttributes",
        ),
        seeder="rds",
    ),
    # An RDS cluster: Aurora, or a Multi-AZ DB cluster. AWS Backup names Aurora "Aurora".
    ResourceType(
        type_id="rds-cluster",
        collected=True,
        arn_format=_PART + ":rds:{region}:{account}:cluster:{id}",
        arn_regex=rf"^arn:[^:]+:rds:{_ANY}:{_ANY}:cluster:",
        arn_names_type=True,
        backup_service="Aurora",
        support_key="rds-cluster",
        backup_kinds=("rds-cluster-snapshot",),
        cloudformation_types=("AWS::RDS::DBCluster",),
        terraform_types=("aws_rds_cluster",),
        collector="rds",
        iam_actions=(
            "rds:DescribeDBClusters",
            "rds:DescribeDBClusterSnapshots",
            # Aurora's AllocatedStorage is always 1: its size is CloudWatch's VolumeBytesUsed
            "cloudwatch:GetMetricData",
            # whether a manual cluster snapshot is shared publicly (snapshot-not-public)
            "rds:DescribeDBClusterSnapshotAttributes",
        ),
        seeder="aurora",
    ),
    ResourceType(
        type_id="dynamodb-table",
        collected=True,
        arn_format=_PART + ":dynamodb:{region}:{account}:table/{id}",
        arn_regex=rf"^arn:[^:]+:dynamodb:{_ANY}:{_ANY}:table/",
        arn_names_type=True,
        backup_service="DynamoDB",
        support_key="dynamodb-table",
        backup_kinds=("dynamodb-backup", "dynamodb-pitr"),
        cloudformation_types=("AWS::DynamoDB::Table",),
        terraform_types=("aws_dynamodb_table",),
        collector="dynamodb",
        iam_actions=(
            "dynamodb:ListTables",
            "dynamodb:DescribeTable",
            "dynamodb:DescribeContinuousBackups",
            "dynamodb:ListBackups",
            _TAGS,
        ),
        seeder="dynamodb",
        recovery_point_kind="dynamodb-backup",
    ),
    ResourceType(
        type_id="efs-filesystem",
        collected=True,
        arn_format=_PART + ":elasticfilesystem:{region}:{account}:file-system/{id}",
        arn_regex=rf"^arn:[^:]+:elasticfilesystem:{_ANY}:{_ANY}:file-system/",
        arn_names_type=True,
        backup_service="EFS",
        support_key="efs-filesystem",
        backup_kinds=("efs-backup",),
        cloudformation_types=("AWS::EFS::FileSystem",),
        terraform_types=("aws_efs_file_system",),
        collector="efs",
        iam_actions=("elasticfilesystem:DescribeFileSystems",),
        seeder="efs",
        recovery_point_kind="efs-backup",
    ),
    # AWS's volume ARN names its gateway: arn:aws:storagegateway:us-east-2:111122223333:
    # gateway/sgw-12A3456B/volume/vol-1122AABB ("DescribeCachediSCSIVolumes",
    # https://docs.aws.amazon.com/storagegateway/latest/APIReference/API_DescribeCachediSCSIVolumes.html).
    # CloudFormation has no Storage Gateway volume resource.
    ResourceType(
        type_id="storagegateway-volume",
        collected=True,
        arn_format=_PART + ":storagegateway:{region}:{account}:gateway/{gateway_id}/volume/{id}",
        arn_regex=rf"^arn:[^:]+:storagegateway:{_ANY}:{_ANY}:gateway/[^/]+/volume/",
        arn_names_type=True,
        backup_service="Storage Gateway",
        support_key="storagegateway-volume",
        backup_kinds=("storagegateway-snapshot",),
        cloudformation_types=(),
        terraform_types=("aws_storagegateway_cached_iscsi_volume",),
        collector="storagegateway",
        iam_actions=(
            "storagegateway:ListGateways",
            "storagegateway:ListVolumes",
            "storagegateway:DescribeCachediSCSIVolumes",
            "storagegateway:DescribeStorediSCSIVolumes",
            # volume tags: the tagging API does not list Storage Gateway volumes
            "storagegateway:ListTagsForResource",
            "ec2:DescribeSnapshots",  # its snapshots are listed by EC2
            _TAGS,
        ),
        seeder="storagegateway",
    ),
    # An EC2 instance's recovery points are AMIs (AWS Backup's, CreateImage's, Data Lifecycle
    # Manager's); the EBS snapshots behind each AMI are counted with the AMI. Data Lifecycle Manager
    # policies (EBS snapshot and AMI schedules of the volumes and instances they target by tag) are
    # read by the same collector: they are these types' native schedules.
    ResourceType(
        type_id="ec2-instance",
        collected=True,
        arn_format=_PART + ":ec2:{region}:{account}:instance/{id}",
        arn_regex=rf"^arn:[^:]+:ec2:{_ANY}:{_ANY}:instance/",
        arn_names_type=True,
        backup_service="EC2",
        support_key="ec2-instance",
        backup_kinds=("ec2-image",),
        cloudformation_types=("AWS::EC2::Instance",),
        terraform_types=("aws_instance",),
        collector="ec2",
        iam_actions=(
            "ec2:DescribeInstances",
            "ec2:DescribeImages",
            "dlm:GetLifecyclePolicies",
            "dlm:GetLifecyclePolicy",
        ),
        seeder="ec2",
    ),
    # S3 bucket ARNs have no region or account ("Actions, resources, and condition keys for
    # Amazon S3", https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazons3.html).
    # Its backups are AWS Backup recovery points only (periodic and continuous).
    ResourceType(
        type_id="s3-bucket",
        collected=True,
        arn_format=_PART + ":s3:::{id}",
        arn_regex=r"^arn:[^:]+:s3:::[^/]+$",
        arn_names_type=True,
        backup_service="S3",
        support_key="s3-bucket",
        backup_kinds=("s3-backup",),
        cloudformation_types=("AWS::S3::Bucket",),
        terraform_types=("aws_s3_bucket",),
        collector="s3",
        iam_actions=("s3:ListAllMyBuckets", "s3:GetBucketTagging", "s3:GetBucketVersioning"),
        seeder="s3",
        recovery_point_kind="s3-backup",
    ),
    # FSx for Windows File Server, Lustre, NetApp ONTAP and OpenZFS file systems; AWS Backup names
    # them all "FSx".
    ResourceType(
        type_id="fsx-filesystem",
        collected=True,
        arn_format=_PART + ":fsx:{region}:{account}:file-system/{id}",
        arn_regex=rf"^arn:[^:]+:fsx:{_ANY}:{_ANY}:file-system/",
        arn_names_type=True,
        backup_service="FSx",
        support_key="fsx-filesystem",
        backup_kinds=("fsx-backup",),
        cloudformation_types=("AWS::FSx::FileSystem",),
        terraform_types=(
            "aws_fsx_lustre_file_system",
            "aws_fsx_windows_file_system",
            "aws_fsx_ontap_file_system",
            "aws_fsx_openzfs_file_system",
        ),
        collector="fsx",
        iam_actions=("fsx:DescribeFileSystems", "fsx:DescribeBackups"),
        seeder="fsx",
    ),
    # DocumentDB and Neptune clusters have RDS cluster ARNs: only the engine tells them apart
    # ("Amazon DocumentDB ARNs", https://docs.aws.amazon.com/documentdb/latest/developerguide/documentdb-arns.html).
    ResourceType(
        type_id="docdb-cluster",
        collected=True,
        arn_format=_PART + ":rds:{region}:{account}:cluster:{id}",
        arn_regex=rf"^arn:[^:]+:rds:{_ANY}:{_ANY}:cluster:",
        arn_names_type=False,
        backup_service="DocumentDB",
        support_key="docdb-cluster",
        backup_kinds=("docdb-cluster-snapshot",),
        cloudformation_types=("AWS::DocDB::DBCluster",),
        terraform_types=("aws_docdb_cluster",),
        collector="docdb",
        # listed by engine through the RDS API (aws/clusterdb.py), whose actions are RDS's
        iam_actions=("rds:DescribeDBClusters", "rds:DescribeDBClusterSnapshots"),
        seeder="docdb",
    ),
    ResourceType(
        type_id="neptune-cluster",
        collected=True,
        arn_format=_PART + ":rds:{region}:{account}:cluster:{id}",
        arn_regex=rf"^arn:[^:]+:rds:{_ANY}:{_ANY}:cluster:",
        arn_names_type=False,
        backup_service="Neptune",
        support_key="neptune-cluster",
        backup_kinds=("neptune-cluster-snapshot",),
        cloudformation_types=("AWS::Neptune::DBCluster",),
        terraform_types=("aws_neptune_cluster",),
        collector="neptune",
        # listed by engine through the RDS API (aws/clusterdb.py), whose actions are RDS's
        iam_actions=("rds:DescribeDBClusters", "rds:DescribeDBClusterSnapshots"),
        seeder="neptune",
    ),
)

_BY_TYPE = {record.type_id: record for record in RESOURCE_TYPES}
_BY_KIND = {record.kind: record for record in BACKUP_KINDS}


def resource_type(type_id: str) -> ResourceType:
    """The record of `type_id`; KeyError names the known types when there is none."""
    try:
        return _BY_TYPE[type_id]
    except KeyError:
        raise KeyError(
            f"unknown resource type {type_id!r} (known: {', '.join(_BY_TYPE)})"
        ) from None


def backup_kind(kind: str) -> BackupKind:
    """The record of backup kind `kind`; KeyError when there is none."""
    try:
        return _BY_KIND[kind]
    except KeyError:
        raise KeyError(f"unknown backup kind {kind!r} (known: {', '.join(_BY_KIND)})") from None


def collected_types() -> tuple[ResourceType, ...]:
    """The records of the types collection gathers today, in catalogue order."""
    return tuple(record for record in RESOURCE_TYPES if record.collected)


def collected_type_ids() -> tuple[str, ...]:
    """The resource_type values collection gathers today, in catalogue order."""
    return tuple(record.type_id for record in collected_types())


def backup_service_name(type_id: str) -> str:
    """AWS Backup's `ResourceType` string for `type_id` (e.g. "Aurora" for rds-cluster)."""
    return resource_type(type_id).backup_service


def cloudformation_types() -> dict[str, str]:
    """CloudFormation resource type -> resource_type, for the collected types."""
    return {cfn: rec.type_id for rec in collected_types() for cfn in rec.cloudformation_types}


def terraform_types() -> dict[str, str]:
    """Terraform resource type -> resource_type, for the collected types."""
    return {tf: rec.type_id for rec in collected_types() for tf in rec.terraform_types}


def arn_formats() -> dict[str, str]:
    """resource_type -> ARN format string, for every catalogued type."""
    return {record.type_id: record.arn_format for record in RESOURCE_TYPES}


def arn_type_patterns() -> tuple[tuple[str, str], ...]:
    """(regex, resource_type) for every type whose ARN shape alone names it, in catalogue order."""
    return tuple((rec.arn_regex, rec.type_id) for rec in RESOURCE_TYPES if rec.arn_names_type)


def backup_kind_patterns() -> tuple[tuple[str, str], ...]:
    """(regex, backup kind) for every kind whose ARN shape alone names it, in catalogue order."""
    return tuple((kind.arn_regex, kind.kind) for kind in BACKUP_KINDS if kind.arn_names_kind)


def shared_shape_types() -> dict[str, tuple[str, str]]:
    """AWS Backup service name -> (ARN regex, resource_type) of collected types whose ARN shape
    another type has (DocumentDB and Neptune clusters have RDS cluster ARNs): AWS Backup's
    ResourceType, not the ARN, tells them apart."""
    return {
        rec.backup_service: (rec.arn_regex, rec.type_id)
        for rec in collected_types()
        if not rec.arn_names_type
    }


def shared_shape_kinds() -> dict[tuple[str, str], str]:
    """(kind the ARN names, resource_type) -> the type's own kind of that ARN shape.

    A DocumentDB cluster snapshot has an RDS cluster snapshot's ARN, a Storage Gateway volume's
    snapshot an EBS snapshot's: the backed-up resource's type decides.
    """
    named = [kind for kind in BACKUP_KINDS if kind.arn_names_kind]
    return {
        (shape.kind, rec.type_id): own
        for rec in collected_types()
        for own in rec.backup_kinds
        if not _BY_KIND[own].arn_names_kind
        for shape in named
        if shape.arn_regex == _BY_KIND[own].arn_regex
    }


def collected_backup_kinds() -> tuple[BackupKind, ...]:
    """The backup kinds of the collected types, in catalogue order."""
    kinds = [kind for rec in collected_types() for kind in rec.backup_kinds]
    return tuple(_BY_KIND[kind] for kind in dict.fromkeys(kinds))


def backup_billing() -> dict[str, tuple[str, str]]:
    """backup kind -> (service label, billing owner), for the collected types' kinds."""
    return {kind.kind: (kind.service, kind.billing_owner) for kind in collected_backup_kinds()}


def usage_types() -> dict[tuple[str, str, str], str]:
    """(billing owner, service label, storage class) -> usage type, for the collected kinds."""
    return {
        (owner, kind.service, storage_class): usage
        for kind in collected_backup_kinds()
        for owner, storage_class, usage in kind.usage_types
    }


def iam_actions() -> set[str]:
    """Every IAM read action the collected types' collectors need (AWS Backup's own aside)."""
    return {action for rec in collected_types() for action in rec.iam_actions}


def cold_storage_as() -> dict[str, str]:
    """backup kind -> the storage class AWS Backup's "cold" means for it, where that is not cold.

    An EBS snapshot's cold tier is the snapshot archive tier; RDS, Aurora and Storage Gateway
    snapshots have no cold tier (AWS Backup ignores the cold transition for them).
    """
    return {kind.kind: kind.cold_as for kind in BACKUP_KINDS if kind.cold_as is not None}


def recovery_point_kinds() -> dict[str, str]:
    """resource_type -> backup kind of its AWS Backup recovery points, where it has its own."""
    return {
        rec.type_id: rec.recovery_point_kind for rec in RESOURCE_TYPES if rec.recovery_point_kind
    }


def collectors() -> dict[str, tuple[str, ...]]:
    """collector module -> the collected types it gathers, in catalogue order."""
    out: dict[str, tuple[str, ...]] = {}
    for rec in collected_types():
        out[rec.collector] = out.get(rec.collector, ()) + (rec.type_id,)
    return out
