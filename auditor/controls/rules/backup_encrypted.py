"""backup-encrypted: every backup of the resource is encrypted when the plan requires it."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from auditor.controls import frames as fr
from auditor.controls.context import (
    KINDS,
    Context,
)
from auditor.controls.registry import control
from auditor.controls.remedies import encrypted_remediation
from auditor.controls.text import first_of, join, number_text
from auditor.controls.verdicts import (
    FAIL,
    NOT_APPLICABLE,
    PASS,
    Part,
)


def _describe_encrypted(frame: pd.DataFrame, ctx: Context) -> pa.Array:
    s = fr.status_of(frame)
    count = number_text(fr.num(frame, "unencrypted_backups"), 0)
    checked = number_text(fr.num(frame, "backups_checked"), 0)
    # a missing example reads "None", as str() writes it
    example = pc.fill_null(fr.rp_arn_text(ctx, frame["example_row"].to_numpy()), "None")
    return first_of(
        [
            (s == NOT_APPLICABLE, "The plan does not require encryption."),
            (s == PASS, join("All ", checked, " backups are encrypted.")),
        ],
        join(count, " of ", checked, " backups are unencrypted, e.g. ", example, "."),
    )


@control(
    "backup-encrypted",
    "Backups are encrypted",
    "high",
    reads=("resources", "tags", "continuous_backups", "recovery_points", "backup_jobs", "vaults"),
    remediation="Encrypt the resource (its snapshots inherit it) or copy its backups with a KMS key.",
    pre_deploy=(
        "The resource (and so its snapshots) is not encrypted while the plan requires encryption."
    ),
    order=60,
    # AWS Backup Developer Guide, "Choosing your controls"; AWS Config managed rules.
    equivalent="AWS Backup Audit Manager BACKUP_RECOVERY_POINT_ENCRYPTED; AWS Config rule backup-recovery-point-encrypted",
)
def backup_encrypted(ctx: Context) -> Part:
    """Every backup (recovery point or snapshot, copies included) must be encrypted when the plan says `encrypted: true`.

    FAIL when any completed backup of a kind the plan accepts is unencrypted. NOT_APPLICABLE when
    the plan does not require encryption.
    """
    applies = ctx.plan_values(lambda p: p.encrypted, dtype=bool)
    unenc = ctx.combine("unencrypted", "sum", 0)
    checked = ctx.combine("count_all", "sum", 0)
    example = np.full(len(unenc), -1, dtype=np.int64)
    for k, kind in enumerate(KINDS):
        cand = ctx.unenc_example[k * ctx.n + ctx.pair_ridx] if ctx.n else example
        take = (example < 0) & ctx.accepts(kind)
        example[take] = cand[take]
    status = np.where(~applies, NOT_APPLICABLE, np.where(unenc > 0, FAIL, PASS))
    frame = fr.pair_frame(ctx, status, unencrypted_backups=unenc, backups_checked=checked)
    frame["example_row"] = np.where(applies, example, -1)
    return Part(
        "backup-encrypted",
        frame,
        _describe_encrypted,
        evidence_hook=_example_backup,
        remediate=encrypted_remediation,
    )


def _example_backup(frame: pd.DataFrame, ctx: Context) -> dict:
    """An unencrypted backup of the resource, by ARN, and the vault it is in (AWS Backup's)."""
    rows = frame["example_row"].to_numpy()
    vaults = (
        fr.rp_text(ctx, "vault_name", rows)
        if "vault_name" in ctx.rp
        else pa.nulls(len(rows), pa.string())
    )
    return {"example": fr.rp_text(ctx, "recovery_point_arn", rows), "example_vault": vaults}
