"""plan-deployed: the declared plan is really in force for the resource (AWS Backup or native)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from auditor.controls import frames as fr
from auditor.controls.context import (
    Context,
)
from auditor.controls.registry import control
from auditor.controls.remedies import deployed_remediation
from auditor.controls.text import choose, first_of, join, number_text, present
from auditor.controls.verdicts import (
    FAIL,
    PASS,
    Part,
)


def _describe_deployed(frame: pd.DataFrame, ctx: Context) -> pa.Array:
    s = fr.status_of(frame)
    rule = fr.col_text(frame, "aws_rule")
    nearest = fr.col_text(frame, "selected_by")
    native = fr.col_text(frame, "native_schedule")
    has_native = present(native)
    need = join(
        "at least every ",
        number_text(fr.num(frame, "required_every_hours")),
        "h keeping ",
        number_text(fr.num(frame, "required_retention_days"), 0),
        " days",
    )
    supported = frame["ev.aws_backup_supports_type"].to_numpy(dtype=bool, na_value=True)
    unsupported_why = fr.col_text(frame, "aws_backup_unsupported_reason")
    opted = frame["ev.region_opted_in"].to_numpy(dtype=bool, na_value=True)
    # a missing native schedule reads "None", as Python's f-string writes it
    native_named = pc.fill_null(native, "None")
    in_force = join(
        "In force: ",
        choose(present(rule), rule, join("native schedule ", native_named)),
        ".",
    )
    why = first_of(
        [
            # e.g. an S3 bucket without versioning, which AWS Backup cannot back up
            (
                ~supported,
                choose(
                    present(unsupported_why),
                    unsupported_why,
                    "AWS Backup does not support this resource type",
                ),
            ),
            (~opted, "its service is not opted in to AWS Backup in this region"),
            (
                present(nearest),
                join(
                    nearest,
                    " selects it but runs less often or keeps backups for less than required (",
                    need,
                    ")",
                ),
            ),
        ],
        join("no deployed AWS Backup plan selects it with a rule ", need),
    )
    native_tail = choose(
        has_native,
        join(", and its native schedule ", native_named, " does not meet the plan"),
        "",
    )
    not_in_force = join("Not in force: ", why, native_tail, ".")
    return choose(s == PASS, in_force, not_in_force)


def _rule_labels(rule: np.ndarray, labels: list[str]) -> pd.Categorical:
    """Per pair, the label of deployed rule number `rule` (-1: none) as a categorical of the
    labels present, built from the numbers rather than from a string per pair."""
    if not labels:
        return pd.Categorical(np.full(len(rule), None, object))
    return fr.categorical(rule, labels).remove_unused_categories()


def _native_schedules(column: pd.Series, ridx: np.ndarray, values: np.ndarray) -> pd.Categorical:
    """Per pair, its resource's native schedule (`values`) as a categorical of those present."""
    if isinstance(column.dtype, pd.CategoricalDtype):  # a compact read: reuse the codes
        codes = column.cat.codes.to_numpy()[ridx]
        return fr.categorical(
            codes, [str(c) for c in column.cat.categories]
        ).remove_unused_categories()
    return pd.Categorical(values)


@control(
    "plan-deployed",
    "Declared plan is deployed",
    "high",
    # What AWS Backup and the services run: plans, rules, selections, opt-in, native schedules.
    reads=(
        "resources",
        "tags",
        "continuous_backups",
        "backup_plans",
        "backup_rules",
        "backup_selections",
        "region_settings",
    ),
    remediation=(
        "Deploy an AWS Backup plan whose selection picks the resource with a rule at least as "
        "frequent and as long-kept as the declared plan, or a native schedule that does."
    ),
    pre_deploy=(
        "No backup plan in the templates selects the resource with a rule at least as frequent "
        "and as long-kept as the declared plan."
    ),
    order=20,
    # AWS Backup Developer Guide, "Choosing your controls"; AWS Config managed rules.
    equivalent="AWS Backup Audit Manager BACKUP_RESOURCES_PROTECTED_BY_BACKUP_PLAN and BACKUP_PLAN_MIN_FREQUENCY_AND_MIN_RETENTION_CHECK; AWS Config rule backup-plan-min-frequency-and-min-retention-check",
)
def plan_deployed(ctx: Context) -> Part:
    """The declared plan must really be in force for the resource.

    PASS when a deployed AWS Backup selection picks the resource (AWS semantics: Resources and
    NotResources ARNs with wildcards, ListOfTags any-of, Conditions all-of, same account and region)
    and its backup plan has a rule at least as frequent (the longest gap of its schedule is no longer
    than the plan's frequency) and keeping backups at least `retention_days` — for a type AWS Backup
    supports and a service opted in for the region — or, where the plan accepts native backups, when
    the resource's own native schedule (RDS automated backups, DynamoDB PITR, a DLM policy) runs at
    least as often and keeps backups as long. FAIL otherwise.
    """
    d = ctx.deployed
    aws_ok = d["aws_ok"] & ctx.accepts("aws-backup")
    res = ctx.res
    sched = res["native_schedule"].to_numpy(dtype=object, na_value=None)[ctx.pair_ridx]
    freq_h = res["native_frequency_hours"].to_numpy(dtype=float, na_value=np.nan)[ctx.pair_ridx]
    keep_d = res["native_retention_days"].to_numpy(dtype=float, na_value=np.nan)[ctx.pair_ridx]
    need_h = ctx.plan_values(lambda p: p.interval.total_seconds() / 3600)
    need_d = ctx.plan_values(lambda p: p.retention_days)
    has_native = (
        np.array([v is not None for v in sched], dtype=bool)
        if len(sched) < 4096
        else pd.notna(sched)
    )
    native_ok = ctx.accepts("native") & has_native & (freq_h <= need_h + 1e-9) & (keep_d >= need_d)
    status = np.where(aws_ok | native_ok, PASS, FAIL)
    labels = list(d["labels"])
    frame = fr.pair_frame(
        ctx,
        status,
        aws_rule=_rule_labels(d["match"], labels),
        selected_by=_rule_labels(np.where(d["match"] >= 0, -1, d["nearest"]), labels),
        aws_backup_supports_type=d["supported"],
        aws_backup_unsupported_reason=d["unsupported_reason"],
        region_opted_in=d["opted_in"],
        native_schedule=_native_schedules(res["native_schedule"], ctx.pair_ridx, sched),
        native_frequency_hours=freq_h,
        native_retention_days=keep_d,
        required_every_hours=need_h,
        required_retention_days=need_d.astype(float),
    )
    # the deployed rule that selects the resource without meeting the plan (-1: none), for the
    # remediation to name (not evidence: `selected_by` says it in words)
    frame["nearest_rule"] = np.where(d["match"] >= 0, -1, d["nearest"])
    return Part("plan-deployed", frame, _describe_deployed, remediate=deployed_remediation)
