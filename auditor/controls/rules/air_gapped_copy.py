"""air-gapped-copy: a recent copy of the resource sits in a logically air-gapped vault.

A logically air-gapped vault (AWS Backup vault type LOGICALLY_AIR_GAPPED_BACKUP_VAULT) is locked
in compliance mode from creation and encrypted, and can be shared with a recovery account through
AWS RAM (AWS Backup Developer Guide, "Logically air-gapped vault"): a copy there survives the loss
or compromise of the account that made it. Which vaults are air-gapped comes from the `vaults`
table (ListBackupVaults / DescribeBackupVault `VaultType`), which also holds the vaults other
accounts share with a collected account (ListBackupVaults ByShared); a restore access vault
(RESTORE_ACCESS_BACKUP_VAULT) only reaches another vault's recovery points and is no copy of its own.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from auditor.controls import frames as fr
from auditor.controls.context import KINDS, NONE_TS, US_PER_HOUR, Context, us_to_ts
from auditor.controls.registry import control
from auditor.controls.text import choose, first_of, join, number_text
from auditor.controls.unseen import COPY_DATA, unseen_places
from auditor.controls.verdicts import FAIL, NOT_APPLICABLE, NOT_ASSESSED, PASS, Part

AIR_GAPPED = "LOGICALLY_AIR_GAPPED_BACKUP_VAULT"
# A vault still CREATING holds nothing yet, a FAILED one never will (AWS Backup API reference,
# BackupVaultListMember.VaultState).
_UNUSABLE_STATES = ("CREATING", "FAILED")


def _hides_copies(service: str, operation: str, data: frozenset[str]) -> bool:
    """Could this failed call have hidden a copy in a logically air-gapped vault?

    Only AWS Backup lists its vaults (ListBackupVaults, with ByShared=true for those shared with
    the account) and their recovery points (ListRecoveryPointsByBackupVault, with
    BackupVaultAccountId for a shared vault): AWS Backup API reference. A native listing
    (DescribeSnapshots, DynamoDB ListBackups) never shows a vault's contents.
    """
    return service == "backup" and bool(data & COPY_DATA)


def air_gapped_vaults(ctx: Context) -> pd.DataFrame:
    """The usable logically air-gapped vaults of the inventory (one row per vault)."""
    vaults = ctx.inventory["vaults"]
    kind = vaults["vault_type"].astype("string")
    state = vaults["vault_state"].astype("string")
    usable = kind.eq(AIR_GAPPED).fillna(False) & ~state.isin(_UNUSABLE_STATES).fillna(False)
    cols = ["account_id", "region", "vault_name", "vault_arn"]
    return vaults.loc[usable.to_numpy(dtype=bool), cols].astype(object).drop_duplicates()


def _in_air_gapped_vault(ctx: Context, rows: np.ndarray) -> np.ndarray:
    """Per row of `rows` (positions in recovery_points): is it stored in an air-gapped vault?"""
    lag = air_gapped_vaults(ctx)
    if not len(rows) or lag.empty:
        return np.zeros(len(rows), dtype=bool)
    rp = fr.rp_rows(ctx, np.sort(rows))
    by_arn = rp["vault_arn"].astype(object).isin(set(lag["vault_arn"].dropna()))
    # Rows without a vault ARN: by (account, region, vault name), where vault names are unique.
    key = lag["account_id"] + "|" + lag["region"] + "|" + lag["vault_name"]
    own = rp["account_id"].astype(str) + "|" + rp["region"].astype(str) + "|"
    by_name = (own + rp["vault_name"].astype(str)).isin(set(key.dropna()))
    hit = (by_arn | by_name).to_numpy(dtype=bool)
    out = np.zeros(len(rows), dtype=bool)
    out[np.argsort(rows, kind="stable")] = hit
    return out


def _describe(frame: pd.DataFrame, ctx: Context) -> pa.Array:
    s = fr.status_of(frame)
    hours = number_text(fr.num(frame, "allowed_age_hours"))
    vault = fr.col_text(frame, "vault")
    newest = frame["ev.newest_air_gapped_copy"]
    known = fr.num(frame, "air_gapped_vaults_visible")
    stamps = pa.array(pd.to_datetime(newest, utc=True).dt.tz_localize(None), from_pandas=True)
    when = pc.strftime(stamps, format="%Y-%m-%d %H:%M")
    dated = vault.is_valid().to_numpy(zero_copy_only=False) & newest.notna().to_numpy()
    fail = choose(
        dated,
        join(
            "The newest copy in a logically air-gapped vault (",
            vault,
            ", ",
            when,
            " UTC) is older than ",
            hours,
            " hours.",
        ),
        join(
            "No completed copy from the last ",
            hours,
            " hours sits in a logically air-gapped vault",
            choose(
                known == 0,
                "; no such vault is visible to the audited accounts (their own, or shared with "
                "them through AWS RAM).",
                ".",
            ),
        ),
    )
    # a missing vault reads "None", as an f-string writes it
    named = pc.fill_null(vault, "None")
    return first_of(
        [
            (s == NOT_APPLICABLE, "The plan requires no air-gapped copy."),
            (
                s == PASS,
                join(
                    "A copy from the last ",
                    hours,
                    " hours sits in logically air-gapped vault ",
                    named,
                    ".",
                ),
            ),
            (
                s == NOT_ASSESSED,
                join(
                    "Not assessed: no copy from the last ",
                    hours,
                    " hours was seen in a logically air-gapped vault, but vaults or backups were "
                    "not all collected (",
                    pc.fill_null(fr.col_text(frame, "not_collected"), "None"),
                    "), so one may exist unseen.",
                ),
            ),
        ],
        fail,
    )


def _remediate(frame: pd.DataFrame, ctx: Context) -> np.ndarray:
    # AWS Backup API reference: CreateLogicallyAirGappedBackupVault; BackupRuleInput
    # CopyActions[].DestinationBackupVaultArn and TargetLogicallyAirGappedBackupVaultArn.
    return fr.plan_remedy(
        frame,
        ctx,
        lambda p: (
            f"Copy plan {p.name}'s backups into a logically air-gapped vault: add a CopyActions "
            "entry whose DestinationBackupVaultArn is the vault (`aws backup "
            "create-logically-air-gapped-backup-vault --backup-vault-name NAME "
            "--min-retention-days N --max-retention-days M`, then `aws backup "
            "update-backup-plan`), or set the rule's TargetLogicallyAirGappedBackupVaultArn; "
            "share the vault with the recovery account through AWS RAM."
        ),
    )


@control(
    "air-gapped-copy",
    "Recent copy in a logically air-gapped vault",
    "high",
    # The air-gapped vault often lives in another account: judged over the combined inventory.
    scope="cross-account",
    reads=("resources", "tags", "continuous_backups", "recovery_points", "backup_jobs", "vaults"),
    remediation=(
        "Add a copy action (or the rule's air-gapped target) to a logically air-gapped vault."
    ),
    pre_deploy="No copy action to, or rule target of, a logically air-gapped vault.",
    order=95,
    # AWS Config managed rules <type>-resources-in-logically-air-gapped-vault, e.g.
    # STORAGEGATEWAY_RESOURCES_IN_LOGICALLY_AIR_GAPPED_VAULT (AWS Config Developer Guide).
    equivalent="AWS Config rules *_RESOURCES_IN_LOGICALLY_AIR_GAPPED_VAULT",
)
def air_gapped_copy(ctx: Context) -> Part:
    """When the plan sets `copy_to: {air_gapped: true}`, a recent copy must sit in a logically air-gapped vault.

    PASS when a COMPLETED recovery point of the resource (of a kind the plan accepts; a rule that
    targets the air-gapped vault directly counts like a copy) is stored in a logically air-gapped
    vault that is not still being created, and is no older than frequency + grace. FAIL otherwise,
    saying whether no air-gapped vault is visible at all (the vault may belong to an account
    neither collected nor sharing it through AWS RAM). NOT_ASSESSED instead of FAIL when, in any
    account or Region collected, a call listing vaults or their recovery points failed, or when an
    account of the run could not be entered (the copy may exist unseen). NOT_APPLICABLE when the
    plan does not ask for an air-gapped copy.
    """
    n_pairs = len(ctx.pair_ridx)
    applies = ctx.plan_values(lambda p: p.copy_to.air_gapped, dtype=bool)
    allowed = ctx.plan_values(lambda p: p.allowed_age.total_seconds() * 1e6)
    needed = np.zeros(ctx.n + 1, dtype=bool)  # last slot: recovery points of unknown resources
    for p, pl in enumerate(ctx.plans):
        if pl.copy_to.air_gapped:
            needed[:-1] |= ctx.plan_masks[p]
    cand = np.flatnonzero(ctx.rp_completed & needed[ctx.rp_ridx]) if n_pairs else np.empty(0, int)
    cand = cand[_in_air_gapped_vault(ctx, cand)]
    # The newest air-gapped copy per (kind, resource), and its row for the evidence.
    newest = np.full(2 * ctx.n, NONE_TS, dtype=np.int64)
    newest_row = np.full(2 * ctx.n, -1, dtype=np.int64)
    if len(cand):
        key = ctx.rp_kind[cand].astype(np.int64) * ctx.n + ctx.rp_ridx[cand]
        created = ctx.rp_created[cand]
        order = np.lexsort((created, key))
        last = np.r_[key[order][1:] != key[order][:-1], True]
        newest[key[order][last]] = created[order][last]
        newest_row[key[order][last]] = cand[order][last]
    best = np.full(n_pairs, NONE_TS, dtype=np.int64)
    best_row = np.full(n_pairs, -1, dtype=np.int64)
    for k, kind in enumerate(KINDS):
        if not ctx.n:
            break
        vals = np.where(ctx.accepts(kind), newest[k * ctx.n + ctx.pair_ridx], NONE_TS)
        better = vals > best
        best = np.where(better, vals, best)
        best_row = np.where(better, newest_row[k * ctx.n + ctx.pair_ridx], best_row)
    recent = (best != NONE_TS) & (ctx.now - best <= allowed)
    status = np.where(applies, np.where(recent, PASS, FAIL), NOT_APPLICABLE)
    unseen = unseen_places(ctx, _hides_copies)
    hidden = (status == FAIL) & bool(unseen)
    status = np.where(hidden, NOT_ASSESSED, status)
    marks = unseen.mark(hidden)
    lag = air_gapped_vaults(ctx)
    labels = np.full(n_pairs, None, dtype=object)
    has = best_row >= 0
    if has.any():
        rows = fr.rp_rows(ctx, np.unique(best_row[has]))
        names = dict(
            zip(
                np.unique(best_row[has]).tolist(),
                (
                    rows["vault_name"].astype(str)
                    + " ("
                    + rows["account_id"].astype(str)
                    + ", "
                    + rows["region"].astype(str)
                    + ")"
                ).tolist(),
            )
        )
        labels[has] = [names[r] for r in best_row[has]]
    frame = fr.pair_frame(
        ctx,
        status,
        newest_air_gapped_copy=us_to_ts(np.where(applies, best, NONE_TS)),
        allowed_age_hours=allowed / US_PER_HOUR,
        vault=pd.Categorical(np.where(applies, labels, np.full(n_pairs, None, dtype=object))),
        air_gapped_vaults_visible=np.full(n_pairs, len(lag), dtype=np.int64),
        not_collected=marks["not_collected"],
    )
    if hidden.any():
        frame["na_error"] = marks["na_error"]
    return Part("air-gapped-copy", frame, _describe, remediate=_remediate)
