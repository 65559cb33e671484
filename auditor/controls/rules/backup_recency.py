"""backup-recency: the newest completed backup is no older than the plan allows."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from auditor.controls import frames as fr
from auditor.controls.context import (
    NONE_TS,
    US_PER_HOUR,
    Context,
    ts_us,
    us_to_ts,
)
from auditor.controls.evidence import JsonArray
from auditor.controls.registry import control
from auditor.controls.text import choose, join, number_text, replace_rows
from auditor.controls.verdicts import (
    FAIL,
    PASS,
    Part,
)
from auditor.policy.columns import index_in
from auditor.restore import newest_backup_rows, newest_restore_paths


def _describe_recency(frame: pd.DataFrame, ctx: Context) -> pa.Array:
    s = fr.status_of(frame)
    hours = fr.num(frame, "age_hours")
    allowed_hours = fr.num(frame, "allowed_hours")
    age = number_text(hours)
    allowed = number_text(allowed_hours)
    has = frame["ev.last_backup"].notna().to_numpy()
    # Just past the limit, one decimal reads "170 hours old, more than the 170 hours": show more.
    close = np.flatnonzero(
        (s == FAIL) & has & pc.equal(age, allowed).to_numpy(zero_copy_only=False)
    )
    age = replace_rows(age, close, [f"{hours[i]:.4f}".rstrip("0").rstrip(".") for i in close])
    passed = s == PASS
    with_backup = choose(
        passed,
        join(
            "Newest completed backup is ", age, " hours old; the plan allows ", allowed, " hours."
        ),
        join(
            "Newest completed backup is ",
            age,
            " hours old, more than the ",
            allowed,
            " hours the plan allows.",
        ),
    )
    # Each branch is made only for its own rows: most resources have a backup.
    without = np.flatnonzero(~has)
    if not len(without):
        return with_backup
    rows = frame.iloc[without]
    created_age = number_text(fr.num(rows, "resource_age_hours"))
    accept = fr.plan_text(rows, ctx, lambda p: " or ".join(p.accept))
    no_backup = choose(
        passed[without],
        join(
            "No completed backup yet, but the resource is only ",
            created_age,
            " hours old (first backup due within ",
            number_text(allowed_hours[without]),
            " hours).",
        ),
        join("No completed ", accept, " backup of this resource exists."),
    )
    return replace_rows(with_backup, without, no_backup)


@control(
    "backup-recency",
    "Newest backup is recent enough",
    "high",
    reads=("resources", "tags", "continuous_backups", "recovery_points", "backup_jobs", "vaults"),
    remediation="Find why backups stopped (failed jobs, a changed selection) and take a backup now.",
    order=30,
    # AWS Backup Developer Guide, "Choosing your controls"; AWS Config managed rules.
    equivalent="AWS Backup Audit Manager BACKUP_LAST_RECOVERY_POINT_CREATED",
)
def backup_recency(ctx: Context) -> Part:
    """The newest completed backup must be no older than the plan's frequency plus its grace.

    Only COMPLETED backups of the kinds the plan accepts count (`accept`: aws-backup and/or native; a
    native snapshot AWS Backup created counts as aws-backup); copies in other regions or accounts do
    not. FAIL when the newest is older than frequency + grace (exactly at the limit passes), or when
    there is none and the resource is older than frequency + grace.
    """
    newest = ctx.combine("newest", "max", NONE_TS)
    count = ctx.combine("count", "sum", 0)
    has = newest != NONE_TS
    allowed = ctx.plan_values(lambda p: p.allowed_age.total_seconds() * 1e6)
    age = np.where(has, ctx.now - newest, 0)
    created = ctx.created_us[ctx.pair_ridx]
    created_known = created != NONE_TS
    res_age = np.where(created_known, ctx.now - created, 0)
    ok = np.where(has, age <= allowed, created_known & (res_age <= allowed))
    status = np.where(ok, PASS, FAIL)
    frame = fr.pair_frame(
        ctx,
        status,
        last_backup=us_to_ts(np.where(has, newest, NONE_TS)),
        age_hours=fr.hours(age, ~has),
        allowed_hours=allowed / US_PER_HOUR,
        backups_counted=count,
        resource_age_hours=fr.hours(res_age, ~created_known),
    )
    return Part(
        "backup-recency",
        frame,
        _describe_recency,
        evidence_hook=_recency_evidence,
        remediate=_remediate_recency,
    )


def _recency_evidence(frame: pd.DataFrame, ctx: Context) -> dict:
    """The last failed job, and how the resource's newest backup can be restored (and whether any
    backup of it can be restored outside its region)."""
    out = _failed_jobs(frame, ctx)
    if not len(frame) or not ctx.n:
        return out
    newest, outside = ctx.memo(
        "newest_backup_rows",
        lambda: newest_backup_rows(ctx.rp, ctx.res, ctx.rp_ridx, ctx.rp_created),
    )  # once per check; each batch then makes the restore paths of its own rows
    ridx = frame["ridx"].to_numpy()
    has = (ridx >= 0) & (newest[np.maximum(ridx, 0)] >= 0)
    if not has.any():
        return out
    # a resource has a row per plan: its texts are made once and spread over its rows by a take
    # (Arrow throughout: the paths are about a kilobyte per row)
    owners, owner_of = np.unique(ridx[has], return_inverse=True)
    spread = np.full(len(frame), -1, dtype=np.int64)
    spread[has] = owner_of
    by_owner = pa.array(np.maximum(spread, 0), mask=~has)
    out["restore_paths"] = JsonArray(newest_restore_paths(ctx.rp, owners, newest, spread))
    outside_of = outside[owners]
    out["restorable_outside_region"] = pa.array(outside_of).take(by_owner)
    out["restore_note"] = _region_note(ctx, owners, outside_of).take(by_owner)
    return out


def _region_note(ctx: Context, owners: np.ndarray, outside_of: np.ndarray) -> pa.Array:
    """Per owner: "No backup can be restored outside REGION." when no backup of it is stored
    outside its region (null when one is); one text per distinct region."""
    codes, regions = ctx.memo("resource_region_codes", lambda: pd.factorize(ctx.res["region"]))
    notes = pa.array(
        [f"No backup can be restored outside {region}." for region in regions]
        + ["No backup can be restored outside ?."],
        pa.string(),
    )
    picked = codes[owners]
    return pa.DictionaryArray.from_arrays(
        pa.array(np.where(picked >= 0, picked, len(regions)), mask=outside_of), notes
    ).cast(pa.string())


def _failed_jobs(frame: pd.DataFrame, ctx: Context) -> dict:
    """The resource's most recent backup job that did not complete (AWS Backup's own record)."""
    if not len(frame):
        return {}
    latest = ctx.memo("latest_failed_job", lambda: _latest_failed_jobs(ctx))
    if latest is None:
        return {}
    rows = frame["ridx"].to_numpy()
    at = latest["at"].reindex(rows).to_numpy(dtype=float, na_value=np.nan)
    has = ~np.isnan(at)
    return {
        "last_failed_job.state": latest["state"]
        .reindex(rows)
        .to_numpy(dtype=object, na_value=None),
        "last_failed_job.at": us_to_ts(np.where(has, np.nan_to_num(at).astype(np.int64), NONE_TS)),
    }


def _latest_failed_jobs(ctx: Context) -> pd.DataFrame | None:
    """Per resource (indexed by ridx): its latest backup job that did not complete, or None."""
    jobs = ctx.inventory["backup_jobs"]
    if not len(jobs):
        return None
    bad = (
        jobs["state"]
        .isin(["FAILED", "EXPIRED", "ABORTED", "PARTIAL"])
        .to_numpy(dtype=bool, na_value=False)
    )
    bad = bad & (jobs["job_type"] != "copy").to_numpy(dtype=bool, na_value=True)
    jobs = jobs[bad]
    if not len(jobs):
        return None
    ridx = index_in(jobs["resource_arn"], ctx.res["resource_arn"])
    created = ts_us(jobs["created_at"])
    keep = (ridx >= 0) & (created != NONE_TS) & (created <= ctx.now)
    order = np.argsort(created[keep], kind="stable")
    latest = pd.DataFrame(
        {
            "ridx": ridx[keep][order],
            "at": created[keep][order],
            "state": jobs["state"].to_numpy(dtype=object, na_value=None)[keep][order],
        }
    )
    return latest.drop_duplicates("ridx", keep="last").set_index("ridx")


def _remediate_recency(frame: pd.DataFrame, ctx: Context) -> np.ndarray:
    """What the plan needs, built once per plan (the rows index it)."""
    # AWS Backup API Reference, StartBackupJob (on-demand backup); ListBackupJobs --by-state FAILED.
    return fr.plan_remedy(
        frame,
        ctx,
        lambda p: (
            f"Plan {p.name} needs a completed backup every {p.frequency} (plus "
            f"{p.grace.total_seconds() / 3600:g} hours' grace): "
            "find why backups stopped (`aws backup list-backup-jobs --by-resource-arn ARN "
            "--by-state FAILED`; a changed selection or tag) and take one now (`aws backup "
            "start-backup-job --backup-vault-name VAULT --resource-arn ARN --iam-role-arn ROLE`)."
        ),
    )
