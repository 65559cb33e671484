"""vault-lock: the vaults holding the resource's recovery points are locked as the plan requires."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from auditor.controls import frames as fr
from auditor.controls.context import LOCK_COMPLIANCE, LOCK_GOVERNANCE, Context
from auditor.controls.registry import control
from auditor.controls.text import choose, first_of, join, present
from auditor.controls.verdicts import (
    FAIL,
    NOT_APPLICABLE,
    NOT_ASSESSED,
    PASS,
    WAIVED,
    Part,
)

_LOCK_PROBLEMS = (
    "Vault {v} is not in the inventory, so its lock cannot be confirmed",
    "Vault {v} holds its recovery points but is not locked",
    "Vault {v}'s lock allows at most {max} days, less than retention_days",
    "Vault {v}'s lock forces at least {min} days, more than max_retention_days",
    "Vault {v} is locked in governance mode{until}, and the plan requires compliance mode: "
    + "users with the IAM permission backup:DeleteBackupVaultLockConfiguration can remove the lock",
)
# Required lock strength per `vault_lock:` value: true ("any") and governance accept governance or
# compliance; compliance needs compliance mode in force (after the lock date).
_REQUIRED = {"any": LOCK_GOVERNANCE, "governance": LOCK_GOVERNANCE, "compliance": LOCK_COMPLIANCE}
_GOVERNANCE_NOTE = (
    " Vault(s) {g} are locked in governance mode: users with the IAM permission "
    "backup:DeleteBackupVaultLockConfiguration can remove the lock."
)


def _describe_lock(frame: pd.DataFrame, ctx: Context) -> pa.Array:
    s = fr.status_of(frame)
    # a missing value reads "None", as an f-string writes it
    vaults = pc.fill_null(fr.col_text(frame, "vaults"), "None")
    problem = pc.fill_null(fr.col_text(frame, "problem"), "None")
    governance = fr.col_text(frame, "governance_vaults")
    note_head, note_tail = _GOVERNANCE_NOTE.split("{g}")
    note = choose(present(governance), join(note_head, governance, note_tail), "")
    return first_of(
        [
            (s == NOT_APPLICABLE, "The plan does not require a locked vault."),
            (s == PASS, join("Its recovery points are in locked vault(s) ", vaults, ".", note)),
        ],
        join(problem, "."),
    )


@control(
    "vault-lock",
    "Recovery points are in a locked vault",
    "medium",
    reads=("resources", "tags", "continuous_backups", "recovery_points", "backup_jobs", "vaults"),
    remediation=(
        "Lock the vaults that hold its recovery points (AWS Backup Vault Lock) with retention "
        "bounds that fit the plan."
    ),
    pre_deploy=(
        "The plan requires a locked vault and the rule's vault is not locked, or its lock bounds "
        "conflict with retention."
    ),
    order=70,
    # AWS Backup Developer Guide, "Choosing your controls"; AWS Config managed rules.
    equivalent="AWS Backup Audit Manager BACKUP_RESOURCES_PROTECTED_BY_BACKUP_VAULT_LOCK",
)
def vault_lock(ctx: Context) -> Part:
    """When the plan sets `vault_lock`, the vaults holding its recovery points must be locked.

    `vault_lock: true` accepts a lock in either mode, `governance` a governance or compliance lock,
    `compliance` only a compliance lock in force (AWS Backup Vault Lock: a lock with a lock date is
    immutable from that date; before it, or without one, it is in governance mode and users with the
    IAM permission can remove it, which the finding says). FAIL when any vault holding the
    resource's AWS Backup recovery points is not locked (or is unknown to the inventory), is locked
    in a weaker mode than required, when the lock's bounds conflict with the plan (the vault's maximum
    retention is below `retention_days`, or its minimum above `max_retention_days`), or when no
    recovery point of the resource is in a vault at all. NOT_APPLICABLE when the plan does not ask
    for a lock.
    """
    n_pairs = len(ctx.pair_ridx)
    applies = ctx.plan_values(lambda p: p.vault_lock is not None, dtype=bool)
    status = np.where(applies, FAIL, NOT_APPLICABLE)
    rows = np.flatnonzero(applies)
    vault_bits = np.zeros(n_pairs, dtype=np.int64)
    governance_bits = np.zeros(n_pairs, dtype=np.int64)
    bad_vault = np.full(n_pairs, -1, dtype=np.int64)
    bad_kind = np.full(n_pairs, -1, dtype=np.int64)
    names: list[str] = []
    if len(rows):
        rv = ctx.resource_vaults
        info = rv["info"]
        keys = sorted(info)
        pos = {k: i for i, k in enumerate(keys)}
        names = [info[k]["label"] for k in keys]
        r = ctx.pair_ridx[rows]
        start, stop = rv["starts"][r], rv["starts"][r + 1]
        count = stop - start
        # Expand each pair row to one row per vault of its resource.
        owner = np.repeat(np.arange(len(rows)), count)
        at = np.repeat(start - np.cumsum(count) + count, count) + np.arange(count.sum())
        vk = rv["vk"][at]
        plan = ctx.pair_plan[rows][owner]
        keep_days = np.array([p.retention_days for p in ctx.plans], dtype=float)[plan]
        max_keep = np.array([p.max_retention_days or np.inf for p in ctx.plans], dtype=float)[plan]
        known = np.array([info[int(k)]["known"] for k in keys], dtype=bool)
        locked = np.array([info[int(k)]["locked"] for k in keys], dtype=bool)
        vmin = np.array([info[int(k)]["min"] for k in keys], dtype=float)
        vmax = np.array([info[int(k)]["max"] for k in keys], dtype=float)
        mode = np.array([info[int(k)]["mode"] for k in keys], dtype=np.int64)
        required = np.array(
            [_REQUIRED.get(p.vault_lock or "", 0) for p in ctx.plans], dtype=np.int64
        )[plan]
        vi = (
            np.array([pos[int(k)] for k in vk], dtype=np.int64)
            if len(vk) < 4096
            else np.searchsorted(np.array(keys), vk)
        )
        kind = np.select(
            [
                ~known[vi],
                ~locked[vi],
                mode[vi] < required,
                vmax[vi] < keep_days,
                vmin[vi] > max_keep,
            ],
            [0, 1, 4, 2, 3],
            default=-1,
        )
        bad = kind >= 0
        any_bad = np.bincount(owner, weights=bad, minlength=len(rows)) > 0
        status[rows] = np.where(count == 0, FAIL, np.where(any_bad, FAIL, PASS))
        first = np.flatnonzero(bad)
        # Name the same vault whatever the encoding: the first bad one by its label.
        rank = np.argsort(np.argsort(np.array(names, dtype=object)))
        first = first[np.lexsort((rank[vi[first]], owner[first]))]
        first = first[np.unique(owner[first], return_index=True)[1]]
        bad_vault[rows[owner[first]]] = vi[first]
        bad_kind[rows[owner[first]]] = kind[first]
        if len(keys) <= 62:
            bit = np.left_shift(1, vi).astype(np.int64)
            np.bitwise_or.at(vault_bits, rows[owner], bit)
            gov = mode[vi] == LOCK_GOVERNANCE
            np.bitwise_or.at(governance_bits, rows[owner][gov], bit[gov])
    frame = fr.pair_frame(
        ctx,
        status,
        vaults=fr.bits_to_labels(vault_bits, names),
        governance_vaults=fr.bits_to_labels(governance_bits, names),
    )
    frame["bad_vault"] = bad_vault
    frame["bad_kind"] = bad_kind

    return Part(
        "vault-lock",
        frame,
        _describe_with_problems,
        evidence_hook=_problems,
        remediate=_remediate,
    )


def _problems(f: pd.DataFrame, ctx: Context) -> dict:
    """Per row, what keeps its recovery points from a suitable locked vault (evidence and detail):
    one text per (vault, problem), spread over its rows."""
    rv = ctx.resource_vaults
    keys = sorted(rv["info"])
    out = np.full(len(f), None, dtype=object)
    kind = f["bad_kind"].to_numpy()
    out[np.isin(f["status"].to_numpy(), (FAIL, NOT_ASSESSED, WAIVED)) & (kind < 0)] = (
        "None of its recovery points is in an AWS Backup vault"
    )
    rows = np.flatnonzero(kind >= 0)
    if not len(rows):
        return {"problem": out}
    pairs = np.stack([f["bad_vault"].to_numpy()[rows], kind[rows]]).astype(np.int64)
    unique, inverse = np.unique(pairs, axis=1, return_inverse=True)
    texts = []
    for v, k in unique.T:
        fact = rv["info"][keys[v]]
        date = fact["lock_date"]
        until = f" until its lock date {date:%Y-%m-%d %H:%M} UTC" if date else ""
        texts.append(
            _LOCK_PROBLEMS[k].format(
                v=fact["label"], min=f"{fact['min']:g}", max=f"{fact['max']:g}", until=until
            )
        )
    out[rows] = np.array(texts, dtype=object)[inverse.ravel()]
    return {"problem": out}


def _describe_with_problems(f: pd.DataFrame, ctx: Context) -> pa.Array:
    return _describe_lock(f.assign(**{"ev.problem": _problems(f, ctx)["problem"]}), ctx)


# AWS Backup API Reference, PutBackupVaultLockConfiguration: MinRetentionDays and MaxRetentionDays
# bound the retention of recovery points in the vault; ChangeableForDays (at least 3) sets the lock
# date, after which the lock is in compliance mode and cannot be changed or removed.
# https://docs.aws.amazon.com/aws-backup/latest/devguide/API_PutBackupVaultLockConfiguration.html
_LOCK_COMMAND = (
    "aws backup put-backup-vault-lock-configuration --region {region} --backup-vault-name {vault}"
    " --min-retention-days {min_days}{max_days}{changeable}"
)
_REMEDIES = {
    0: "Collect the account and region of vault {label} too (it is not in the inventory), so its "
    "lock can be checked.",
    1: "Lock vault {label} (AWS Backup Vault Lock): `{command}`.",
    2: "Raise the lock's maximum retention of vault {label} to at least {keep} days (plan {plan}'s "
    "retention_days): `{command}` (possible only before its lock date).",
    3: "Lower the lock's minimum retention of vault {label} to at most {max_keep} days (plan "
    "{plan}'s max_retention_days): `{command}` (possible only before its lock date).",
    4: "Put vault {label} in compliance mode: `{command}` (the lock becomes immutable after 3 days).",
}


def _remediate(frame: pd.DataFrame, ctx: Context) -> np.ndarray:
    """The vault to lock and the CLI command, built once per (vault, problem, plan) group."""
    out = np.full(len(frame), None, dtype=object)
    kind = frame["bad_kind"].to_numpy()
    rows = np.flatnonzero(kind >= 0)
    if not len(rows):
        return out
    info = ctx.resource_vaults["info"]
    keys = sorted(info)
    groups = np.stack(
        [frame["bad_vault"].to_numpy()[rows], kind[rows], frame["plan"].to_numpy()[rows]]
    ).astype(np.int64)
    unique, inverse = np.unique(groups, axis=1, return_inverse=True)
    texts = []
    for vault, problem, plan_code in unique.T:
        fact = info[keys[vault]]
        plan = ctx.plans[plan_code]
        keep = int(plan.retention_days or 1)
        max_keep = plan.max_retention_days
        command = _LOCK_COMMAND.format(
            region=fact["label"].rsplit("(", 1)[-1].rstrip(")"),
            vault=fact["name"],
            min_days=keep,
            max_days=f" --max-retention-days {int(max_keep)}" if max_keep else "",
            changeable=" --changeable-for-days 3" if problem == 4 else "",
        )
        texts.append(
            _REMEDIES[int(problem)].format(
                label=fact["label"], keep=keep, max_keep=max_keep, plan=plan.name, command=command
            )
        )
    out[rows] = np.array(texts, dtype=object)[inverse.ravel()]
    return out
