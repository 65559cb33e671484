"""deletion-protected: nobody can delete the resource's recovery points before they expire."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from auditor.controls import frames as fr
from auditor.controls.context import LOCK_COMPLIANCE, LOCK_GOVERNANCE, Context
from auditor.controls.registry import control
from auditor.controls.text import first_of, join, text_of
from auditor.controls.verdicts import FAIL, NOT_APPLICABLE, NOT_ASSESSED, PASS, WAIVED, Part
from auditor.iampolicy import deletion_verdict

# The statement to add to a vault's access policy. AWS Config's managed rule
# backup-recovery-point-manual-deletion-disabled looks for a Deny of these three actions with a
# wildcard Principal and Resource (AWS Config Developer Guide); denying the lifecycle update and
# the policy change too keeps someone from shortening the retention or removing the Deny first.
_DENY_STATEMENT = {
    "Sid": "DenyEarlyDeletion",
    "Effect": "Deny",
    "Principal": {"AWS": "*"},
    "Action": [
        "backup:DeleteRecoveryPoint",
        "backup:UpdateRecoveryPointLifecycle",
        "backup:PutBackupVaultAccessPolicy",
    ],
    "Resource": "*",
}
# AWS Backup API reference, PutBackupVaultAccessPolicy (it replaces the vault's whole policy).
_POLICY_COMMAND = (
    "aws backup put-backup-vault-access-policy --region {region} --backup-vault-name {vault} "
    "--policy '{policy}'"
)
_NOT_IN_INVENTORY = -2
_NOT_COLLECTED = 3


def _recovery_point_pattern(account: str, region: str) -> str:
    # The recoveryPoint resource of AWS Backup's actions (Service Authorization Reference,
    # "Actions, resources, and condition keys for AWS Backup"), any id.
    partition = (
        "aws-cn" if region.startswith("cn-") else "aws-us-gov" if "-gov-" in region else "aws"
    )
    return f"arn:{partition}:backup:{region}:{account}:recovery-point:*"


def _policies(ctx: Context) -> dict[tuple[str, str, str], Any]:
    table = ctx.inventory["vault_policies"]
    return {
        (r.account_id, r.region, r.vault_name): r
        for r in table.drop_duplicates(["account_id", "region", "vault_name"]).itertuples(
            index=False
        )
    }


def _vault_fact(fact: dict, policy_row: Any) -> dict[str, Any]:
    """Whether one vault stops early deletion, and the sentence that says why (not)."""
    label = fact["label"]
    if not fact["known"]:
        return {
            "protected": False,
            "kind": _NOT_IN_INVENTORY,
            "text": f"Vault {label} is not in the inventory, so its protection cannot be confirmed",
        }
    date = fact["lock_date"]
    if fact["mode"] == LOCK_COMPLIANCE:
        return {
            "protected": True,
            "kind": 0,
            "text": f"vault {label} has a compliance-mode vault lock in force since {date:%Y-%m-%d}",
        }
    if policy_row is None:
        # Its GetBackupVaultAccessPolicy failed (an `errors` row) or is missing from the inventory:
        # unknown, never compliant, and not a FAIL either.
        return {
            "protected": False,
            "kind": _NOT_COLLECTED,
            "text": f"Not assessed: the access policy of vault {label} was not collected, and it "
            "has no compliance-mode lock in force",
        }
    else:
        has = policy_row.has_policy
        document = policy_row.policy if not pd.isna(has) and bool(has) else None
        verdict = deletion_verdict(
            None if pd.isna(document) else document,
            _recovery_point_pattern(fact["account_id"], fact["region"]),
        )
        verdict_text, protects = verdict.reason, verdict.protects
    if protects:
        return {"protected": True, "kind": 1, "text": f"vault {label}: {verdict_text}"}
    if fact["mode"] == LOCK_GOVERNANCE:
        lock = (
            f"its compliance-mode lock is not in force until {date:%Y-%m-%d %H:%M} UTC"
            if date is not None
            else "it is locked in governance mode only, which users with the IAM permission "
            "backup:DeleteBackupVaultLockConfiguration can remove"
        )
    else:
        lock = "it has no vault lock"
    return {
        "protected": False,
        "kind": 2,
        "text": f"Vault {label} does not stop early deletion: {lock}, and {verdict_text}",
    }


def _vault_facts(ctx: Context) -> tuple[list[int], dict[int, dict[str, Any]]]:
    """Per vault holding a judged resource's recovery points: its protection, by vault key."""
    info = ctx.resource_vaults["info"]
    policies = _policies(ctx)
    keys = sorted(info)
    facts = {
        k: _vault_fact(
            info[k],
            policies.get((info[k]["account_id"], info[k]["region"], info[k]["name"])),
        )
        for k in keys
    }
    return keys, facts


@control(
    "deletion-protected",
    "Recovery points cannot be deleted early",
    "high",
    reads=("resources", "tags", "recovery_points", "vaults", "vault_policies"),
    # Copies kept in another account's vault count: their vault and policy are that account's.
    scope="cross-account",
    remediation=(
        "Add a Deny of backup:DeleteRecoveryPoint for every principal to the vault's access "
        "policy, or lock the vault in compliance mode."
    ),
    pre_deploy=(
        "The plan requires deletion protection and the rule's vault has neither a compliance-mode "
        "lock nor an access policy denying backup:DeleteRecoveryPoint to everyone."
    ),
    order=75,
    # AWS Backup Developer Guide, "Choosing your controls" ("Vaults prevent manual deletion of
    # recovery points"); AWS Config managed rule backup-recovery-point-manual-deletion-disabled.
    equivalent=(
        "AWS Backup Audit Manager BACKUP_RECOVERY_POINT_MANUAL_DELETION_DISABLED (AWS Config "
        "backup-recovery-point-manual-deletion-disabled)"
    ),
)
def deletion_protected(ctx: Context) -> Part:
    """When the plan sets `deletion_protected: true`, nobody may delete its recovery points early.

    Every AWS Backup vault holding the resource's recovery points must either be locked in
    compliance mode with the lock in force (from its lock date: before it, or in governance mode,
    users with the IAM permission can remove the lock), or have an access policy with an explicit
    Deny of `backup:DeleteRecoveryPoint` (or a wildcard covering it) for every principal on every
    recovery point. A Deny that exempts named callers through a negated condition on
    `aws:PrincipalArn`, `aws:userid`, `aws:username` or `aws:PrincipalAccount` (or NotPrincipal)
    counts, naming them, as Audit Manager's control allows named IAM role exceptions. A Deny under
    any other condition is not shown to bind every caller and does not count. The finding says which
    protects each vault, or why neither does. FAIL also when a vault is not in the inventory or no
    recovery point of the resource is in a vault; NOT_APPLICABLE when the plan does not ask.
    """
    n_pairs = len(ctx.pair_ridx)
    applies = ctx.plan_values(lambda p: bool(p.deletion_protected), dtype=bool)
    status = np.where(applies, FAIL, NOT_APPLICABLE)
    rows = np.flatnonzero(applies)
    bad_vault = np.full(n_pairs, -1, dtype=np.int64)
    vault_bits = np.zeros(n_pairs, dtype=np.int64)
    keys: list[int] = []
    facts: dict[int, dict[str, Any]] = {}
    if len(rows):
        rv = ctx.resource_vaults
        keys, facts = _vault_facts(ctx)
        pos = {k: i for i, k in enumerate(keys)}
        r = ctx.pair_ridx[rows]
        start, stop = rv["starts"][r], rv["starts"][r + 1]
        count = stop - start
        owner = np.repeat(np.arange(len(rows)), count)
        at = np.repeat(start - np.cumsum(count) + count, count) + np.arange(count.sum())
        vi = np.array([pos[int(k)] for k in rv["vk"][at]], dtype=np.int64)
        unknown = np.array([facts[k]["kind"] == _NOT_COLLECTED for k in keys], dtype=bool)
        unprotected = np.array([not facts[k]["protected"] for k in keys], dtype=bool)
        bad = unprotected[vi] if len(vi) else np.zeros(0, dtype=bool)
        known_bad = bad & ~unknown[vi] if len(vi) else bad
        any_bad = np.bincount(owner, weights=known_bad, minlength=len(rows)) > 0
        any_unknown = np.bincount(owner, weights=bad, minlength=len(rows)) > 0
        status[rows] = np.where(
            (count == 0) | any_bad, FAIL, np.where(any_unknown, NOT_ASSESSED, PASS)
        )
        # Name a vault that fails before one whose policy is unknown.
        bad = np.where(any_bad[owner], known_bad, bad) if len(vi) else bad
        # The first unprotected vault by label, whatever the key encoding.
        labels = np.array([facts[k]["text"] for k in keys], dtype=object)
        rank = np.argsort(np.argsort(labels)) if len(labels) else np.zeros(0, dtype=np.int64)
        first = np.flatnonzero(bad)
        first = first[np.lexsort((rank[vi[first]], owner[first]))]
        first = first[np.unique(owner[first], return_index=True)[1]]
        bad_vault[rows[owner[first]]] = vi[first]
        if len(keys) <= 62:
            np.bitwise_or.at(vault_bits, rows[owner], np.left_shift(1, vi).astype(np.int64))
    texts = [facts[k]["text"] for k in keys]
    frame = fr.pair_frame(ctx, status, protections=fr.bits_to_labels(vault_bits, texts))
    frame["bad_vault"] = bad_vault

    vault_texts = np.array([facts[k]["text"] for k in keys] + [None], dtype=object)

    def problems(f: pd.DataFrame, ctx: Context) -> dict:
        bad = f["bad_vault"].to_numpy()
        out = vault_texts[np.where(bad >= 0, bad, len(keys))]
        unvaulted = (bad < 0) & np.isin(f["status"].to_numpy(), (FAIL, NOT_ASSESSED, WAIVED))
        out[unvaulted] = "None of its recovery points is in an AWS Backup vault"
        return {"problem": out}

    def describe(f: pd.DataFrame, ctx: Context) -> pa.Array:
        s = fr.status_of(f)
        # a missing value reads "None", as an f-string writes it
        problem = pc.fill_null(text_of(problems(f, ctx)["problem"]), "None")
        protections = pc.fill_null(fr.col_text(f, "protections"), "None")
        return first_of(
            [
                (s == NOT_APPLICABLE, "The plan does not require deletion protection."),
                (
                    s == PASS,
                    join("Its recovery points are protected from deletion: ", protections, "."),
                ),
            ],
            join(problem, "."),
        )

    def remediate(f: pd.DataFrame, ctx: Context) -> np.ndarray:
        out = np.full(len(f), None, dtype=object)
        for i, v in enumerate(f["bad_vault"].to_numpy()):
            if v < 0 or facts[keys[v]]["kind"] == _NOT_IN_INVENTORY:
                continue
            fact = ctx.resource_vaults["info"][keys[v]]
            command = _POLICY_COMMAND.format(
                region=fact["region"],
                vault=fact["name"],
                policy=json.dumps({"Version": "2012-10-17", "Statement": [_DENY_STATEMENT]}),
            )
            out[i] = (
                f"Deny early deletion in vault {fact['label']}: `{command}` (this replaces the "
                "vault's access policy: merge the statement into any policy it has), or lock it "
                "in compliance mode (`aws backup put-backup-vault-lock-configuration "
                "--changeable-for-days 3 ...`)."
            )
        return out

    return Part(
        "deletion-protected",
        frame,
        describe,
        evidence_hook=problems,
        remediate=remediate,
    )
