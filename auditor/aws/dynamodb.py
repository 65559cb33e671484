"""DynamoDB: tables, their PITR status, and on-demand/AWS Backup backups.

AWS has no bulk form of DescribeTable or DescribeContinuousBackups, so those two are the only
per-resource calls (one each per table), made by spawned tasks of TABLES_PER_TASK tables that the
pool runs in parallel. Tags come in bulk from the Resource Groups Tagging API.
"""

from __future__ import annotations

from auditor.aws.context import GONE, Context, not_found

AFFECTS = ("dynamodb-table",)
BACKUP_STATUS = {"AVAILABLE": "COMPLETED", "CREATING": "CREATING", "DELETED": "DELETING"}
CREATED_BY = {"USER": "user", "SYSTEM": "automated", "AWS_BACKUP": "aws-backup"}
# PITR is continuous; AWS states restores up to about five minutes before now.
PITR_FREQUENCY_HOURS = 5 / 60
PITR_DEFAULT_DAYS = 35
TABLES_PER_TASK = 25
_TABLE_GONE = not_found("ResourceNotFoundException", "TableNotFoundException")


def describe_tables(ctx: Context, names: list[str]) -> None:
    """Tables' descriptions and PITR status (two calls per table: AWS has no bulk form)."""
    for name in names:
        # A table deleted since ListTables answers ResourceNotFoundException: gone, not a failure
        # (DynamoDB API reference, DescribeTable errors).
        desc = ctx.call(
            "dynamodb", "describe_table", affects=AFFECTS, gone=_TABLE_GONE, TableName=name
        )
        if desc is None or desc is GONE:
            continue
        table = desc["Table"]
        pitr = ctx.call(
            "dynamodb",
            "describe_continuous_backups",
            affects=AFFECTS,
            gone=_TABLE_GONE,
            TableName=name,
        )
        if pitr is GONE:
            continue
        schedule = {}
        if pitr is not None:
            p = pitr.get("ContinuousBackupsDescription", {}).get(
                "PointInTimeRecoveryDescription", {}
            )
            if p.get("PointInTimeRecoveryStatus") == "ENABLED":
                schedule = {
                    "native_schedule": "dynamodb-pitr",
                    "native_frequency_hours": PITR_FREQUENCY_HOURS,
                    "native_retention_days": p.get("RecoveryPeriodInDays") or PITR_DEFAULT_DAYS,
                }
        sse = table.get("SSEDescription") or {}
        ctx.add(
            "resources",
            resource_type="dynamodb-table",
            resource_arn=table["TableArn"],
            resource_id=table.get("TableId") or name,
            name=name,
            created_at=table.get("CreationDateTime"),
            size_bytes=table.get("TableSizeBytes"),
            # DynamoDB encrypts every table at rest; SSEDescription only appears for KMS keys.
            encrypted=True,
            kms_key_id=sse.get("KMSMasterKeyArn"),
            state=table.get("TableStatus"),
            **schedule,
        )


def collect(ctx: Context) -> None:
    """Tables (resources with PITR as native schedule, tags) and backups (recovery points)."""
    names = ctx.paginate("dynamodb", "list_tables", "TableNames", affects=AFFECTS)
    names = names or []
    for start in range(0, len(names), TABLES_PER_TASK):
        ctx.spawn(describe_tables, names[start : start + TABLES_PER_TASK])

    tagged = ctx.paginate(
        "resourcegroupstaggingapi",
        "get_resources",
        "ResourceTagMappingList",
        affects=AFFECTS,
        ResourceTypeFilters=["dynamodb:table"],
    )
    for item in tagged or ():
        ctx.add_tags(item["ResourceARN"], item.get("Tags"))

    backups = ctx.paginate(
        "dynamodb", "list_backups", "BackupSummaries", affects=AFFECTS, BackupType="ALL"
    )
    for b in backups or ():
        creator = CREATED_BY.get(b.get("BackupType", ""), "user")
        ctx.add(
            "recovery_points",
            recovery_point_arn=b["BackupArn"],
            resource_arn=b.get("TableArn"),
            resource_type="dynamodb-table",
            backup_type="dynamodb-backup",
            source="aws-backup" if creator == "aws-backup" else "native",
            created_by=creator,
            status=BACKUP_STATUS.get(b.get("BackupStatus", ""), "FAILED"),
            created_at=b.get("BackupCreationDateTime"),
            completed_at=b.get("BackupCreationDateTime")
            if b.get("BackupStatus") == "AVAILABLE"
            else None,
            size_bytes=b.get("BackupSizeBytes"),
            size_basis="BackupSizeBytes" if b.get("BackupSizeBytes") is not None else None,
            storage_class="warm",  # native DynamoDB backups have one storage class
            delete_at=b.get("BackupExpiryDateTime"),
            encrypted=True,  # DynamoDB backups are always encrypted at rest
            _size_exact=b.get("BackupSizeBytes") is not None,
        )
