"""The inventory: what collection gathered, as DataFrames with declared columns, stored as Parquet.

Every table is declared once in `SCHEMAS` (a pyarrow schema per table). Collectors produce plain
records; `frame()` turns them into a DataFrame with exactly the declared columns and dtypes, and
`read_inventory()` refuses any folder whose tables do not match, so everything downstream
(controls, metering, reports) can rely on the columns being there with the right types. Columns
added after an inventory was written are read as nulls (`REQUIRED_COLUMNS` says which are not).

On disk an inventory is a folder::

    manifest.json
    <table>/<account id>.parquet     one file per table and account (`no-account.parquet` for
                                     rows without one, `empty.parquet` for an empty table)

One file per account lets several inventory folders be read as one (`read_inventory` takes any
number of folders). The file names are deliberately not `account_id=<id>` folders: readers treat
those as Hive partitions and add (or clash with) an integer `account_id` column, dropping leading
zeros, while this way each table folder reads back as it is with `pandas.read_parquet(folder)`,
pyarrow or DuckDB (`read_parquet('<table>/*.parquet')`). Inventories written in that older layout
are still read.

Conventions shared by all tables:
- timestamps are UTC (`datetime64[us, UTC]`); sizes are bytes (nullable Int64);
- JSON-valued cells (lists/objects in AWS's own shapes) are JSON strings, for small tables only;
- `resource_type` uses the catalogue's type ids (auditor/catalog.py: `ebs-volume`, `rds-instance`, ...);
- every column but the per-row identifiers is stored dictionary-encoded with one dictionary per
  row group (`write_table_files`): other readers still see plain strings, and a compact read takes
  the dictionaries as they are.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Iterator, Mapping, MutableMapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from auditor import __version__, jsonsafe
from auditor.atomic import replace_dir, write_text
from auditor.catalog import collected_type_ids
from auditor.errors import InputError

INVENTORY_SCHEMA_VERSION = 1

# The resource types collection gathers today (auditor/catalog.py holds their facts).
RESOURCE_TYPES = collected_type_ids()

_TS = pa.timestamp("us", tz="UTC")
_S = pa.string()
_I = pa.int64()
_B = pa.bool_()
_F = pa.float64()


def _schema(*cols: tuple[str, pa.DataType]) -> pa.Schema:
    return pa.schema([pa.field(name, typ) for name, typ in cols])


SCHEMAS: dict[str, pa.Schema] = {
    # One row per protectable resource that exists now.
    "resources": _schema(
        ("account_id", _S),
        ("region", _S),
        ("resource_type", _S),
        ("resource_arn", _S),
        ("resource_id", _S),
        ("name", _S),
        ("created_at", _TS),
        ("size_bytes", _I),  # provisioned size (EBS, RDS, SGW) or stored size (EFS, DynamoDB)
        ("encrypted", _B),
        ("kms_key_id", _S),
        ("state", _S),
        # RDS engine (aurora-mysql, docdb, neptune, ...); an FSx file system's FileSystemType
        # (WINDOWS, LUSTRE, ONTAP, OPENZFS); null for other types
        ("engine", _S),
        ("parent_arn", _S),  # Aurora instance -> its cluster; SGW volume -> its gateway
        # A native schedule the service runs by itself (RDS, DocumentDB and Neptune automated
        # backups, FSx automatic daily backups, DynamoDB PITR, a Data Lifecycle Manager policy):
        # name, interval and how long it keeps backups.
        ("native_schedule", _S),
        ("native_frequency_hours", _F),
        ("native_retention_days", _I),
        # Continuous backup: the newest point a point-in-time restore reaches (RDS
        # LatestRestorableTime, DynamoDB PITR LatestRestorableDateTime) and how many days back.
        ("latest_restorable_at", _TS),
        ("continuous_window_days", _I),
        ("read_replica_source", _S),  # a read replica's source (what must be backed up instead)
        ("deletion_protection", _B),
        ("copy_tags_to_snapshot", _B),
        (
            "size_basis",
            _S,
        ),  # which field gave size_bytes (AllocatedStorage, VolumeBytesUsed, unknown)
        # EBS: JSON list of the instance ids the volume is attached to ("[]": unattached, so no
        # instance's owner answers for it); null for other types
        ("attached_to", _S),
        # S3: the bucket's versioning, Enabled | Suspended | Disabled (never enabled); AWS Backup
        # backs up only buckets with versioning enabled. Null for other types, or not gathered.
        ("versioning", _S),
    ),
    # Tags of resources (and of any other ARN worth tagging), one row per key.
    "tags": _schema(
        ("account_id", _S),
        ("region", _S),
        ("arn", _S),
        ("key", _S),
        ("value", _S),
    ),
    # Every backup, native or AWS Backup, one row per backup (a native snapshot that AWS Backup
    # created is one row, with source=aws-backup, its vault and its native size).
    "recovery_points": _schema(
        ("account_id", _S),
        ("region", _S),  # where the backup is stored
        ("recovery_point_arn", _S),
        ("resource_arn", _S),  # the source resource (may no longer exist: orphaned)
        ("resource_type", _S),
        # ebs-snapshot, rds-snapshot, rds-cluster-snapshot, rds-automated-backup (replicated from
        # another Region), dynamodb-backup, efs-backup, storagegateway-snapshot, fsx-backup,
        # docdb-cluster-snapshot, neptune-cluster-snapshot
        ("backup_type", _S),
        ("source", _S),  # aws-backup | native
        ("created_by", _S),  # aws-backup | user | automated | storage-gateway
        ("status", _S),  # COMPLETED | PARTIAL | FAILED | EXPIRED | CREATING | DELETING
        ("created_at", _TS),
        ("completed_at", _TS),
        ("size_bytes", _I),
        (
            "size_basis",
            _S,
        ),  # which API field gave size_bytes, e.g. BackupSizeInBytes, VolumeSize(upper-bound)
        ("storage_class", _S),  # warm | cold | archive
        ("delete_at", _TS),  # when lifecycle deletes it; null = kept forever
        ("move_to_cold_at", _TS),
        ("encrypted", _B),
        ("kms_key_arn", _S),
        ("vault_name", _S),
        ("vault_arn", _S),
        ("backup_plan_id", _S),
        ("backup_rule_id", _S),
        ("copy_source_arn", _S),  # for a copy: the recovery point it was copied from
        # For a copy: when its source was created (RDS OriginalSnapshotCreateTime, the source
        # recovery point of an AWS Backup copy); null when unknown.
        ("source_created_at", _TS),
        ("continuous", _B),  # an AWS Backup continuous recovery point
        ("latest_restorable_at", _TS),  # for continuous recovery points
    ),
    "backup_plans": _schema(
        ("account_id", _S),
        ("region", _S),
        ("backup_plan_id", _S),
        ("backup_plan_arn", _S),
        ("backup_plan_name", _S),
        ("version_id", _S),
        ("creation_date", _TS),
    ),
    "backup_rules": _schema(
        ("account_id", _S),
        ("region", _S),
        ("backup_plan_id", _S),
        ("rule_id", _S),
        ("rule_name", _S),
        ("target_vault_name", _S),
        ("schedule_expression", _S),
        ("schedule_timezone", _S),
        ("start_window_minutes", _I),
        ("completion_window_minutes", _I),
        ("move_to_cold_after_days", _I),
        ("delete_after_days", _I),
        ("opt_in_to_archive", _B),
        ("continuous_backup", _B),
        # JSON list: [{"destination_vault_arn", "move_to_cold_after_days", "delete_after_days"}]
        ("copy_actions", _S),
        # ARN of the logically air-gapped vault the rule backs up into (None: the target vault)
        ("target_air_gapped_vault_arn", _S),
        # JSON object: the tags AWS Backup puts on the recovery points this rule creates
        ("recovery_point_tags", _S),
    ),
    "backup_selections": _schema(
        ("account_id", _S),
        ("region", _S),
        ("backup_plan_id", _S),
        ("selection_id", _S),
        ("selection_name", _S),
        ("iam_role_arn", _S),
        ("resources", _S),  # JSON list of ARNs (wildcards allowed), as AWS returns them
        ("not_resources", _S),  # JSON list
        ("list_of_tags", _S),  # JSON list of {ConditionType, ConditionKey, ConditionValue}
        ("conditions", _S),  # JSON object in AWS's Conditions shape
    ),
    "vaults": _schema(
        ("account_id", _S),
        ("region", _S),
        ("vault_name", _S),
        ("vault_arn", _S),
        ("vault_type", _S),
        ("encryption_key_arn", _S),
        ("locked", _B),
        ("min_retention_days", _I),
        ("max_retention_days", _I),
        ("lock_date", _TS),
        ("creation_date", _TS),
        ("number_of_recovery_points", _I),
        ("vault_state", _S),  # CREATING | AVAILABLE | FAILED
    ),
    # AWS Backup jobs (backup and copy): failed, expired or aborted ones leave no recovery point but
    # are evidence that a scheduled backup did not happen.
    "backup_jobs": _schema(
        ("account_id", _S),
        ("region", _S),
        ("job_id", _S),
        ("job_type", _S),  # backup | copy
        ("state", _S),  # CREATED | RUNNING | COMPLETED | FAILED | ABORTED | EXPIRED | PARTIAL ...
        ("resource_arn", _S),
        ("resource_type", _S),
        ("recovery_point_arn", _S),
        ("vault_name", _S),
        ("backup_plan_id", _S),
        ("backup_rule_id", _S),
        ("created_at", _TS),
        ("completed_at", _TS),
        ("status_message", _S),
    ),
    # AWS Backup restore jobs since the collection's jobs window (`jobs_since`): any restore, and
    # the restore tests a restore testing plan ran (restore_testing_plan_arn set), with their
    # validation status (AWS Backup API reference, ListRestoreJobs / RestoreJobsListMember).
    "restore_jobs": _schema(
        ("account_id", _S),
        ("region", _S),
        ("restore_job_id", _S),
        ("status", _S),  # PENDING | RUNNING | COMPLETED | ABORTED | FAILED
        ("status_message", _S),
        ("resource_arn", _S),  # SourceResourceArn: the resource whose backup was restored
        ("backup_resource_type", _S),  # AWS Backup's ResourceType (EBS, RDS, Aurora, ...)
        ("recovery_point_arn", _S),
        ("recovery_point_created_at", _TS),
        ("vault_arn", _S),
        ("created_at", _TS),
        ("completed_at", _TS),
        ("created_resource_arn", _S),
        ("restore_testing_plan_arn", _S),  # CreatedBy.RestoreTestingPlanArn
        ("validation_status", _S),  # FAILED | SUCCESSFUL | TIMED_OUT | VALIDATING
        ("validation_message", _S),
        (
            "deletion_status",
            _S,
        ),  # a restore test's restored resource: DELETING | FAILED | SUCCESSFUL
    ),
    # AWS Backup restore testing plans (ListRestoreTestingPlans) and their selections
    # (ListRestoreTestingSelections): which resource types are restored on a schedule.
    "restore_testing_plans": _schema(
        ("account_id", _S),
        ("region", _S),
        ("plan_name", _S),
        ("plan_arn", _S),
        ("schedule_expression", _S),
        ("schedule_timezone", _S),
        ("start_window_hours", _I),
        ("created_at", _TS),
        ("last_execution_at", _TS),
    ),
    "restore_testing_selections": _schema(
        ("account_id", _S),
        ("region", _S),
        ("plan_name", _S),
        ("selection_name", _S),
        ("protected_resource_type", _S),
        ("validation_window_hours", _I),
        ("iam_role_arn", _S),
        ("created_at", _TS),
    ),
    # AWS Backup region settings: per service, opted in, and under full AWS Backup management.
    "region_settings": _schema(
        ("account_id", _S),
        ("region", _S),
        ("service", _S),  # AWS Backup's resource type name: EBS, RDS, Aurora, DynamoDB, EFS, ...
        ("opted_in", _B),
        ("full_management", _B),
    ),
    # AWS Backup vault access policies, one row per vault asked (GetBackupVaultAccessPolicy).
    "vault_policies": _schema(
        ("account_id", _S),
        ("region", _S),
        ("vault_name", _S),
        ("vault_arn", _S),
        ("has_policy", _B),  # false: the vault has no access policy (ResourceNotFoundException)
        ("policy", _S),  # the policy document, JSON as AWS returns it
    ),
    # Backups anyone can restore: public EBS snapshots and AMIs, RDS manual snapshots shared with
    # `all`. One row per (backup, source resource); only what was found public is listed.
    "public_backups": _schema(
        ("account_id", _S),
        ("region", _S),
        ("backup_type", _S),  # ebs-snapshot | ami | rds-snapshot | rds-cluster-snapshot
        ("backup_id", _S),
        ("backup_arn", _S),
        ("resource_arn", _S),  # the resource whose data it holds (null when unknown)
        ("shared_with", _S),  # comma-separated: `all` and any account ids
    ),
    # Data Lifecycle Manager policies: EBS snapshot and AMI schedules of the volumes or instances
    # that carry one of their target tags (the native schedule of those resources).
    "lifecycle_policies": _schema(
        ("account_id", _S),
        ("region", _S),
        ("policy_id", _S),
        ("policy_arn", _S),
        ("state", _S),  # ENABLED | DISABLED | ERROR
        ("policy_type", _S),  # EBS_SNAPSHOT_MANAGEMENT | IMAGE_MANAGEMENT | EVENT_BASED_POLICY
        ("resource_types", _S),  # JSON list: VOLUME, INSTANCE
        ("target_tags", _S),  # JSON list of {Key, Value}
        ("frequency_hours", _F),  # its most frequent schedule
        ("retention_days", _I),  # its longest-kept schedule
    ),
    # Calls that failed: the data they would have gathered is NOT_ASSESSED, never "compliant".
    "errors": _schema(
        ("account_id", _S),
        ("region", _S),
        ("service", _S),
        ("operation", _S),
        ("error_code", _S),
        ("message", _S),
        ("affects", _S),  # comma-separated resource types whose data is incomplete, or "*"
    ),
}

TABLES = tuple(SCHEMAS)

# Tables added after the first inventories were written, with the call that fills each. An older
# inventory lacks them: each is read as empty and, except where the collection folds the table into
# other columns (Data Lifecycle Manager schedules become the resources' native schedule, so an older
# inventory simply knew none), an `errors` row names its call, so the controls that read the table
# are NOT_ASSESSED instead of judged on data that was never collected.
LATER_TABLES: dict[str, tuple[str, str] | None] = {
    "restore_jobs": ("backup", "ListRestoreJobs"),
    "restore_testing_plans": ("backup", "ListRestoreTestingPlans"),
    "restore_testing_selections": ("backup", "ListRestoreTestingSelections"),
    "vault_policies": ("backup", "GetBackupVaultAccessPolicy"),
    "public_backups": ("ec2", "DescribeImages"),
    "lifecycle_policies": None,
}
TABLES_READ_AS_EMPTY = "tables_read_as_empty"


# The columns every inventory has had since its table was first written (the first schema, and
# backup_jobs as it was added). Any other column was added later: an older inventory lacks it,
# and `read_inventory` reads it as nulls of its type, which is what a null means everywhere
# (the collector did not know), so an old inventory can still be checked. A table without one
# of these columns is damaged, not old, and is refused. New columns need no entry here.
REQUIRED_COLUMNS: dict[str, tuple[str, ...]] = {
    "resources": (
        "account_id",
        "region",
        "resource_type",
        "resource_arn",
        "resource_id",
        "name",
        "created_at",
        "size_bytes",
        "encrypted",
        "kms_key_id",
        "state",
        "engine",
        "parent_arn",
        "native_schedule",
        "native_frequency_hours",
        "native_retention_days",
    ),
    "tags": ("account_id", "region", "arn", "key", "value"),
    "recovery_points": (
        "account_id",
        "region",
        "recovery_point_arn",
        "resource_arn",
        "resource_type",
        "backup_type",
        "source",
        "created_by",
        "status",
        "created_at",
        "completed_at",
        "size_bytes",
        "size_basis",
        "storage_class",
        "delete_at",
        "move_to_cold_at",
        "encrypted",
        "kms_key_arn",
        "vault_name",
        "vault_arn",
        "backup_plan_id",
        "backup_rule_id",
        "copy_source_arn",
    ),
    "backup_plans": tuple(SCHEMAS["backup_plans"].names),
    "backup_rules": (
        "account_id",
        "region",
        "backup_plan_id",
        "rule_id",
        "rule_name",
        "target_vault_name",
        "schedule_expression",
        "schedule_timezone",
        "start_window_minutes",
        "completion_window_minutes",
        "move_to_cold_after_days",
        "delete_after_days",
        "opt_in_to_archive",
        "continuous_backup",
        "copy_actions",
    ),
    "backup_selections": tuple(SCHEMAS["backup_selections"].names),
    "vaults": (
        "account_id",
        "region",
        "vault_name",
        "vault_arn",
        "vault_type",
        "encryption_key_arn",
        "locked",
        "min_retention_days",
        "max_retention_days",
        "lock_date",
        "creation_date",
        "number_of_recovery_points",
    ),
    "backup_jobs": tuple(SCHEMAS["backup_jobs"].names),
    "region_settings": tuple(SCHEMAS["region_settings"].names),
    "errors": tuple(SCHEMAS["errors"].names),
    # Tables added later are whole or absent (absent ones: `LATER_TABLES`).
    **{name: tuple(SCHEMAS[name].names) for name in LATER_TABLES},
}
# Manifest key (in memory, never written back) listing the columns read as nulls, per table.
READ_AS_NULL = "columns_read_as_null"


# String columns with few distinct values. `read_inventory(compact=True)` keeps them
# dictionary-encoded (pandas categorical): at 10M recovery points that is several GiB less than
# one Python-visible string per row, and comparisons/isin/groupby work on the small dictionary.
# (table, column) of LOW_CARDINALITY with many distinct values (see `_read_parquet`).
_MANY_VALUES = frozenset({("recovery_points", "resource_arn")})
LOW_CARDINALITY: dict[str, frozenset[str]] = {
    "resources": frozenset(
        {
            "account_id",
            "region",
            "resource_type",
            "state",
            "engine",
            "kms_key_id",
            "native_schedule",
        }
    ),
    "tags": frozenset({"account_id", "region", "key", "value"}),
    "recovery_points": frozenset(
        {
            # Not few values, but repeated: a resource has many backups, so the dictionary of
            # source ARNs is several times smaller than the column, and looking the sources up
            # among the resources (check, meter) hashes each distinct ARN once.
            "resource_arn",
            "account_id",
            "region",
            "resource_type",
            "backup_type",
            "source",
            "created_by",
            "status",
            "size_basis",
            "storage_class",
            "kms_key_arn",
            "vault_name",
            "vault_arn",
            "backup_plan_id",
            "backup_rule_id",
        }
    ),
    "backup_jobs": frozenset(
        {
            "account_id",
            "region",
            "job_type",
            "state",
            "resource_type",
            "vault_name",
            "backup_plan_id",
            "backup_rule_id",
        }
    ),
}

_PANDAS_TYPES = {
    _I: pd.Int64Dtype(),
    _B: pd.BooleanDtype(),
}


def _types_mapper(typ: pa.DataType):
    return _PANDAS_TYPES.get(typ)


def empty_frame(table: str) -> pd.DataFrame:
    """An empty DataFrame with the declared columns and dtypes of `table`."""
    return SCHEMAS[table].empty_table().to_pandas(types_mapper=_types_mapper)


def _clean(value: Any) -> Any:
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def frame(table: str, records: Iterable[Mapping[str, Any]] | pd.DataFrame) -> pd.DataFrame:
    """Build a DataFrame of `table` from records (or a frame), with exactly the declared columns.

    Missing keys become null; unknown keys are an error (a typo in a collector must not silently
    drop data). Values are coerced to the declared types (timestamps to UTC).
    """
    schema = SCHEMAS[table]
    names = set(schema.names)
    if isinstance(records, pd.DataFrame):
        extra = set(records.columns) - names
        if extra:
            raise ValueError(f"{table}: undeclared columns {sorted(extra)}")
        df = records.reindex(columns=schema.names)
        arrays = [_to_arrow(df[name], schema.field(name).type) for name in schema.names]
        return pa.Table.from_arrays(arrays, schema=schema).to_pandas(types_mapper=_types_mapper)
    rows = []
    for record in records:
        extra = set(record) - names
        if extra:
            raise ValueError(f"{table}: undeclared columns {sorted(extra)}")
        rows.append({k: _clean(v) for k, v in record.items()})
    if not rows:
        return empty_frame(table)
    df = pd.DataFrame.from_records(rows, columns=schema.names)
    arrays = [_to_arrow(df[name], schema.field(name).type) for name in schema.names]
    return pa.Table.from_arrays(arrays, schema=schema).to_pandas(types_mapper=_types_mapper)


def _to_arrow(series: pd.Series, typ: pa.DataType) -> pa.Array:
    if series.isna().all():
        return pa.nulls(len(series), type=typ)  # an undeclared-by-the-caller column: all null
    if pa.types.is_timestamp(typ):
        series = pd.to_datetime(series, utc=True, format="ISO8601")
    elif pa.types.is_string(typ):
        if pd.api.types.is_string_dtype(series.dtype) and not pd.api.types.is_object_dtype(
            series.dtype
        ):
            return pa.Array.from_pandas(series, type=typ)  # already strings: no per-element pass
        series = series.astype(object).where(series.notna(), None)
        series = series.map(lambda v: v if v is None or isinstance(v, str) else str(v))
    elif pa.types.is_boolean(typ):
        series = series.astype("boolean")
    elif pa.types.is_integer(typ):
        series = pd.to_numeric(series, errors="raise").astype("Int64")
    elif pa.types.is_floating(typ):
        series = pd.to_numeric(series, errors="raise").astype("float64")
    return pa.Array.from_pandas(series, type=typ)


class Tables(MutableMapping[str, pd.DataFrame]):
    """An inventory's tables by name: DataFrames, or Arrow tables of the declared schema that
    become DataFrames (as `frame` makes them) when first read.

    A collection hands its tables over as Arrow; `write_inventory` writes those as they are, so
    `auditor collect` never makes pandas frames of them, while readers see DataFrames as always.
    """

    def __init__(self, tables: Mapping[str, pd.DataFrame | pa.Table] | None = None) -> None:
        self._tables: dict[str, pd.DataFrame | pa.Table] = dict(tables or {})

    def __getitem__(self, name: str) -> pd.DataFrame:
        table = self._tables[name]
        if isinstance(table, pa.Table):
            table = table.to_pandas(types_mapper=_types_mapper)
            self._tables[name] = table  # the Arrow table is not kept beside its frame
        return table

    def __setitem__(self, name: str, table: pd.DataFrame | pa.Table) -> None:
        self._tables[name] = table

    def __delitem__(self, name: str) -> None:
        del self._tables[name]

    def __contains__(self, name: object) -> bool:
        return name in self._tables  # without reading the table (Mapping's would)

    def __iter__(self) -> Iterator[str]:
        return iter(self._tables)

    def __len__(self) -> int:
        return len(self._tables)

    def __repr__(self) -> str:
        return f"Tables({sorted(self._tables)})"

    def arrow(self, name: str) -> pa.Table | None:
        """Table `name` if it is still Arrow (never read as a DataFrame), else None."""
        table = self._tables.get(name)
        return table if isinstance(table, pa.Table) else None

    def rows(self, name: str) -> int:
        """The number of rows of table `name`, without making it a DataFrame."""
        table = self._tables[name]
        return table.num_rows if isinstance(table, pa.Table) else len(table)


@dataclass(init=False)
class Inventory:
    """All tables of one collection, plus its manifest."""

    tables: Tables
    manifest: dict[str, Any]

    def __init__(
        self,
        tables: Mapping[str, pd.DataFrame | pa.Table] | None = None,
        manifest: dict[str, Any] | None = None,
    ) -> None:
        """`tables` by name, DataFrames or Arrow tables (a table not given is empty)."""
        # A Tables is kept as it is: copying one would read its Arrow tables as DataFrames.
        self.tables = tables if isinstance(tables, Tables) else Tables(tables)
        self.manifest = {} if manifest is None else manifest
        for name in TABLES:
            if name not in self.tables:
                self.tables[name] = empty_frame(name)

    def rows(self, table: str) -> int:
        """The number of rows of `table`, without reading it as a DataFrame."""
        return self.tables.rows(table)

    def __getitem__(self, table: str) -> pd.DataFrame:
        return self.tables[table]

    @property
    def resources(self) -> pd.DataFrame:
        return self.tables["resources"]

    @property
    def recovery_points(self) -> pd.DataFrame:
        return self.tables["recovery_points"]

    @property
    def errors(self) -> pd.DataFrame:
        return self.tables["errors"]

    @property
    def accounts(self) -> list[str]:
        """Accounts collected (from the manifest, else from the data)."""
        if self.manifest.get("accounts"):
            return list(self.manifest["accounts"])
        return sorted(set(self.resources["account_id"].dropna()))

    @classmethod
    def concat(cls, parts: Iterable[Inventory]) -> Inventory:
        """Merge several inventories (e.g. one per account) into one."""
        parts = list(parts)
        tables = {}
        for name in TABLES:
            frames = [p.tables[name] for p in parts if len(p.tables[name])]
            tables[name] = pd.concat(frames, ignore_index=True) if frames else empty_frame(name)
        manifest = merge_manifests([p.manifest for p in parts])
        return cls(tables=tables, manifest=manifest)


def merge_manifests(manifests: list[dict[str, Any]]) -> dict[str, Any]:
    """Combine the manifests of several partial inventories."""
    merged: dict[str, Any] = {
        "schema_version": INVENTORY_SCHEMA_VERSION,
        "program_version": __version__,
        "accounts": sorted({a for m in manifests for a in m.get("accounts", [])}),
        "regions": sorted({r for m in manifests for r in m.get("regions", [])}),
        "api_calls": {},
        "duration_seconds": max((m.get("duration_seconds", 0) for m in manifests), default=0),
    }
    # collected_at: when the first part's calls began (real clock); as_of: the instant judged
    stamps = [m["collected_at"] for m in manifests if m.get("collected_at")]
    merged["collected_at"] = min(stamps) if stamps else None
    judged = [m["as_of"] for m in manifests if m.get("as_of")]
    merged["as_of"] = judged[0] if judged else None
    # Jobs were collected from at least the latest start any part used (ISO 8601 UTC sorts as text).
    for key in ("jobs_since", "restore_jobs_since"):
        starts = [m[key] for m in manifests if m.get(key)]
        if starts:
            merged[key] = max(starts)
    for m in manifests:
        for op, n in m.get("api_calls", {}).items():
            merged["api_calls"][op] = merged["api_calls"].get(op, 0) + n
    return merged


EMPTY_FILE = "empty.parquet"
# Readers skip files whose names start with "_" or ".", so rows without an account get a plain name.
NO_ACCOUNT_FILE = "no-account.parquet"


def _account_file(account: str | None) -> str:
    """The file name of one account's rows. Account ids are 12 digits; anything else is made safe."""
    if account is None:
        return NO_ACCOUNT_FILE
    safe = "".join(c if c.isalnum() or c in "-" else "-" for c in str(account))
    return f"{safe}.parquet"


# Parquet stores a column chunk dictionary-encoded until its dictionary page outgrows a limit
# (pyarrow's default: 1 MiB), then falls back to plain pages for the rest of the chunk. At 10M
# recovery points the 1M distinct source ARNs outgrew it, and a compact read had to encode the
# column again (~8 s). With this limit a column's dictionary stays whole in practice, so a compact
# read takes the stored dictionary and codes as they are. Parquet pages are at most 2 GiB.
DICTIONARY_PAGE_LIMIT = 1 << 30
# Columns with one value per row: a dictionary would only repeat them, so they are stored plain.
UNIQUE_PER_ROW: dict[str, frozenset[str]] = {
    "resources": frozenset({"resource_arn", "resource_id"}),
    "recovery_points": frozenset({"recovery_point_arn"}),
    "backup_jobs": frozenset({"job_id"}),
    "restore_jobs": frozenset({"restore_job_id"}),
}
# File metadata key listing the columns written with a whole dictionary per row group (files
# written before it existed lack it, and their many-valued columns are encoded when read).
WHOLE_DICTIONARY_KEY = b"auditor.whole_dictionary"


def write_table_files(name: str, arrow: pa.Table, table_dir: Path) -> int:
    """Write `arrow` (table `name`, its declared schema) into `table_dir`, one file per account.

    Every column but the `UNIQUE_PER_ROW` ones is dictionary-encoded with one dictionary per row
    group (`DICTIONARY_PAGE_LIMIT`); each file says so in its metadata (`WHOLE_DICTIONARY_KEY`).
    Returns the number of rows written.
    """
    table_dir.mkdir(parents=True, exist_ok=True)
    encoded = [c for c in arrow.column_names if c not in UNIQUE_PER_ROW.get(name, ())]
    metadata = dict(arrow.schema.metadata or {})
    metadata[WHOLE_DICTIONARY_KEY] = json.dumps(encoded).encode()
    arrow = arrow.replace_schema_metadata(metadata)

    def write(part: pa.Table, path: Path) -> None:
        pq.write_table(
            part, path, use_dictionary=encoded, dictionary_pagesize_limit=DICTIONARY_PAGE_LIMIT
        )

    if arrow.num_rows == 0:
        write(arrow, table_dir / EMPTY_FILE)
        return 0
    accounts = arrow["account_id"]
    listed = sorted(pc.unique(accounts).to_pylist(), key=lambda a: (a is None, a or ""))
    if len(listed) == 1:  # one account: its file is the whole table (a filter would copy it)
        write(arrow, table_dir / _account_file(listed[0]))
        return arrow.num_rows
    for account in listed:
        mask = pc.is_null(accounts) if account is None else pc.equal(accounts, account)
        write(arrow.filter(pc.fill_null(mask, False)), table_dir / _account_file(account))
    return arrow.num_rows


def table_arrow(table: str, df: pd.DataFrame) -> pa.Table:
    """`df` as an Arrow table of `table`'s declared schema, its values coerced as `frame` coerces
    them (the Arrow table `frame` converts to pandas, without that pandas copy)."""
    schema = SCHEMAS[table]
    extra = set(df.columns) - set(schema.names)
    if extra:
        raise ValueError(f"{table}: undeclared columns {sorted(extra)}")
    df = df.reindex(columns=schema.names)
    arrays = [_to_arrow(df[name], schema.field(name).type) for name in schema.names]
    return pa.Table.from_arrays(arrays, schema=schema.with_metadata(_pandas_metadata(table)))


@cache
def _pandas_metadata(table: str) -> dict[bytes, bytes]:
    """The schema metadata pandas gives `table`'s frames (column dtypes, no index); it depends on
    the dtypes alone, which `frame` fixes per table, so files carry what they carried when
    written from pandas."""
    arrow = pa.Table.from_pandas(empty_frame(table), schema=SCHEMAS[table], preserve_index=False)
    return dict(arrow.schema.metadata or {})


def _arrow_to_write(inventory: Inventory, name: str) -> pa.Table:
    """Table `name` of `inventory` as written: as it is when still Arrow, else from its frame."""
    arrow = inventory.tables.arrow(name)
    if arrow is None:
        return table_arrow(name, inventory.tables[name])
    return arrow.replace_schema_metadata(_pandas_metadata(name))


def write_inventory(inventory: Inventory, out: str | Path) -> Path:
    """Write `inventory` to folder `out` atomically (the folder is replaced as a whole)."""
    out = Path(out)
    with replace_dir(out) as staging:
        counts = {}
        for name in TABLES:
            arrow = _arrow_to_write(inventory, name)
            counts[name] = write_table_files(name, arrow, staging / name)
            del arrow  # one table's Arrow copy at a time
        manifest = dict(inventory.manifest)
        manifest.setdefault("schema_version", INVENTORY_SCHEMA_VERSION)
        manifest.setdefault("program_version", __version__)
        manifest["tables"] = counts
        write_text(
            staging / "manifest.json", jsonsafe.dumps(manifest, sort_keys=True, newline=False)
        )
    return out


def read_inventory(*folders: str | Path, compact: bool = False) -> Inventory:
    """Read one or more inventory folders as one inventory, validating every table's schema.

    With `compact`, the `LOW_CARDINALITY` columns come back as pandas categoricals (for large
    offline checks; callers must not assign values outside the categories).
    Raises InputError (exit 2) naming the file and the problem for a missing, corrupt or
    mismatched table.
    """
    if not folders:
        raise InputError("no inventory folder given")
    parts = [_read_one(Path(f), compact) for f in folders]
    if len(parts) == 1:
        return parts[0]
    merged = Inventory.concat(parts)
    filled: dict[str, set[str]] = {}
    empty: set[str] = set()
    for part in parts:
        for table, columns in part.manifest.get(READ_AS_NULL, {}).items():
            filled.setdefault(table, set()).update(columns)
        empty.update(part.manifest.get(TABLES_READ_AS_EMPTY) or ())
    if filled:
        merged.manifest[READ_AS_NULL] = {t: sorted(c) for t, c in sorted(filled.items())}
    if empty:
        merged.manifest[TABLES_READ_AS_EMPTY] = sorted(empty)
    return merged


def read_as_null_note(inventory: Inventory) -> str | None:
    """One line saying which columns an older inventory lacked and were read as null, or None."""
    filled = inventory.manifest.get(READ_AS_NULL) or {}
    empty = inventory.manifest.get(TABLES_READ_AS_EMPTY) or []
    notes = []
    if filled:
        columns = ", ".join(f"{t}.{c}" for t, names in filled.items() for c in names)
        notes.append(
            f"the inventory was written before column(s) {columns} existed; they were read as null"
            " (not known), so what depends on them is judged without them"
        )
    if empty:
        notes.append(
            f"it has no table(s) {', '.join(empty)} (written by an older auditor): the controls"
            " that read them are NOT_ASSESSED"
        )
    return "; ".join(notes) or None


def _read_one(folder: Path, compact: bool = False) -> Inventory:
    manifest_path = folder / "manifest.json"
    if not folder.is_dir():
        raise InputError(f"{folder}: not an inventory folder (it does not exist)")
    if not manifest_path.is_file():
        raise InputError(
            f"{folder}: not an inventory folder (no manifest.json); run `auditor collect` first"
        )
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"{manifest_path}: corrupt manifest ({exc})") from None
    if not isinstance(manifest, dict):
        raise InputError(f"{manifest_path}: corrupt manifest (not a JSON object)")
    version = manifest.get("schema_version")
    if version != INVENTORY_SCHEMA_VERSION:
        raise InputError(
            f"{manifest_path}: inventory schema version {version!r}, this program reads {INVENTORY_SCHEMA_VERSION}"
        )
    _check_manifest(manifest, manifest_path)
    tables = {}
    filled: dict[str, set[str]] = {}
    missing_later = [n for n in LATER_TABLES if not (folder / n).is_dir()]
    for name in TABLES:
        table_dir = folder / name
        if name in missing_later:
            tables[name] = empty_frame(name)
            continue
        if not table_dir.is_dir():
            raise InputError(f"{table_dir}: missing table '{name}'")
        files = sorted(table_dir.rglob("*.parquet"))
        if not files:
            raise InputError(f"{table_dir}: table '{name}' has no Parquet file")
        arrows = [_read_parquet(path, name, compact, filled) for path in files]
        try:
            arrow = pa.concat_tables(arrows) if len(arrows) > 1 else arrows[0]
            del arrows
            # Each column's Arrow buffers are released once converted (the peak of a 10M-row
            # table is then one copy and a column, not two copies).
            tables[name] = arrow.to_pandas(
                types_mapper=_types_mapper, self_destruct=True, split_blocks=True
            )
            del arrow
        except (pa.ArrowException, ValueError, UnicodeDecodeError) as exc:
            raise InputError(f"{table_dir}: corrupt table '{name}' ({_first_line(exc)})") from None
    expected = manifest.get("tables") or {}
    for name, count in expected.items():
        if name in tables and len(tables[name]) != count:
            raise InputError(
                f"{folder / name}: {len(tables[name])} rows but manifest.json says {count} (incomplete copy?)"
            )
    if filled:
        manifest[READ_AS_NULL] = {t: sorted(c) for t, c in sorted(filled.items())}
    if missing_later:
        manifest[TABLES_READ_AS_EMPTY] = missing_later
        tables["errors"] = _not_collected_rows(tables["errors"], missing_later)
    return Inventory(tables=tables, manifest=manifest)


def _not_collected_rows(errors: pd.DataFrame, missing: list[str]) -> pd.DataFrame:
    """`errors` plus one row per missing later table whose call fills what controls read."""
    rows = [
        {
            "account_id": "*",
            "region": "*",
            "service": call[0],
            "operation": call[1],
            "error_code": "NotInInventory",
            "message": f"the inventory was written before auditor collected '{name}'; collect"
            " again to judge what reads it",
            "affects": "*",
        }
        for name in missing
        if (call := LATER_TABLES[name]) is not None
    ]
    if not rows:
        return errors
    added = pd.DataFrame(rows, columns=list(errors.columns)).astype(errors.dtypes.to_dict())
    return pd.concat([errors, added], ignore_index=True)


# manifest key -> (what it must be, test); absent keys are fine (older or hand-made inventories)
_MANIFEST_SHAPES = {
    "accounts": (
        "a list of account ids",
        lambda v: isinstance(v, list) and all(isinstance(x, str) for x in v),
    ),
    "accounts_failed": (
        "a list of account ids",
        lambda v: isinstance(v, list) and all(isinstance(x, str) for x in v),
    ),
    "regions": (
        "a list of regions",
        lambda v: isinstance(v, list) and all(isinstance(x, str) for x in v),
    ),
    "services": (
        "a list of services",
        lambda v: isinstance(v, list) and all(isinstance(x, str) for x in v),
    ),
    "collected_at": ("an ISO 8601 time or null", lambda v: v is None or isinstance(v, str)),
    "tables": (
        "an object of row counts",
        lambda v: (
            isinstance(v, dict)
            and all(isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in v.values())
        ),
    ),
    "api_calls": (
        "an object of call counts",
        lambda v: (
            isinstance(v, dict)
            and all(isinstance(n, int) and not isinstance(n, bool) for n in v.values())
        ),
    ),
}


def _check_manifest(manifest: dict, path: Path) -> None:
    """InputError naming the first manifest field whose type is wrong (later code relies on them)."""
    for key, (what, ok) in _MANIFEST_SHAPES.items():
        if key in manifest and not ok(manifest[key]):
            raise InputError(f"{path}: corrupt manifest ('{key}' must be {what})")


def _read_parquet(
    path: Path, table: str, compact: bool = False, filled: dict[str, set[str]] | None = None
) -> pa.Table:
    """One Parquet file of `table`, checked against its schema; columns added to the schema after
    the file was written come back as nulls, and are added to `filled[table]`."""
    schema = SCHEMAS[table]
    dictionary_columns = sorted(LOW_CARDINALITY.get(table, ())) if compact else []
    try:
        parquet = pq.ParquetFile(path)
        # Columns with many distinct values that a file did not store with a whole dictionary
        # (written before `write_table_files`) are encoded once over the file: read as
        # dictionaries, each plain page brings its own, and merging them for pandas cost ~27 s at
        # 10M rows (~4.5 s so).
        whole = _whole_dictionary_columns(parquet)
        encode_after = [
            c for c in dictionary_columns if (table, c) in _MANY_VALUES and c not in whole
        ]
        # Reading the whole table (not only the footer) decodes every page, so a damaged page
        # fails here rather than later in a control.
        arrow = pq.ParquetFile(
            path,
            metadata=parquet.metadata,
            read_dictionary=[c for c in dictionary_columns if c not in encode_after] or None,
        ).read()
        arrow.column_names  # noqa: B018 - decodes the names: a damaged schema has invalid UTF-8 here
    except Exception as exc:  # pyarrow raises several types for corrupt files
        raise InputError(f"{path}: corrupt Parquet file ({_first_line(exc)})") from None
    missing = [n for n in schema.names if n not in arrow.column_names]
    required = [n for n in missing if n in REQUIRED_COLUMNS[table]]
    if required:
        raise InputError(f"{path}: table '{table}' lacks column(s) {', '.join(required)}")
    for name in missing:
        typ = schema.field(name).type
        arrow = arrow.append_column(pa.field(name, typ), pa.nulls(len(arrow), typ))
    if missing and len(arrow) and filled is not None:  # an empty file holds nothing to judge
        filled.setdefault(table, set()).update(missing)
    arrow = arrow.select(schema.names)
    for name in encode_after:
        column = arrow[name]
        if not pa.types.is_dictionary(column.type):
            encoded = pc.dictionary_encode(column.combine_chunks())
            arrow = arrow.set_column(arrow.schema.get_field_index(name), name, encoded)
    for fld in schema:
        actual = arrow.schema.field(fld.name).type
        if pa.types.is_dictionary(actual) and fld.name in dictionary_columns:
            actual = actual.value_type
        if actual != fld.type and not (pa.types.is_null(actual)):
            raise InputError(f"{path}: column '{fld.name}' is {actual}, expected {fld.type}")
    if dictionary_columns:
        schema = pa.schema(
            [
                pa.field(f.name, pa.dictionary(pa.int32(), f.type))
                if f.name in dictionary_columns
                else f
                for f in schema
            ]
        )
    try:
        arrow = arrow.cast(schema)
        arrow.validate(full=True)  # e.g. invalid UTF-8 in a string column
    except (pa.ArrowException, ValueError) as exc:
        raise InputError(f"{path}: corrupt Parquet file ({_first_line(exc)})") from None
    return arrow


def _whole_dictionary_columns(parquet: pq.ParquetFile) -> frozenset[str]:
    """The columns a file says it stores with a whole dictionary per row group (`write_table_files`)."""
    listed = (parquet.metadata.metadata or {}).get(WHOLE_DICTIONARY_KEY)
    try:
        names = json.loads(listed) if listed else []
    except (UnicodeDecodeError, json.JSONDecodeError):
        return frozenset()  # unreadable: read as a file without it (correct, only slower)
    return (
        frozenset(n for n in names if isinstance(n, str))
        if isinstance(names, list)
        else frozenset()
    )


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
