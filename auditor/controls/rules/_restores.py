"""Restore facts per resource, shared by restore-tested and restore-time-target.

From the inventory's `restore_jobs` (AWS Backup ListRestoreJobs): per resource (`ridx`), its
latest successful restore (when it completed, how long it took, whether a restore testing plan ran
it, its validation status) and its latest failed one. A restore counts as successful when its job
is COMPLETED and its validation, if any, did not fail: AWS Backup's restore testing marks a test
whose validation failed or ran out of time FAILED / TIMED_OUT in `ValidationStatus` (AWS Backup
Developer Guide, "Restore testing validation"). Nothing after `as_of` counts.

A restore may have run in another Region than the resource's: a restore job restores a recovery
point of the account and Region it runs in (StartRestoreJob's RecoveryPointArn), so the restore of a
copy kept elsewhere is listed there (ListRestoreJobs lists one account and Region) and names the
original resource as its SourceResourceArn (AWS Backup API reference). `restores_unseen` says where
restore jobs could not be listed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import numpy as np
import pandas as pd

from auditor.controls.context import NONE_TS, Context, ts_us
from auditor.controls.unseen import Unseen, unseen_in_own_account
from auditor.policy.columns import index_in

# ValidationStatus values that make a completed restore a failed test.
FAILED_VALIDATION = ("FAILED", "TIMED_OUT")
# Restore job states that end without a restored resource (RestoreJobStatus).
FAILED_STATES = ("FAILED", "ABORTED")
# The calls that list restore jobs (AWS Backup API reference). Listing restore testing plans or
# selections fills the same data but holds no job: its failure hides no restore.
_RESTORE_JOB_LISTINGS = frozenset({"ListRestoreJobs", "ListRestoreJobsByProtectedResource"})


def _lists_restore_jobs(service: str, operation: str, data: frozenset[str]) -> bool:
    """Could this failed call have hidden a restore job?"""
    return service == "backup" and operation in _RESTORE_JOB_LISTINGS


def restores_unseen(ctx: Context) -> tuple[np.ndarray, list[Unseen]]:
    """Per pair, where its resource's account could not list restore jobs (a failed listing in
    any of its Regions, where a restore of a copy kept there may have run unseen), as
    `unseen.unseen_in_own_account` gives it for `unseen.mark`.

    Only the resource's own account: restore-tested and restore-time-target are judged one
    account at a time (scope "account"), so what another account could not show is not theirs.
    """
    return ctx.memo("restores_unseen", lambda: unseen_in_own_account(ctx, _lists_restore_jobs))


@dataclass
class RestoreFacts:
    """Per resource (index = ridx): latest successful and latest failed restore."""

    ok_at: np.ndarray  # µs completion of the latest successful restore (NONE_TS: none)
    ok_duration: np.ndarray  # µs it took (CompletionDate - CreationDate); -1 when none
    ok_job: np.ndarray  # its RestoreJobId (object, None when none)
    ok_by_test: np.ndarray  # bool: a restore testing plan ran it
    ok_validation: np.ndarray  # its ValidationStatus (object)
    failed_at: np.ndarray  # µs creation of the latest failed restore (NONE_TS: none)
    failed_message: np.ndarray  # its StatusMessage or failed validation message (object)
    # The start of the window restore jobs were collected from (None: no bound known).
    since: datetime | None


def _since(ctx: Context) -> datetime | None:
    manifest = ctx.inventory.manifest or {}
    value = manifest.get("restore_jobs_since") or manifest.get("jobs_since")
    if not value:
        return None
    stamp = pd.Timestamp(value)
    return (stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp).to_pydatetime()


def restore_facts(ctx: Context) -> RestoreFacts:
    """The restore facts of every resource (computed once per evaluation)."""
    cached = ctx.__dict__.get("_restore_facts")
    if cached is not None:
        return cached
    n = ctx.n
    facts = RestoreFacts(
        ok_at=np.full(n, NONE_TS, dtype=np.int64),
        ok_duration=np.full(n, -1, dtype=np.int64),
        ok_job=np.full(n, None, dtype=object),
        ok_by_test=np.zeros(n, dtype=bool),
        ok_validation=np.full(n, None, dtype=object),
        failed_at=np.full(n, NONE_TS, dtype=np.int64),
        failed_message=np.full(n, None, dtype=object),
        since=_since(ctx),
    )
    jobs = ctx.inventory.tables.get("restore_jobs")
    if jobs is not None and len(jobs) and n:
        ridx = index_in(jobs["resource_arn"], ctx.res["resource_arn"])
        created = ts_us(jobs["created_at"])
        completed = ts_us(jobs["completed_at"])
        status = jobs["status"].to_numpy(dtype=object, na_value=None)
        validation = jobs["validation_status"].to_numpy(dtype=object, na_value=None)
        known = (ridx >= 0) & (created != NONE_TS) & (created <= ctx.now)
        ok = (
            known
            & (status == "COMPLETED")
            & (completed != NONE_TS)
            & (completed <= ctx.now)
            & ~np.isin(validation, FAILED_VALIDATION)
        )
        failed = known & (np.isin(status, FAILED_STATES) | np.isin(validation, FAILED_VALIDATION))
        test_plan = jobs["restore_testing_plan_arn"].notna().to_numpy(dtype=bool)
        ids = jobs["restore_job_id"].to_numpy(dtype=object, na_value=None)
        if ok.any():
            rows = np.flatnonzero(ok)
            rows = rows[np.lexsort((completed[rows], ridx[rows]))]
            last = rows[np.r_[ridx[rows][1:] != ridx[rows][:-1], True]]
            r = ridx[last]
            facts.ok_at[r] = completed[last]
            facts.ok_duration[r] = completed[last] - created[last]
            facts.ok_job[r] = ids[last]
            facts.ok_by_test[r] = test_plan[last]
            facts.ok_validation[r] = validation[last]
        if failed.any():
            rows = np.flatnonzero(failed)
            rows = rows[np.lexsort((created[rows], ridx[rows]))]
            last = rows[np.r_[ridx[rows][1:] != ridx[rows][:-1], True]]
            message = jobs["status_message"].to_numpy(dtype=object, na_value=None)
            vmessage = jobs["validation_message"].to_numpy(dtype=object, na_value=None)
            r = ridx[last]
            facts.failed_at[r] = created[last]
            facts.failed_message[r] = np.where(
                pd.isna(message[last]), vmessage[last], message[last]
            )
    ctx.__dict__["_restore_facts"] = facts
    return facts
