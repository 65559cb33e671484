"""backup-supported: a plan relying on AWS Backup asks it only for what it offers for the type.

What AWS Backup offers per type follows AWS's "Feature availability by resource" table
(https://docs.aws.amazon.com/aws-backup/latest/devguide/backup-feature-availability.html), as data
in `auditor/policy/aws_backup_support.json`.
"""

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
from auditor.controls.remedies import supported_remediation
from auditor.controls.text import first_of, join
from auditor.controls.verdicts import (
    FAIL,
    NOT_APPLICABLE,
    PASS,
    Part,
)


def _describe_supported(frame: pd.DataFrame, ctx: Context) -> pa.Array:
    s = fr.status_of(frame)
    reason = fr.col_text(frame, "reason")
    has_reason = reason.is_valid().to_numpy(zero_copy_only=False)
    # a missing reason reads "None", as an f-string writes it
    named = pc.fill_null(reason, "None")
    return first_of(
        [
            (
                s == NOT_APPLICABLE,
                "The plan accepts only native backups, so it does not rely on AWS Backup.",
            ),
            ((s == PASS) & has_reason, join(named, ", but the plan also accepts native backups.")),
            (s == PASS, "AWS Backup offers everything the plan asks for this resource type."),
        ],
        join(named, "; the plan accepts only AWS Backup."),
    )


@control(
    "backup-supported",
    "AWS Backup supports the resource",
    "high",
    reads=(
        "resources",
        "tags",
        "backup_plans",
        "backup_rules",
        "backup_selections",
        "region_settings",
    ),
    remediation=(
        "Accept native backups for this type in the plan, drop the feature AWS Backup does not "
        "offer for it (cold storage, copies, continuous backup), or protect it another way."
    ),
    pre_deploy="The plan relies on AWS Backup for a type, or a feature of a type, it does not offer.",
    order=100,
)
def backup_supported(ctx: Context) -> Part:
    """A plan relying on AWS Backup must not ask it for what it does not offer for the type.

    A policy picks the `aws` (AWS today) or `guide` (no Aurora) profile of the matrix and may
    override it with `aws_backup_support:`. FAIL when the plan accepts only aws-backup backups and
    the type is unsupported, or the plan (cold_after_days, copy_to) or a deployed rule selecting the
    resource (a move to cold storage, which AWS ignores for such a type; continuous backup) uses a
    feature the type lacks; PASS when everything is offered or the plan also accepts native
    backups; NOT_APPLICABLE when it accepts only native ones.
    """
    d = ctx.deployed
    aws = ctx.accepts("aws-backup")
    native = ctx.accepts("native")
    ok = d["supported"] & ~d["feature_gap"]
    status = np.where(~aws, NOT_APPLICABLE, np.where(ok | native, PASS, FAIL))
    reason = np.where(
        d["supported"],
        # numpy takes None as an object scalar here; its stubs do not list None as an operand.
        np.where(d["feature_gap"], d["feature_reason"], None),  # type: ignore[call-overload]
        d["unsupported_reason"],
    )
    frame = fr.pair_frame(
        ctx,
        status,
        supported=d["supported"],
        reason=reason,
        native_accepted=native,
    )
    # the first deployed rule that selects the resource, for the remediation to name
    frame["nearest_rule"] = d["nearest"]
    return Part(
        "backup-supported",
        frame,
        _describe_supported,
        evidence_hook=_deployed_rule,
        remediate=supported_remediation,
    )


def _deployed_rule(frame: pd.DataFrame, ctx: Context) -> dict:
    """The deployed AWS Backup rule (plan, rule, schedule, lifetime) whose feature is the gap."""
    reason = fr.col(frame, "reason")
    nearest = frame["nearest_rule"].to_numpy()
    labels = np.array(list(ctx.deployed["labels"]) + [None], dtype=object)
    about_rule = np.array(["deployed rule:" in str(r) for r in reason], dtype=bool)
    rows = np.where(about_rule & (nearest >= 0), nearest, len(labels) - 1)
    return {"deployed_rule": pd.Series(labels[rows], dtype=object)}
