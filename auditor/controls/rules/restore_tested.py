"""restore-tested: a restore of the resource's backups succeeded within the plan's window."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from auditor.controls import frames as fr
from auditor.controls.context import NONE_TS, US_PER_DAY, Context, us_to_ts
from auditor.controls.registry import control
from auditor.controls.rules._restores import restore_facts, restores_unseen
from auditor.controls.text import choose, first_of, join, number_text, present
from auditor.controls.unseen import mark
from auditor.controls.verdicts import FAIL, NOT_APPLICABLE, NOT_ASSESSED, PASS, Part


def _describe(frame: pd.DataFrame, ctx: Context) -> pa.Array:
    s = fr.status_of(frame)
    age = number_text(fr.num(frame, "restore_age_days"))
    allowed = number_text(fr.num(frame, "restore_test_days"), 0)
    how = choose(
        frame["ev.by_restore_test"].fillna(False).to_numpy(dtype=bool),
        "a restore test",
        "a restore",
    )
    # a missing date reads "None", as an f-string writes it
    since = pc.fill_null(fr.col_text(frame, "jobs_collected_since"), "None")
    has = frame["ev.last_restore"].notna().to_numpy()
    texts = first_of(
        [
            (s == NOT_APPLICABLE, "The plan does not ask for restore tests."),
            (
                (s == PASS) & has,
                join(
                    "Its backups were last restored by ",
                    how,
                    " ",
                    age,
                    " days ago; the plan asks for one every ",
                    allowed,
                    " days.",
                ),
            ),
            (
                (s == PASS) & ~has,
                join(
                    "No restore yet, but the resource is only ",
                    number_text(fr.num(frame, "resource_age_days")),
                    " days old (its first restore is due within ",
                    allowed,
                    " days).",
                ),
            ),
            (
                (s == NOT_ASSESSED) & ~has,
                join(
                    "No successful restore since ",
                    since,
                    " (restore jobs were collected from then on), and the plan looks back ",
                    allowed,
                    " days: collect with an earlier --jobs-since.",
                ),
            ),
            (
                has,
                join(
                    "Its backups were last restored ",
                    age,
                    " days ago, more than the ",
                    allowed,
                    " days the plan allows.",
                ),
            ),
        ],
        join("No restore of its backups succeeded in the last ", allowed, " days."),
    )
    failed = fr.col_text(frame, "last_failed_restore.message")
    said = present(failed) & (s == FAIL)
    return choose(said, join(texts, " The latest failed restore said: ", failed), texts)


@control(
    "restore-tested",
    "Backups have been restored recently",
    "medium",
    reads=("resources", "tags", "restore_jobs"),
    remediation=(
        "Restore a recent backup of the resource (or add its type to an AWS Backup restore "
        "testing plan that runs at least as often as the plan asks)."
    ),
    pre_deploy=(
        "The plan asks for restore tests and the template deploys no AWS Backup restore testing "
        "plan with a selection of the resource's type, or its schedule runs less often."
    ),
    order=115,
)
def restore_tested(ctx: Context) -> Part:
    """When the plan sets `restore_test_days: N`, a restore of the resource's backups must have
    succeeded in the last N days.

    Any AWS Backup restore job counts, whether a person started it or an AWS Backup restore
    testing plan did, when it COMPLETED by `as_of` and its validation (a restore test's
    `ValidationStatus`) did not fail or time out. FAIL when the latest successful restore is older
    than N days or there is none (a resource younger than N days with none yet PASSes: its first
    restore is not due); NOT_ASSESSED when there is none and restore jobs were collected for a
    shorter window than N days (`--jobs-since`), or instead of FAIL when restore jobs could not be
    listed in a Region of the resource's account (a restore of a copy kept there runs there);
    NOT_APPLICABLE when the plan sets no `restore_test_days`.
    """
    facts = restore_facts(ctx)
    days = ctx.plan_values(lambda p: np.nan if p.restore_test_days is None else p.restore_test_days)
    applies = ~np.isnan(days)
    ridx = ctx.pair_ridx
    last = facts.ok_at[ridx] if len(ridx) else np.empty(0, dtype=np.int64)
    has = last != NONE_TS
    age = np.where(has, ctx.now - last, 0)
    window = np.nan_to_num(days) * US_PER_DAY
    ok = has & (age <= window)
    # Like a first backup, a first restore test is not due before the resource is N days old.
    created = ctx.created_us[ridx] if len(ridx) else np.empty(0, dtype=np.int64)
    young = ~has & (created != NONE_TS) & (ctx.now - created <= window)
    status = np.where(applies, np.where(ok | young, PASS, FAIL), NOT_APPLICABLE)
    since_text = None
    if facts.since is not None:
        since_us = int(pd.Timestamp(facts.since).value // 1000)
        short = applies & ~has & ~young & (ctx.now - window < since_us)
        status = np.where(short, NOT_ASSESSED, status)
        since_text = f"{facts.since:%Y-%m-%d %H:%M} UTC"
    which, unseen = restores_unseen(ctx)
    hidden = (status == FAIL) & (which >= 0)
    status = np.where(hidden, NOT_ASSESSED, status)
    marks = mark(np.where(hidden, which, -1), unseen)
    failed_at = facts.failed_at[ridx] if len(ridx) else np.empty(0, dtype=np.int64)
    frame = fr.pair_frame(
        ctx,
        status,
        last_restore=us_to_ts(np.where(has, last, NONE_TS)),
        last_restore_job_id=facts.ok_job[ridx] if len(ridx) else np.empty(0, dtype=object),
        by_restore_test=pd.array(
            np.where(has, facts.ok_by_test[ridx] if len(ridx) else False, False), dtype="boolean"
        ),
        validation_status=facts.ok_validation[ridx] if len(ridx) else np.empty(0, dtype=object),
        restore_age_days=fr.days(age, ~has),
        restore_test_days=days,
        resource_age_days=fr.days(ctx.now - created, created == NONE_TS),
        jobs_collected_since=np.full(len(ridx), since_text, dtype=object),
        last_failed_restore__at=us_to_ts(failed_at),
        last_failed_restore__message=facts.failed_message[ridx]
        if len(ridx)
        else np.empty(0, dtype=object),
        not_collected=marks["not_collected"],
    )
    if hidden.any():
        frame["na_error"] = marks["na_error"]
    return Part("restore-tested", frame, _describe, remediate=_remediate)


def _remediate(frame: pd.DataFrame, ctx: Context) -> np.ndarray:
    """The restore test the plan needs, once per plan."""
    # AWS Backup API reference: CreateRestoreTestingPlan, CreateRestoreTestingSelection,
    # StartRestoreJob.
    return fr.plan_remedy(
        frame,
        ctx,
        lambda p: (
            f"Plan {p.name} asks for a successful restore every {p.restore_test_days} days: add "
            "the resource's type to an AWS Backup restore testing plan that runs at least that "
            "often (`aws backup create-restore-testing-plan`, then `aws backup "
            "create-restore-testing-selection`), or restore a recent recovery point yourself "
            "(`aws backup start-restore-job --recovery-point-arn ARN --metadata ...`)."
        ),
    )
