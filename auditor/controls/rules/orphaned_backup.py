"""orphaned-backup: a backup whose source resource no longer exists, one finding per backup."""

from __future__ import annotations

import numpy as np
import pandas as pd

from auditor.controls import frames as fr
from auditor.controls.context import (
    KINDS,
    Context,
)
from auditor.controls.registry import control
from auditor.controls.verdicts import (
    FAIL,
    NOT_ASSESSED,
    Part,
)
from auditor.inventory import RESOURCE_TYPES
from auditor.orphans import ORPHAN, collected_pairs, find_orphans, free_system_backups
from auditor.restore import delete_advice


def _advice(frame: pd.DataFrame, ctx: Context, every: pd.DataFrame) -> pd.DataFrame:
    """How to delete each orphan of `frame`: the call that works for who made it, and any vault
    lock's date. Made once per check for `every` orphan (the detail and the evidence of each
    batch of findings both ask), then taken by recovery point row."""
    advice = ctx.memo("orphan_advice", lambda: _advice_of_every(ctx, every))
    return advice.iloc[_positions(frame, ctx, every)].reset_index(drop=True)


def _orphan_rows(ctx: Context, every: pd.DataFrame) -> np.ndarray:
    """The recovery point rows of every orphan finding, sorted: what the per-check tables of the
    orphans are aligned with."""
    return ctx.memo("orphan_rows", lambda: np.unique(every["rp_row"].to_numpy()))


def _positions(frame: pd.DataFrame, ctx: Context, every: pd.DataFrame) -> np.ndarray:
    """Where each finding of `frame` is among `_orphan_rows`."""
    return np.searchsorted(_orphan_rows(ctx, every), frame["rp_row"].to_numpy())


def _advice_of_every(ctx: Context, every: pd.DataFrame) -> pd.DataFrame:
    """The delete advice of every orphan, aligned with `_orphan_rows`."""
    rp = fr.rp_rows(ctx, _orphan_rows(ctx, every))
    return delete_advice(rp.reset_index(drop=True), ctx.inventory["vaults"], ctx.as_of)


def _describe_orphan(frame: pd.DataFrame, ctx: Context, every: pd.DataFrame) -> pd.Series:
    s = fr.status_of(frame)
    rp = fr.rp_rows(ctx, frame["rp_row"].to_numpy(), ("resource_arn", "size_bytes", "created_at"))
    source = rp["resource_arn"].to_numpy(dtype=object, na_value=None)
    size = fr.fmt(rp["size_bytes"].to_numpy(dtype=float, na_value=np.nan) / 1024**3, 2)
    created = (
        pd.to_datetime(rp["created_at"], utc=True)
        .dt.strftime("%Y-%m-%d %H:%M UTC")
        .to_numpy(dtype=object, na_value="?")
    )
    texts = np.where(
        s == NOT_ASSESSED,
        "Not assessed: the source resource's account and region were not collected.",
        "Backup of "
        + source.astype(str)
        + ", which no longer exists ("
        + size
        + " GB, made "
        + created
        + "). "
        + _advice(frame, ctx, every)["remediation"].to_numpy(dtype=object),
    )
    return pd.Series(texts, dtype=object)


def _orphan_costs(frame: pd.DataFrame, ctx: Context, every: pd.DataFrame) -> dict:
    """Monthly cost per orphaned backup, from the run's price table (best effort).

    The backups of `every` orphan finding are metered together once (what one backup costs
    depends on the others of its chain); `frame` may be a batch of those findings.
    """
    costs = ctx.memo("orphan_costs", lambda: _meter_orphans(every, ctx))
    if costs is None:
        return {}
    return {"monthly_cost_usd": costs[_positions(frame, ctx, every)]}


def _meter_orphans(every: pd.DataFrame, ctx: Context) -> np.ndarray | None:
    """Monthly cost of each orphan's backup, aligned with `_orphan_rows` (NaN where metering
    gave none); None when it cannot be priced."""
    try:
        from auditor.inventory import Inventory
        from auditor.metering import load_prices, orphan_costs

        # the orphans' own rows: no lookup of their ARNs among every backup's
        rows = _orphan_rows(ctx, every)
        rp = ctx.rp.iloc[rows]
        # The orphans are a few of the backups: their codes keep only their own categories, so
        # metering them does not carry (and re-check) every backup's ARN as a category.
        rp = rp.assign(
            **{
                c: rp[c].cat.remove_unused_categories()
                for c in rp.columns
                if isinstance(rp[c].dtype, pd.CategoricalDtype)
            }
        )
        tables = dict(ctx.inventory.tables)
        tables["recovery_points"] = rp
        priced = orphan_costs(
            Inventory(tables=tables, manifest=ctx.inventory.manifest),
            load_prices() if ctx.prices is None else ctx.prices,
            ctx.as_of,
        ).drop_duplicates("recovery_point_arn")
        # Kept per orphan as one float each, not as a table keyed by ARN: the table is held
        # while every batch of findings is written.
        at = pd.Index(priced["recovery_point_arn"]).get_indexer(rp["recovery_point_arn"])
        cost = priced["monthly_cost_usd"].to_numpy(dtype=float, na_value=np.nan)
        return np.where(at >= 0, np.append(cost, np.nan)[at], np.nan)
    except Exception:  # pricing is an extra: a finding must never depend on it
        return None


# The data this control's verdicts depend on: a failed call that fills either (a listing of the
# source's resources, or of backups) makes the orphans it may concern NOT_ASSESSED.
_READS = ("resources", "recovery_points")


def _candidates(ctx: Context) -> tuple[np.ndarray, pd.DataFrame, np.ndarray]:
    """Backups of no collected resource: (their rows in recovery_points, those rows, eligible).

    Eligible: one worth reporting. Its type is one the inventory collects (a source of another
    type is never collected, so it would always look gone), it holds data (not FAILED) and is not
    being deleted, and it is not a DynamoDB SYSTEM backup (free, and deleted by AWS after 35
    days: `free_system_backups`).
    """
    # Narrow to backups of no known resource before any string work. A boolean mask filters Arrow
    # columns chunk by chunk; positional take would first copy them whole.
    unknown = ctx.rp_ridx < 0
    cand = ctx.rp[list(_CANDIDATE_COLUMNS)][unknown]
    eligible = (
        cand["resource_type"].isin(list(RESOURCE_TYPES)).to_numpy(dtype=bool, na_value=False)
        & ~cand["status"].isin(["FAILED", "DELETING"]).to_numpy(dtype=bool, na_value=False)
        & ~free_system_backups(cand)
    )
    return np.flatnonzero(unknown), cand, eligible


_CANDIDATE_COLUMNS = (
    "recovery_point_arn",
    "resource_arn",
    "resource_type",
    "account_id",
    "region",
    "status",
    "backup_type",
    "created_by",
)


@control(
    "orphaned-backup",
    "Backup of a resource that no longer exists",
    "low",
    per="backup",
    # The source may live in another account: judged over the combined inventory.
    scope="cross-account",
    reads=_READS,
    remediation="Delete the backup if nobody needs it any more (with AWS Backup's"
    " delete-recovery-point when AWS Backup made it; the finding names the call), or waive it.",
    order=110,
)
def orphaned_backup(ctx: Context) -> Part:
    """A backup whose source resource no longer exists is reported, one finding per backup.

    FAIL for every kept backup (any status but FAILED or DELETING) of a resource type the inventory
    collects whose source ARN is not among the collected resources, with its size and estimated
    monthly cost; a DynamoDB SYSTEM backup, which AWS keeps free for 35 days after a table with
    point-in-time recovery is deleted, is left out. NOT_ASSESSED when the source's account and
    region were not collected (the source may exist) or their listing failed.
    """
    rows, cand, eligible = _candidates(ctx)
    # Failed calls are ranked as the engine ranks them: positions in ctx.errors.
    relevant = ctx.relevant_errors(_READS)
    found = find_orphans(
        cand,
        np.full(len(cand), -1, dtype=np.int64),  # none of them has a collected source
        collected_pairs(
            ctx.inventory.manifest,
            ctx.res,
            coded=[
                (
                    ctx.copies_all["account_id"],
                    ctx.account_names,
                    ctx.copies_all["region"],
                    ctx.region_names,
                )
            ],
        ),
        ctx.errors.iloc[relevant].reset_index(drop=True),
        eligible=eligible,
    )
    idx = rows[found.rows]
    na_error = np.full(len(idx), -1, dtype=np.int64)
    covered = found.error >= 0
    na_error[covered] = relevant[found.error[covered]]
    status = np.where(found.verdict == ORPHAN, FAIL, NOT_ASSESSED)
    sub = cand.iloc[found.rows]
    frame = pd.DataFrame(
        {
            "ridx": np.full(len(idx), -1, dtype=np.int64),
            "plan": np.full(len(idx), -1, dtype=np.int16),
            "status": status.astype(np.int8),
            "resource_arn": sub["recovery_point_arn"].to_numpy(),
            "resource_type": sub["resource_type"].to_numpy(),
            "account_id": sub["account_id"].to_numpy(),
            "region": sub["region"].to_numpy(),
            "na_error": na_error,
            "source_arn": sub["resource_arn"].to_numpy(),
            "rp_row": idx,
        }
    )
    return Part(
        "orphaned-backup",
        frame,
        lambda f, ctx: _describe_orphan(f, ctx, every=frame),
        evidence_hook=lambda f, ctx: _orphan_evidence(f, ctx, every=frame),
    )


# The recovery_points columns an orphan's evidence shows.
_EVIDENCE_COLUMNS = (
    "recovery_point_arn",
    "resource_arn",
    "backup_type",
    "created_by",
    "status",
    "created_at",
    "size_bytes",
    "storage_class",
    "vault_name",
    "delete_at",
)


def _orphan_evidence(frame: pd.DataFrame, ctx: Context, every: pd.DataFrame) -> dict:
    """The orphan's facts, read from its recovery_points row only when findings are written."""
    rows = frame["rp_row"].to_numpy()
    rp = fr.rp_rows(ctx, rows, _EVIDENCE_COLUMNS)
    out = {
        "recovery_point_arn": rp["recovery_point_arn"].to_numpy(dtype=object, na_value=None),
        "source_resource_arn": rp["resource_arn"].to_numpy(dtype=object, na_value=None),
        "backup_type": rp["backup_type"].to_numpy(dtype=object, na_value=None),
        "source": np.array(KINDS, dtype=object)[ctx.rp_kind[rows]]
        if len(rows)
        else np.empty(0, object),
        "created_by": rp["created_by"].to_numpy(dtype=object, na_value=None),
        "status": rp["status"].to_numpy(dtype=object, na_value=None),
        "created_at": pd.to_datetime(rp["created_at"], utc=True).reset_index(drop=True),
        "size_gb": rp["size_bytes"].to_numpy(dtype=float, na_value=np.nan) / 1024**3,
        "storage_class": rp["storage_class"].to_numpy(dtype=object, na_value=None),
        "vault_name": rp["vault_name"].to_numpy(dtype=object, na_value=None),
        "delete_at": pd.to_datetime(rp["delete_at"], utc=True).reset_index(drop=True),
    }
    advice = _advice(frame, ctx, every)
    for name in ("delete_api", "delete_command"):
        values = advice[name].to_numpy(dtype=object)
        out[name] = np.where(values == "", None, values)
    out["deletable_from"] = advice["deletable_from"]
    out["remediation"] = advice["remediation"].to_numpy(dtype=object)
    out.update(_orphan_costs(frame, ctx, every))
    return out
