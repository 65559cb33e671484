"""What a user can do with a backup: restore it (where, and with which call) and delete it (with which
call, and from when).

Restore paths come from the resource-type catalogue (`BackupKind.restore_paths`); a backup that AWS
Backup created can also be restored with AWS Backup's StartRestoreJob ("Restore a backup by
resource type", https://docs.aws.amazon.com/aws-backup/latest/devguide/restoring-a-backup.html).
A copy restores in the region and account it is stored in ("Creating backup copies across AWS
Regions", https://docs.aws.amazon.com/aws-backup/latest/devguide/cross-region-backup.html).

The right delete depends on who made the backup. "Backups created with AWS Backup cannot be deleted
with APIs belonging to the backed-up resource": only AWS Backup's DeleteRecoveryPoint removes them
("Deleting backups", https://docs.aws.amazon.com/aws-backup/latest/devguide/deleting-backups.html ;
"DeleteRecoveryPoint", https://docs.aws.amazon.com/aws-backup/latest/devguide/API_DeleteRecoveryPoint.html).
A vault with a Vault Lock refuses every deletion of its recovery points: they go only when their
lifecycle ends, which the lock keeps at least `MinRetentionDays` after creation. From its lock date
the lock is in compliance mode and nobody can remove it; before that (or without one) it is in
governance mode and users allowed backup:DeleteBackupVaultLockConfiguration can remove the lock
first ("AWS Backup Vault Lock", https://docs.aws.amazon.com/aws-backup/latest/devguide/vault-lock.html).

Everything here works on whole columns: templates are filled by concatenating arrays, one group of
rows (backup kind x who made it) at a time.
"""

from __future__ import annotations

import json
import string
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from auditor.arrow_take import take_series
from auditor.catalog import BACKUP_KINDS, RESOURCE_TYPES, BackupKind, RestorePath
from auditor.jsonsafe import JsonText

__all__ = [
    "AWS_BACKUP_DELETE",
    "DELETE_ADVICE_COLUMNS",
    "JsonText",
    "delete_advice",
    "newest_backup_restore",
    "newest_backup_rows",
    "newest_restore_paths",
    "restore_facts",
    "restore_paths",
    "restore_paths_json",
    "restore_paths_text",
]

# "aws backup delete-recovery-point --backup-vault-name <name> --recovery-point-arn <arn>"
# (DeleteRecoveryPoint, AWS Backup API reference).
AWS_BACKUP_DELETE = (
    "aws backup delete-recovery-point --region {region} --backup-vault-name {vault}"
    " --recovery-point-arn {arn}"
)
# StartRestoreJob: RecoveryPointArn and Metadata are required, the role is the one AWS Backup
# restores with ("StartRestoreJob", https://docs.aws.amazon.com/aws-backup/latest/devguide/API_StartRestoreJob.html).
_START_RESTORE_JOB = (
    "aws backup start-restore-job --region {region} --recovery-point-arn {arn}"
    " --iam-role-arn <restore-role-arn> --resource-type {service} --metadata {metadata}"
)
_RESTORE_DOC = "https://docs.aws.amazon.com/aws-backup/latest/devguide/restoring-a-backup.html"
# Automated RDS snapshots are deleted by RDS at the end of the backup retention period; they cannot
# be deleted by hand ("Introduction to backups",
# https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/USER_WorkingWithAutomatedBackups.html).
_RDS_AUTOMATED = (
    "RDS deletes automated snapshots itself when the instance's backup retention period ends;"
    " shorten it with aws rds modify-db-instance --backup-retention-period <days>."
)

# The backup's own identifier inside its ARN (snapshot id, DB snapshot name, ...).
_ID_RE = (
    r"^arn:[^:]*:[^:]*:[^:]*:[^:]*:"
    r"(?:snapshot/|snapshot:|cluster-snapshot:|image/|auto-backup:|backup/)?"  # backup/: FSx
)

# The recovery_points columns a backup's restore paths are made from.
_RESTORE_COLUMNS = (
    "recovery_point_arn",
    "region",
    "vault_name",
    "backup_type",
    "source",
    "created_by",
    "copy_source_arn",
)
# The recovery_points columns `delete_advice` reads.
DELETE_ADVICE_COLUMNS = (
    "recovery_point_arn",
    "account_id",
    "region",
    "vault_name",
    "backup_type",
    "source",
    "created_by",
    "created_at",
    "delete_at",
)
_BY_KIND = {kind.kind: kind for kind in BACKUP_KINDS}
# AWS Backup's ResourceType per backup kind, from the type that makes it.
_SERVICE = {k: rec.backup_service for rec in RESOURCE_TYPES for k in rec.backup_kinds}


def _fill_text(template: str, values: Mapping[str, pa.Array], n: int) -> pa.Array:
    """`template` with each {field} replaced by that row's value, as an Arrow string array."""
    pieces: list[Any] = []
    for literal, field, _, _ in string.Formatter().parse(template):
        if literal:
            pieces.append(pa.scalar(literal))
        if field is not None:
            pieces.append(values[field])
    if not n or not any(isinstance(p, pa.Array) for p in pieces):
        return pa.repeat(pa.scalar("".join(p.as_py() for p in pieces)), n)
    # One Arrow pass: adding object arrays piece by piece copied each long text once per piece.
    return pc.binary_join_element_wise(*pieces, "")


def _fill(template: str, values: Mapping[str, np.ndarray], n: int) -> np.ndarray:
    """`template` with each {field} replaced by that row's value, as an object array of str."""
    arrays = {name: pa.array(v, pa.string()) for name, v in values.items()}
    return np.asarray(_fill_text(template, arrays, n).to_numpy(zero_copy_only=False), dtype=object)


def _row_texts(frame: pd.DataFrame) -> dict[str, pa.Array]:
    """The template fields of each row as Arrow text: region, id, arn, vault (JSON-safe: ARNs and
    names hold no quote or backslash, but they are stripped anyway)."""
    arn = _text_column(frame["recovery_point_arn"], "")
    ident = pc.replace_substring_regex(arn, _ID_RE, "")

    def safe(text: pa.Array) -> pa.Array:
        text = pc.fill_null(text, "?")
        return pc.replace_substring_regex(text, r'["\\]', "") if _may_hold_quote(text) else text

    vault = (
        _text_column(frame["vault_name"], "?")
        if "vault_name" in frame
        else pa.repeat(pa.scalar("?"), len(frame))
    )
    return {
        "region": safe(_text_column(frame["region"], "?")),
        "arn": safe(arn),
        "id": safe(ident),
        "vault": safe(vault),
    }


def _may_hold_quote(text: pa.Array) -> bool:
    """Whether the bytes behind a string array hold a quote or a backslash (one scan of the
    buffer, a tenth of a regular expression's cost; bytes outside a slice can only say yes)."""
    data = text.buffers()[2] if len(text) else None
    if data is None:
        return False
    raw = np.frombuffer(data, dtype=np.uint8)
    return bool(((raw == 0x22) | (raw == 0x5C)).any())


def _row_values(frame: pd.DataFrame) -> dict[str, np.ndarray]:
    """`_row_texts` as object arrays of str."""
    return {
        name: np.asarray(text.to_numpy(zero_copy_only=False), dtype=object)
        for name, text in _row_texts(frame).items()
    }


def _text_column(series: pd.Series, missing: str) -> pa.Array:
    """A column as an Arrow string array (categories decoded), `missing` for nulls."""
    from auditor.policy.columns import arrow_of

    values = arrow_of(series)
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    return pc.fill_null(values.cast(pa.string()), missing)


def _made_by_aws_backup(frame: pd.DataFrame) -> np.ndarray:
    return (frame["source"].eq("aws-backup") | frame["created_by"].eq("aws-backup")).to_numpy(
        dtype=bool, na_value=False
    )


def _paths_of(kind: BackupKind | None, by_aws_backup: bool, native: bool) -> list[RestorePath]:
    """The restore paths of one backup kind, for a backup AWS Backup made or not; `native` False
    when its ARN is AWS Backup's own (e.g. a DynamoDB backup under AWS Backup's advanced
    features), which only AWS Backup restores."""
    if kind is None:
        return []
    own = list(kind.restore_paths)
    starts_job = any("start-restore-job" in p.command for p in own)
    paths = own if native or starts_job else []
    if by_aws_backup and not starts_job and kind.kind in _SERVICE:
        service = _SERVICE[kind.kind]
        paths.append(
            RestorePath(
                target=f"{own[0].target if own else 'resource'} (an AWS Backup restore job)",
                where=own[0].where if own else "{region}",
                command=_START_RESTORE_JOB.replace(
                    "{service}", json.dumps(service) if " " in service else service
                ).replace("{metadata}", kind.restore_job_metadata or "file://<metadata.json>"),
                doc=_RESTORE_DOC,
            )
        )
    return paths


def restore_paths_json(frame: pd.DataFrame) -> np.ndarray:
    """Per row of recovery_points: its restore paths as JSON text (a list of {target, where,
    command, doc, copy}), `JsonText` so evidence embeds it; "[]" for a kind with none."""
    texts = restore_paths_text(frame).to_numpy(zero_copy_only=False)
    return np.fromiter(map(JsonText, texts), dtype=object, count=len(texts))


def restore_paths_text(frame: pd.DataFrame, order: np.ndarray | None = None) -> pa.Array:
    """`restore_paths_json` as an Arrow string array (no Python object per row); with `order`,
    the texts of those rows instead (null where it is negative).

    Made group by group (backup kind x who made it x copy x ARN shape) on whole columns: the
    template of a group is filled with Arrow, and one take puts every group's texts in row order.
    """
    n = len(frame)
    if not n:
        return pa.nulls(0 if order is None else len(order), pa.string())
    values = _row_texts(frame)
    by_backup = _made_by_aws_backup(frame)
    copy = frame["copy_source_arn"].notna().to_numpy() if "copy_source_arn" in frame else None
    kinds = frame["backup_type"].astype(object).fillna("").to_numpy(dtype=object)
    arn = _text_column(frame["recovery_point_arn"], "")
    native = np.zeros(n, dtype=bool)
    for kind in np.unique(kinds):
        if kind in _BY_KIND:
            rows = np.flatnonzero(kinds == kind)
            # every kind's arn_regex is anchored at the start: a search is a prefix match
            native[rows] = pc.match_substring_regex(
                arn.take(rows), _BY_KIND[kind].arn_regex
            ).to_numpy(zero_copy_only=False)
    groups = pd.DataFrame(
        {"kind": kinds, "b": by_backup, "c": copy if copy is not None else False, "n": native}
    )
    texts: list[pa.Array] = []
    # each row's place among the groups' texts; the last place ("[]") for a kind with no path
    where = np.full(n, -1, dtype=np.int64)
    made = 0
    for (kind, made_by_backup, is_copy, own_arn), idx in groups.groupby(
        ["kind", "b", "c", "n"]
    ).indices.items():
        paths = _paths_of(_BY_KIND.get(kind), bool(made_by_backup), bool(own_arn))
        if not paths:
            continue
        template = json.dumps(
            [
                {
                    "target": p.target,
                    "where": p.where,
                    "command": p.command,
                    "doc": p.doc,
                    "copy": bool(is_copy),
                }
                for p in paths
            ]
        )
        taken = pa.array(idx)
        sub = {name: col.take(taken) for name, col in values.items()}
        # the template's own braces are JSON's: only the four field names are placeholders
        safe = template.replace("{", "{{").replace("}", "}}")
        for name in sub:
            safe = safe.replace("{{" + name + "}}", "{" + name + "}")
        texts.append(_fill_text(safe, sub, len(idx)))
        where[idx] = made + np.arange(len(idx))
        made += len(idx)
    where[where < 0] = made
    every = pa.concat_arrays([*(t.cast(pa.string()) for t in texts), pa.array(["[]"])])
    if order is None:
        return every.take(pa.array(where))
    return every.take(pa.array(where[np.maximum(order, 0)], mask=order < 0))


def restore_paths(row: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The restore paths of one backup, from its recovery_points row (backup_type, source,
    created_by, region, recovery_point_arn, vault_name, copy_source_arn)."""
    frame = pd.DataFrame([dict(row)])
    for name in ("source", "created_by", "vault_name", "copy_source_arn"):
        if name not in frame:
            frame[name] = None
    return json.loads(restore_paths_json(frame)[0])


def newest_backup_rows(
    recovery_points: pd.DataFrame,
    resources: pd.DataFrame,
    ridx: np.ndarray | None = None,
    created_us: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Per resource (by position in `resources`): the recovery_points row of its newest completed
    backup (-1 when it has none), and whether any completed backup of it (a copy) is stored
    outside the resource's region.

    Column-wise on positions and codes: each backup's resource row (first of its ARN), its newest
    completed backup (the last row among those made latest); no backup's row is copied. A check
    passes what it has made already: `ridx` (each backup's resource row, -1 for none) and
    `created_us` (creation times in microseconds, int64's minimum for none), so that at ten
    million backups no second copy of either is made.
    """
    from auditor.policy.columns import index_in

    newest = np.full(len(resources), -1, dtype=np.int64)
    outside_of = np.zeros(len(resources), dtype=bool)
    if not len(recovery_points) or not len(resources):
        return newest, outside_of
    if ridx is None:
        ridx = index_in(recovery_points["resource_arn"], resources["resource_arn"])
    if created_us is None:
        created = pd.to_datetime(recovery_points["created_at"], utc=True).array
        created_us = np.where(created.isna(), _NO_TIME, created.as_unit("us").asi8)
    keep = np.flatnonzero(
        (ridx >= 0)
        & recovery_points["status"].eq("COMPLETED").to_numpy(dtype=bool, na_value=False)
        & (created_us != _NO_TIME)
    )
    if not len(keep):
        return newest, outside_of
    owner = ridx[keep]
    res_region = _region_codes(resources["region"], resources["region"])
    rp_region = _region_codes_at(recovery_points["region"], keep, resources["region"])
    outside_of[owner[rp_region != res_region[owner]]] = True
    del rp_region
    stamps = created_us[keep]
    # The newest per resource by two unbuffered maxima (a twentieth of a sort's time): the latest
    # time of each resource, then among its backups made at that time the last row.
    latest = np.full(len(resources), np.iinfo(np.int64).min, dtype=np.int64)
    np.maximum.at(latest, owner, stamps)
    at_latest = stamps == latest[owner]
    np.maximum.at(newest, owner[at_latest], keep[at_latest])
    return newest, outside_of


# No creation time (a null read as int64's minimum, as a check's context has it).
_NO_TIME = np.iinfo(np.int64).min


def _region_codes(regions: pd.Series, resource_regions: pd.Series) -> np.ndarray:
    """Each region as a number that is equal exactly when the text is: the first resource row
    with that region, -1 for a region no resource is in, -2 for a missing one (so a missing
    region equals only another missing one). Hashes the few distinct regions, not every row."""
    from auditor.policy.columns import index_in

    codes = index_in(regions, resource_regions)
    codes[regions.isna().to_numpy()] = -2
    return codes


def _region_codes_at(
    regions: pd.Series, rows: np.ndarray, resource_regions: pd.Series
) -> np.ndarray:
    """`_region_codes` of `regions` at `rows`; a categorical column by its codes (each of its few
    regions looked up once, no row copied)."""
    if not isinstance(regions.dtype, pd.CategoricalDtype):
        return _region_codes(regions.iloc[rows], resource_regions)
    categories = pd.Series(regions.cat.categories.astype(str), dtype="str")
    table = np.append(_region_codes(categories, resource_regions), -2).astype(np.int32)
    return table[regions.array.codes[rows]]  # code -1 (missing) takes the last slot, -2


def restore_facts(
    recovery_points: pd.DataFrame,
    resources: pd.DataFrame,
    owners: np.ndarray,
    newest: np.ndarray,
    outside_of: np.ndarray,
) -> pd.DataFrame:
    """For resources `owners` (positions, each with a newest backup in `newest`): that backup's
    ARN, its restore paths (JsonText), whether a backup of it is stored outside its region, and
    a note when none is ("No backup can be restored outside REGION."). One row per owner."""
    paths = newest_restore_paths(recovery_points, owners, newest)
    out_flag = outside_of[owners]
    regions = (
        pd.Series(resources["region"].astype(object).to_numpy(dtype=object)[owners])
        .fillna("?")
        .to_numpy(dtype=object)
    )
    note = np.where(out_flag, None, "No backup can be restored outside " + regions + ".")
    return pd.DataFrame(
        {
            "newest_backup": pd.Series(
                take_series(recovery_points["recovery_point_arn"], newest[owners]).to_numpy(
                    dtype=object
                ),
                dtype=object,
            ),
            # object, not text: the paths stay JsonText (evidence embeds them as JSON)
            "restore_paths": pd.Series(
                np.fromiter(map(JsonText, paths.to_pylist()), dtype=object, count=len(paths)),
                dtype=object,
            ),
            "restorable_outside": out_flag,
            "region_note": pd.Series(note, dtype=object),
        }
    )


def newest_restore_paths(
    recovery_points: pd.DataFrame,
    owners: np.ndarray,
    newest: np.ndarray,
    order: np.ndarray | None = None,
) -> pa.Array:
    """For resources `owners` (positions, each with a newest backup in `newest`): the restore
    paths of that backup as JSON text, an Arrow string array in the order of `owners`, or with
    `order` (positions into `owners`, -1 for null) in that order (the texts copied once)."""
    rows = newest[owners]
    # only the columns the restore paths read, taken by position (not every column of the rows)
    wanted = [c for c in _RESTORE_COLUMNS if c in recovery_points]
    backups = pd.DataFrame(
        {c: take_series(recovery_points[c], rows) for c in wanted},
        index=pd.RangeIndex(len(rows)),
    )
    return restore_paths_text(backups, order)


def newest_backup_restore(recovery_points: pd.DataFrame, resources: pd.DataFrame) -> pd.DataFrame:
    """Per resource with a completed backup: its newest one, that backup's restore paths, and
    whether any completed backup (a copy) is stored outside the resource's region.

    Indexed by resource_arn (in ARN order); columns newest_backup, restore_paths (JsonText),
    restorable_outside, region_note ("No backup can be restored outside REGION." when none is).
    """
    cols = ["newest_backup", "restore_paths", "restorable_outside", "region_note"]
    newest, outside_of = newest_backup_rows(recovery_points, resources)
    owners = np.flatnonzero(newest >= 0)
    if not len(owners):
        return pd.DataFrame(columns=cols, index=pd.Index([], name="resource_arn"))
    arns = resources["resource_arn"].astype(object).to_numpy(dtype=object)[owners]
    by_arn = np.argsort(arns.astype(str), kind="stable")  # rows in ARN order
    facts = restore_facts(recovery_points, resources, owners[by_arn], newest, outside_of)
    return facts.set_axis(pd.Index(arns[by_arn], name="resource_arn"))


def _vault_facts(frame: pd.DataFrame, vaults: pd.DataFrame) -> pd.DataFrame:
    """Per row: its vault's lock facts (locked, min_retention_days, lock_date), null when none."""
    keys = ["account_id", "region", "vault_name"]
    facts = ["locked", "min_retention_days", "lock_date"]
    if vaults is None or not len(vaults) or "vault_name" not in frame:
        return pd.DataFrame({c: [None] * len(frame) for c in facts}, index=frame.index)
    table = vaults[keys + facts].drop_duplicates(keys)
    joined = frame[keys].merge(table, on=keys, how="left")
    joined.index = frame.index
    return joined[facts]


def _date(values: pd.Series) -> np.ndarray:
    return pd.to_datetime(values, utc=True).dt.strftime("%Y-%m-%d").to_numpy(dtype=object)


def delete_advice(
    frame: pd.DataFrame, vaults: pd.DataFrame | None, as_of: datetime
) -> pd.DataFrame:
    """How to delete each backup of `frame` (recovery_points rows), and from when.

    Columns (same index): delete_api ("backup delete-recovery-point", "ec2 delete-snapshot", ...,
    "" when no call deletes it by hand), delete_command (filled AWS CLI call), deletable_from (the
    earliest deletion date under a vault lock, NaT when it can go now) and remediation (one
    sentence for the finding).
    """
    n = len(frame)
    values = _row_values(frame) if n else {}
    by_backup = _made_by_aws_backup(frame) if n else np.zeros(0, bool)
    kinds = frame["backup_type"].astype(object).fillna("").to_numpy(dtype=object)
    creator = frame["created_by"].astype(object).fillna("").to_numpy(dtype=object)
    command = np.full(n, "", dtype=object)
    api = np.full(n, "", dtype=object)
    text = np.full(n, "", dtype=object)
    for kind_name in np.unique(kinds) if n else []:
        kind = _BY_KIND.get(kind_name)
        native = kind.delete_command if kind else ""
        native_api = " ".join(native.split()[1:3]) if native else ""
        rows = kinds == kind_name
        backup_rows = np.flatnonzero(rows & by_backup)
        native_rows = np.flatnonzero(rows & ~by_backup)
        if len(backup_rows):
            sub = {k: v[backup_rows] for k, v in values.items()}
            command[backup_rows] = _fill(AWS_BACKUP_DELETE, sub, len(backup_rows))
            api[backup_rows] = "backup delete-recovery-point"
            refuses = f" (AWS Backup made it: aws {native_api} refuses it)" if native_api else ""
            text[backup_rows] = "Delete it with " + command[backup_rows] + refuses + "."
        automated = native_rows[
            (kind_name == "rds-snapshot") & (creator[native_rows] == "automated")
        ]
        manual = np.setdiff1d(native_rows, automated)
        if len(automated):
            text[automated] = _RDS_AUTOMATED
        if len(manual) and native:
            sub = {k: v[manual] for k, v in values.items()}
            command[manual] = _fill(native, sub, len(manual))
            api[manual] = native_api
            text[manual] = "Delete it with " + command[manual] + "."
        elif len(manual):
            text[manual] = "No call deletes this backup by hand: change what keeps it."
    deletable_from = pd.Series(pd.NaT, index=frame.index, dtype="datetime64[us, UTC]")
    if n and by_backup.any():
        deletable_from, text = _apply_locks(frame, vaults, as_of, by_backup, text, deletable_from)
    return pd.DataFrame(
        {
            "delete_api": api,
            "delete_command": command,
            "deletable_from": deletable_from,
            "remediation": text,
        },
        index=frame.index,
    )


def _apply_locks(
    frame: pd.DataFrame,
    vaults: pd.DataFrame | None,
    as_of: datetime,
    by_backup: np.ndarray,
    text: np.ndarray,
    deletable_from: pd.Series,
) -> tuple[pd.Series, np.ndarray]:
    """Recovery points in a locked vault: not deletable before their lifecycle ends (at least
    creation + the lock's MinRetentionDays)."""
    facts = _vault_facts(frame, vaults if vaults is not None else pd.DataFrame())
    locked = facts["locked"].eq(True).to_numpy(dtype=bool, na_value=False) & by_backup
    if not locked.any():
        return deletable_from, text
    now = (
        pd.Timestamp(as_of).tz_convert("UTC")
        if pd.Timestamp(as_of).tzinfo
        else pd.Timestamp(as_of, tz="UTC")
    )
    created = pd.to_datetime(frame["created_at"], utc=True)
    min_days = pd.to_numeric(facts["min_retention_days"], errors="coerce")
    by_min = created + pd.to_timedelta(min_days, unit="D")
    lifecycle = pd.to_datetime(frame["delete_at"], utc=True)
    earliest = pd.concat([by_min, lifecycle], axis=1).max(axis=1)
    earliest = pd.to_datetime(earliest, utc=True)
    lock_date = pd.to_datetime(facts["lock_date"], utc=True)
    compliance = (lock_date.notna() & (lock_date <= now)).to_numpy(dtype=bool)
    unknown_end = locked & earliest.isna().to_numpy()
    waiting = locked & (earliest > now).to_numpy(dtype=bool, na_value=False)
    vault = _row_values(frame)["vault"]
    day = _date(earliest)
    text = text.copy()
    sentence = np.where(
        compliance,
        "Vault "
        + vault
        + " has a compliance-mode Vault Lock: nobody can delete this recovery point"
        " before ",
        "Vault " + vault + " has a Vault Lock in governance mode: this recovery point cannot be"
        " deleted before ",
    )
    governance_tail = np.where(
        compliance,
        "",
        " unless someone allowed backup:DeleteBackupVaultLockConfiguration first removes the lock",
    )
    later = np.array([t[:1].lower() + t[1:] for t in text[waiting]], dtype=object)
    text[waiting] = (
        sentence[waiting]
        + day[waiting]
        + ", when its lifecycle ends (the lock keeps it at least its minimum retention)"
        + governance_tail[waiting]
        + ". After that: "
        + later
    )
    text[unknown_end] = (
        "Vault "
        + vault[unknown_end]
        + " has a Vault Lock: this recovery point cannot be deleted while the lock stands and no"
        " lifecycle or minimum retention ends it."
    )
    deletable_from = deletable_from.copy()
    deletable_from[waiting] = earliest[waiting]
    return deletable_from, text
