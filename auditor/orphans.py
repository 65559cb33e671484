"""Orphaned backups: kept backups whose source resource no longer exists.

One detector for metering (what orphans cost) and the `orphaned-backup` control (one finding each).
A backup is a candidate when its source ARN is set but is not among the collected resources. It is
an orphan only when that source's account and region were collected (otherwise the source may well
exist) and no collection error there covers its resource type (otherwise the listing may have
missed it). Works on whole columns: ARNs are parsed with one Arrow regex, errors (few) one at a time.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from auditor.policy.columns import codes_of, equals, take

__all__ = [
    "ORPHAN",
    "SOURCE_LISTING_FAILED",
    "SOURCE_NOT_COLLECTED",
    "OrphanCandidates",
    "collected_pairs",
    "find_orphans",
    "free_system_backups",
]

# Verdicts per candidate.
ORPHAN = 0
SOURCE_NOT_COLLECTED = 1  # its account and region were not collected (or its ARN has none)
SOURCE_LISTING_FAILED = 2  # a collection error covers its account, region and resource type

# An error's account or region that stands for every account or region.
_ANY = ("", "*", "global")

# arn:partition:service:region:account-id:...
_ARN_RE = r"^arn:[^:]*:[^:]*:(?P<region>[^:]*):(?P<account>[^:]*):"


@dataclass
class OrphanCandidates:
    """Backups with a source ARN that is not among the resources, with a verdict each."""

    rows: np.ndarray  # positions in recovery_points
    source_account: pa.Array  # parsed from the source ARN ("" when it has none)
    source_region: pa.Array
    verdict: np.ndarray  # ORPHAN, SOURCE_NOT_COLLECTED or SOURCE_LISTING_FAILED
    error: np.ndarray  # index into `errors` of the first error that covers the source, else -1

    @property
    def orphans(self) -> np.ndarray:
        """Positions in recovery_points of the orphaned backups."""
        return self.rows[self.verdict == ORPHAN]


def collected_pairs(
    manifest: Mapping[str, Any] | None,
    *frames: pd.DataFrame,
    pairs: Iterable[tuple[str, str]] = (),
    coded: Iterable[tuple[np.ndarray, list, np.ndarray, list]] = (),
) -> set[tuple[str, str]]:
    """(account, region) pairs an inventory covers: the manifest's accounts x regions, every pair
    seen in the `account_id`/`region` columns of `frames` (resources: listed where they were
    collected), and `pairs` and `coded` columns already dictionary-encoded as (account codes,
    accounts, region codes, regions) (backups) in an account the manifest lists, or in any when it
    lists none. An account of the manifest's `accounts_failed` (listed there too, but never
    entered) counts for neither the product nor the backups.

    A backup is recorded in the account that owns its vault, which may be an account the run never
    entered: a vault another account shares through AWS RAM is listed with ListBackupVaults
    (ByShared=true) and its recovery points with ListRecoveryPointsByBackupVault
    (BackupVaultAccountId) from the account it is shared with (AWS Backup API reference). Its
    owner's resources were not listed, so a backup seen there does not make that account covered.
    """
    manifest = manifest or {}
    accounts, regions = manifest.get("accounts") or [], manifest.get("regions") or []
    # A collection's manifest lists the accounts it could not enter among its accounts too
    # (accounts_failed): nothing was listed there, so a source there may well exist.
    entered = set(accounts) - set(manifest.get("accounts_failed") or [])
    out = {(a, r) for a in entered for r in regions}
    for frame in frames:
        if len(frame):
            out.update(_seen(*codes_of(frame["account_id"]), *codes_of(frame["region"])))
    seen = set(pairs)
    for acc, acc_names, reg, reg_names in coded:
        seen.update(_seen(acc, acc_names, reg, reg_names))
    out.update(p for p in seen if not accounts or p[0] in entered)
    return out


def _seen(
    acc: np.ndarray, acc_names: list, reg: np.ndarray, reg_names: list
) -> set[tuple[str, str]]:
    """The (account, region) pairs of two dictionary-encoded columns (code -1: null)."""
    ok = (acc >= 0) & (reg >= 0)
    width = len(reg_names) + 1
    # Few distinct pairs over many rows: counting beats sorting or hashing every row.
    seen = np.flatnonzero(np.bincount(acc[ok].astype(np.int64) * width + reg[ok]))
    return {(acc_names[k // width], reg_names[k % width]) for k in seen}


def _covered(
    errors: pd.DataFrame, account: pa.Array, region: pa.Array, rtype: pa.Array
) -> np.ndarray:
    """Per candidate: index of the first collection error covering it, else -1."""
    first = np.full(len(account), -1, dtype=np.int64)
    for i, e in enumerate(errors.itertuples(index=False)):
        hit = np.ones(len(account), dtype=bool)
        if isinstance(e.account_id, str) and e.account_id not in _ANY:
            hit &= pc.equal(account, e.account_id).to_numpy(zero_copy_only=False)
        if isinstance(e.region, str) and e.region not in _ANY:
            hit &= pc.equal(region, e.region).to_numpy(zero_copy_only=False)
        affects = {a.strip() for a in str(e.affects or "*").split(",") if a.strip()}
        if "*" not in affects:
            types = pa.array(sorted(affects), type=pa.string())
            hit &= pc.is_in(rtype, value_set=types).to_numpy(zero_copy_only=False)
        first[hit & (first < 0)] = i
    return first


def own_scope_for_global_arns(
    recovery_points: pd.DataFrame, rows: np.ndarray, account: pa.Array, region: pa.Array
) -> tuple[pa.Array, pa.Array]:
    """Account and region of sources whose ARN has neither (an S3 bucket's: arn:aws:s3:::name).

    AWS Backup backs a resource up into a vault of the resource's own account and Region; only a
    copy job puts a recovery point elsewhere ("Creating a backup copy", AWS Backup Developer
    Guide, https://docs.aws.amazon.com/aws-backup/latest/devguide/recov-point-create-a-copy.html).
    So an original recovery point (no copy source) names its source's account and region.
    """
    needed = {"account_id", "region"}
    if not len(rows) or not needed <= set(recovery_points.columns):
        return account, region
    # a well-formed ARN whose region and account fields are empty (not a malformed one)
    source = take(recovery_points["resource_arn"], rows).cast(pa.string())
    blank = pc.fill_null(pc.match_substring_regex(source, r"^arn:[^:]+:[^:]+:::"), False)
    if "copy_source_arn" in recovery_points.columns:
        copy = pc.is_valid(take(recovery_points["copy_source_arn"], rows))
        blank = pc.and_(blank, pc.invert(copy))
    if not pc.any(blank).as_py():
        return account, region
    own_account = pc.fill_null(take(recovery_points["account_id"], rows).cast(pa.string()), "")
    own_region = pc.fill_null(take(recovery_points["region"], rows).cast(pa.string()), "")
    return pc.if_else(blank, own_account, account), pc.if_else(blank, own_region, region)


def find_orphans(
    recovery_points: pd.DataFrame,
    source_index: np.ndarray,
    collected: set[tuple[str, str]],
    errors: pd.DataFrame,
    eligible: np.ndarray | None = None,
) -> OrphanCandidates:
    """Candidates and verdicts among `recovery_points` (columns resource_arn, resource_type).

    `source_index` is, per backup, the row of its source in the resources table or -1;
    `collected` the (account, region) pairs collected (see `collected_pairs`); `errors` the
    inventory's collection errors (account_id, region, affects); `eligible` optionally narrows the
    backups considered (e.g. not FAILED: a failed backup holds nothing).
    """
    unknown = source_index < 0
    if eligible is not None:
        unknown &= eligible
    rows = np.flatnonzero(unknown)
    arn = take(recovery_points["resource_arn"], rows).cast(pa.string())
    present = pc.is_valid(arn).to_numpy(zero_copy_only=False)
    rows, arn = rows[present], arn.filter(pa.array(present))
    parsed = pc.extract_regex(arn, _ARN_RE)
    region = pc.fill_null(pc.struct_field(parsed, "region"), "")
    account = pc.fill_null(pc.struct_field(parsed, "account"), "")
    account, region = own_scope_for_global_arns(recovery_points, rows, account, region)
    pair = pc.binary_join_element_wise(account, region, "|").cast(pa.string())
    known_pairs = pa.array(sorted(f"{a}|{r}" for a, r in collected), type=pa.string())
    known = pc.is_in(pair, value_set=known_pairs).to_numpy(zero_copy_only=False)
    if len(errors) and len(rows):
        rtype = pc.fill_null(take(recovery_points["resource_type"], rows).cast(pa.string()), "")
        error = _covered(errors, account, region, rtype)
    else:
        error = np.full(len(rows), -1, dtype=np.int64)
    verdict = np.where(
        ~known, SOURCE_NOT_COLLECTED, np.where(error >= 0, SOURCE_LISTING_FAILED, ORPHAN)
    ).astype(np.int8)
    return OrphanCandidates(rows, account, region, verdict, error)


def free_system_backups(recovery_points: pd.DataFrame) -> np.ndarray:
    """Per backup: a DynamoDB SYSTEM backup, which costs nothing and is no orphan to pay for.

    "If you delete a table with point-in-time recovery enabled, a SYSTEM backup is automatically
    created and is retained for 35 days (at no additional cost)" (DynamoDB API reference,
    BackupSummary, https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_BackupSummary.html);
    the collector records BackupType SYSTEM as created_by "automated". Pass `~free_system_backups(rp)`
    as `find_orphans`'s `eligible` to leave them out.
    """
    return equals(recovery_points["backup_type"], "dynamodb-backup") & equals(
        recovery_points["created_by"], "automated"
    )
