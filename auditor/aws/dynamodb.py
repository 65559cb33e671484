"""DynamoDB: tables, their PITR status, and on-demand/AWS Backup backups.

AWS has no bulk form of DescribeTable or DescribeContinuousBackups, so those two are the only
per-resource calls (one each per table), made by spawned tasks of TABLES_PER_TASK tables that the
pool runs in parallel. Tags come in bulk from the Resource Groups Tagging API.
"""

from __future__ import annotations

import functools
from typing import Any

from auditor.aws.context import GONE, Context, not_found
from auditor.aws.items import for_each

AFFECTS = ("dynamodb-table",)
BACKUP_STATUS = {"AVAILABLE": "COMPLETED", "CREATING": "CREATING", "DELETED": "DELETING"}
CREATED_BY = {"USER": "user", "SYSTEM": "automated", "AWS_BACKUP": "aws-backup"}
# PITR is continuous; AWS states restores up to about five minutes before now.
PITR_FREQUENCY_HOURS = 5 / 60
PITR_DEFAULT_DAYS = 35
TABLES_PER_TASK = 25
_TABLE_GONE = not_found("ResourceNotFoundException", "TableNotFoundException")


def _pitr_fields(pitr: dict | None) -> dict[str, Any]:
    p = ((pitr or {}).get("ContinuousBackupsDescription") or {}).get(
        "PointInTimeRecoveryDescription"
    ) or {}
    if p.get("PointInTimeRecoveryStatus") != "ENABLED":
        return {}
    days = p.get("RecoveryPeriodInDays") or PITR_DEFAULT_DAYS
    return {
        "native_schedule": "dynamodb-pitr",
        "native_frequency_hours": PITR_FREQUENCY_HOURS,
        "native_retention_days": days,
        # "LatestRestorableDateTime is typically 5 minutes before the current time" (DynamoDB API
        # reference, PointInTimeRecoveryDescription).
        "latest_restorable_at": p.get("LatestRestorableDateTime"),
        "continuous_window_days": days,
    }


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
        pitr = ctx.call(
            "dynamodb",
            "describe_continuous_backups",
            affects=AFFECTS,
            gone=_TABLE_GONE,
            TableName=name,
        )
        if pitr is GONE:
            continue
        for_each(
            ctx,
            [desc.get("Table") or {"TableName": name}],
            functools.partial(_add_table, ctx, pitr=pitr),
            service="dynamodb",
            operation="DescribeTable",
            ident_key="TableName",
            affects=AFFECTS[0],
        )


def _add_table(ctx: Context, table: dict, pitr: dict | None) -> None:
    name = table["TableName"]
    sse = table.get("SSEDescription") or {}
    size = table.get("TableSizeBytes")
    ctx.add(
        "resources",
        resource_type="dynamodb-table",
        resource_arn=table["TableArn"],
        resource_id=table.get("TableId") or name,
        name=name,
        created_at=table.get("CreationDateTime"),
        size_bytes=size,
        size_basis="TableSizeBytes" if size is not None else "unknown",
        # DynamoDB encrypts every table at rest; SSEDescription only appears for KMS keys.
        encrypted=True,
        kms_key_id=sse.get("KMSMasterKeyArn"),
        state=table.get("TableStatus"),
        deletion_protection=table.get("DeletionProtectionEnabled"),
        **_pitr_fields(pitr),
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
    for_each(
        ctx,
        tagged,
        lambda item: ctx.add_tags(item["ResourceARN"], item.get("Tags")),
        service="resourcegroupstaggingapi",
        operation="GetResources",
        ident_key="ResourceARN",
        affects=AFFECTS[0],
    )

    # ListBackups' BackupType ALL is "All types of on-demand backups (USER and SYSTEM)"; backups
    # AWS Backup made need BackupType AWS_BACKUP (DynamoDB API reference, ListBackups). Both
    # listings, each backup once (AWS Backup's also come from its vaults; the inventory merges them).
    seen: set[str | None] = set()
    for backup_type in ("ALL", "AWS_BACKUP"):
        listed_before = frozenset(seen)  # a backup is new if the earlier listing did not have it
        found: list[str | None] = []

        def add_page(page: list[dict], before: frozenset = listed_before, found: list = found):
            fresh = [b for b in page if b.get("BackupArn") not in before]
            found.extend(b.get("BackupArn") for b in fresh)
            for_each(
                ctx,
                fresh,
                lambda b: ctx.add("recovery_points", **backup_row(b)),
                service="dynamodb",
                operation="ListBackups",
                ident_key="BackupName",
                affects=AFFECTS[0],
            )

        if ctx.each_page(
            "dynamodb",
            "list_backups",
            "BackupSummaries",
            add_page,
            affects=AFFECTS,
            BackupType=backup_type,
        ):
            seen.update(found)


def backup_row(b: dict) -> dict[str, Any]:
    """The `recovery_points` row of one ListBackups summary (raises on a malformed one)."""
    creator = CREATED_BY.get(b.get("BackupType", ""), "user")
    return dict(
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
