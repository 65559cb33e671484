"""cross-region-copy and cross-account-copy: a recent copy exists in every required region or account."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from auditor.controls import frames as fr
from auditor.controls.context import (
    KINDS,
    NONE_TS,
    US_PER_HOUR,
    WILDCARD_LOCATIONS,
    Context,
    us_to_ts,
)
from auditor.controls.registry import control
from auditor.controls.text import first_of, join, number_text
from auditor.controls.unseen import COPY_DATA
from auditor.controls.verdicts import (
    FAIL,
    NOT_APPLICABLE,
    NOT_ASSESSED,
    PASS,
    Part,
)
from auditor.policy.columns import codes_of


def _unseen_targets(ctx: Context, column: str, targets: list[str], data: frozenset[str]) -> set:
    """The required regions or accounts (`column`) whose backups were not all collected: outside
    what the collection covered (a region not asked for, an account whose role could not be
    assumed), or where a call that lists backups failed. A copy there may exist unseen, so a
    missing copy is NOT_ASSESSED rather than FAIL (a copy that was seen still passes)."""
    manifest = ctx.inventory.manifest or {}
    if column == "account_id":
        failed = set(manifest.get("accounts_failed") or [])
        covered = (set(ctx.inventory.accounts) | set(codes_of(ctx.res["account_id"])[1])) - failed
    else:
        # An inventory that does not record its regions is taken to cover every target.
        covered = set(manifest.get("regions") or targets)
    unseen = {t for t in targets if t not in covered}
    errors = ctx.errors
    for i in ctx.relevant_errors(data) if len(errors) else []:
        place = errors[column].iloc[int(i)]
        if place in WILDCARD_LOCATIONS or not isinstance(place, str):
            return set(targets)  # a failure not tied to one place may have hidden any copy
        unseen |= {place} & set(targets)
    return unseen


def _copy_part(ctx: Context, control_id: str, column: str, getter) -> Part:
    n_pairs = len(ctx.pair_ridx)
    required = [tuple(getter(p)) for p in ctx.plans]
    applies = ctx.plan_values(lambda p: bool(getter(p)), dtype=bool)
    status = np.where(applies, PASS, NOT_APPLICABLE)
    missing = np.zeros(n_pairs, dtype=np.int64)  # bit t set = targets[t] lacks a recent copy
    not_collected = np.zeros(n_pairs, dtype=np.int64)
    allowed = ctx.plan_values(lambda p: p.allowed_age.total_seconds() * 1e6)
    evidence = {}
    copies = ctx.copies
    targets = sorted({t for req in required for t in req})
    unseen = _unseen_targets(ctx, column, targets, COPY_DATA)
    names = ctx.region_names if column == "region" else ctx.account_names
    needed = np.zeros(ctx.n, dtype=bool)
    for p, pl in enumerate(ctx.plans):
        if getter(pl):
            needed |= ctx.plan_masks[p]
    rows = np.flatnonzero(needed[copies["ridx"]]) if ctx.n and targets else np.empty(0, np.int64)
    where = copies[column][rows]
    copy_key = copies["kind"][rows].astype(np.int64) * ctx.n + copies["ridx"][rows]
    copy_created = copies["created"][rows]
    for t, target in enumerate(targets[:62]):
        newest = np.full(2 * ctx.n, NONE_TS, dtype=np.int64)
        if target in names:
            hit = where == names.index(target)
            np.maximum.at(newest, copy_key[hit], copy_created[hit])
        best = np.full(n_pairs, NONE_TS, dtype=np.int64)
        for k, kind in enumerate(KINDS):
            best = np.maximum(
                best,
                np.where(
                    ctx.accepts(kind),
                    newest[k * ctx.n + ctx.pair_ridx] if ctx.n else NONE_TS,
                    NONE_TS,
                ),
            )
        needs = np.array([target in req for req in required] + [False], dtype=bool)[ctx.pair_plan]
        recent = (best != NONE_TS) & (ctx.now - best <= allowed)
        bad = needs & ~recent
        if target in unseen:
            not_collected |= needs.astype(np.int64) << t
        missing |= bad.astype(np.int64) << t
        status = np.where(bad & (status == PASS), FAIL, status)
        evidence[f"newest_copy__{target}"] = us_to_ts(np.where(needs, best, NONE_TS))
    status = np.where((not_collected != 0) & (status == FAIL), NOT_ASSESSED, status)
    evidence["required"] = fr.categorical(ctx.pair_plan, [", ".join(r) or None for r in required])
    evidence["missing"] = fr.bits_to_labels(missing, targets)
    evidence["allowed_age_hours"] = allowed / US_PER_HOUR
    evidence["not_collected"] = fr.bits_to_labels(not_collected, targets)
    frame = fr.pair_frame(ctx, status, **evidence)
    noun = "region" if column == "region" else "account"

    def describe(frame: pd.DataFrame, ctx: Context) -> pa.Array:
        s = fr.status_of(frame)
        # a missing value reads "None", as an f-string writes it
        req, miss, gone = (
            pc.fill_null(fr.col_text(frame, name), "None")
            for name in ("required", "missing", "not_collected")
        )
        hours = number_text(fr.num(frame, "allowed_age_hours"))
        return first_of(
            [
                (s == NOT_APPLICABLE, f"The plan requires no {noun} copy."),
                (s == PASS, join("A copy from the last ", hours, " hours exists in ", req, ".")),
                (
                    s == NOT_ASSESSED,
                    join(f"Not assessed: the backups in {noun} ", gone, " were not all collected."),
                ),
            ],
            join("No completed copy from the last ", hours, f" hours in {noun} ", miss, "."),
        )

    return Part(control_id, frame, describe, remediate=_remediate_copies(control_id))


@control(
    "cross-region-copy",
    "Recent copy in each required region",
    "medium",
    reads=("resources", "tags", "continuous_backups", "recovery_points", "backup_jobs", "vaults"),
    remediation="Add a copy action to a vault in each required region to the backup rule.",
    pre_deploy="No copy action to a region the plan requires.",
    order=80,
    # AWS Backup Developer Guide, "Choosing your controls".
    equivalent="AWS Backup Audit Manager BACKUP_RESOURCES_PROTECTED_BY_CROSS_REGION",
)
def cross_region_copy(ctx: Context) -> Part:
    """A recent copy must exist in every region of the plan's `copy_to.regions`.

    PASS when, for each required region, a COMPLETED recovery point of the resource (of a kind the
    plan accepts) is stored in that region and is no older than frequency + grace. FAIL naming the
    regions without one; NOT_ASSESSED when such a region was not collected, or a call listing its
    backups failed (the copy may exist unseen); NOT_APPLICABLE when the plan requires no region copy.
    """
    return _copy_part(ctx, "cross-region-copy", "region", lambda p: p.copy_to.regions)


@control(
    "cross-account-copy",
    "Recent copy in each required account",
    "medium",
    # The copies live in other accounts: judged over the combined inventory.
    scope="cross-account",
    reads=("resources", "tags", "continuous_backups", "recovery_points", "backup_jobs", "vaults"),
    remediation="Add a copy action to a vault in each required account to the backup rule.",
    pre_deploy="No copy action to an account the plan requires.",
    order=90,
    # AWS Backup Developer Guide, "Choosing your controls".
    equivalent="AWS Backup Audit Manager BACKUP_RESOURCES_PROTECTED_BY_CROSS_ACCOUNT",
)
def cross_account_copy(ctx: Context) -> Part:
    """A recent copy must exist in every account of the plan's `copy_to.accounts`.

    PASS when, for each required account, a COMPLETED recovery point of the resource is stored in
    that account no older than frequency + grace. FAIL naming the accounts without one;
    NOT_ASSESSED when such an account was not collected, or a call listing its backups failed;
    NOT_APPLICABLE when none is required.
    """
    return _copy_part(ctx, "cross-account-copy", "account_id", lambda p: p.copy_to.accounts)


def _remediate_copies(control_id: str):
    """What the rule's CopyActions must add, built once per plan (the rows index it)."""
    # AWS Backup API Reference, BackupRuleInput: CopyActions[].DestinationBackupVaultArn.
    where = "region" if control_id == "cross-region-copy" else "account"

    def remediate(frame: pd.DataFrame, ctx: Context) -> np.ndarray:
        return fr.plan_remedy(
            frame,
            ctx,
            lambda p: (
                f"Add a CopyActions entry to the backup rule of plan {p.name} with a "
                f"DestinationBackupVaultArn in each {where} of "
                f"{', '.join(p.copy_to.regions if where == 'region' else p.copy_to.accounts)} "
                "(`aws backup update-backup-plan`)"
                + (
                    "; the destination vault's access policy must allow backup:CopyIntoBackupVault"
                    " from this account."
                    if where == "account"
                    else "."
                )
            ),
        )

    return remediate
