"""resource-covered: every resource in the policy's scope is selected by a declared plan."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
import pyarrow as pa

from auditor.controls import frames as fr
from auditor.controls.context import (
    Context,
)
from auditor.controls.registry import control
from auditor.controls.text import by_code, first_of
from auditor.controls.verdicts import (
    FAIL,
    NOT_APPLICABLE,
    NOT_ASSESSED,
    PASS,
    WAIVED,
    Part,
)


def _describe_covered(frame: pd.DataFrame, ctx: Context) -> pa.Array:
    s = fr.status_of(frame)

    def scope_text(reason: object) -> str:
        r = str(reason)
        return (
            f"{r[0].upper()}{r[1:]}."
            if r.startswith("read replica")
            else f"Not in the policy's scope: {r}."
        )

    # one text per category (plan set, scope reason), spread over the rows by code
    return first_of(
        [
            (
                s == PASS,
                _by_category(
                    frame["ev.matched_plans"], lambda p: f"Selected by declared plan(s) {p}."
                ),
            ),
            (s == NOT_APPLICABLE, _by_category(frame["ev.out_of_scope"], scope_text)),
        ],
        "In the policy's scope but no declared plan selects it.",
    )


def _by_category(values: pd.Series, text: Callable[[object], str]) -> pa.Array:
    """`text(value)` per row of a categorical column (`text(None)` where the value is missing)."""
    categorical = values.astype("category")
    labels = [text(c) for c in categorical.cat.categories] + [text(None)]
    codes = categorical.cat.codes.to_numpy().astype(np.int64)
    return by_code(labels, np.where(codes >= 0, codes, len(labels) - 1))


@control(
    "resource-covered",
    "Resource is covered by a declared plan",
    "high",
    per="resource",
    reads=("resources", "tags"),
    remediation="Tag the resource so a declared plan selects it, or exclude it from the policy's scope.",
    pre_deploy="A resource in the policy's scope matches no declared plan.",
    order=10,
    # AWS Backup Developer Guide, "Choosing your controls"; AWS Config managed rules.
    equivalent="AWS Backup Audit Manager BACKUP_RESOURCES_PROTECTED_BY_BACKUP_PLAN (against the declared plans)",
)
def resource_covered(ctx: Context) -> Part:
    """A resource in the policy's scope must be selected by at least one declared plan.

    FAIL when a resource in scope matches no plan's selection (tags any-of, conditions all-of,
    resource types). Resources outside the scope (type not listed, an `exclude_tags` tag, an Aurora
    instance protected through its cluster, an RDS read replica, whose source is what must be
    backed up) are NOT_APPLICABLE; the other controls do not judge them.
    """
    n = ctx.n
    bits = np.zeros(n, dtype=np.int64)
    count = np.zeros(n, dtype=np.int64)
    for p, mask in enumerate(ctx.plan_masks):
        count += mask
        if p < 62:
            bits |= mask.astype(np.int64) << p
    uniq, inverse = np.unique(bits, return_inverse=True)
    labels = [
        ", ".join(pl.name for p, pl in enumerate(ctx.plans) if (u >> p) & 1) or None for u in uniq
    ]
    names = np.array(labels, dtype=object)[inverse] if n else np.empty(0, dtype=object)
    status = np.where(ctx.in_scope, np.where(count > 0, PASS, FAIL), NOT_APPLICABLE)
    frame = pd.DataFrame(
        {
            "ridx": np.arange(n, dtype=np.int64),
            "plan": np.full(n, -1, dtype=np.int16),
            "status": status.astype(np.int8),
            "ev.matched_plans": pd.Categorical(names),
            "ev.plans_matched": count,
            "ev.out_of_scope": pd.Categorical(ctx.scope_reason),
        }
    )
    # Collections that failed outright (no resources to speak of) are findings of their own.
    errors = ctx.errors
    if len(errors):
        extra = pd.DataFrame(
            {
                "ridx": np.full(len(errors), -1, dtype=np.int64),
                "plan": np.full(len(errors), -1, dtype=np.int16),
                "status": np.full(len(errors), NOT_ASSESSED, dtype=np.int8),
                "resource_arn": None,
                "resource_type": errors["affects"].astype(object).fillna("*").to_numpy(),
                "account_id": errors["account_id"].astype(object).to_numpy(),
                "region": errors["region"].astype(object).to_numpy(),
                "na_error": np.arange(len(errors), dtype=np.int64),
            }
        )
        frame = pd.concat([frame, extra], ignore_index=True)
        if "na_error" in frame:
            frame["na_error"] = frame["na_error"].fillna(-1).astype(np.int64)
    return Part(
        "resource-covered",
        frame,
        _describe_covered,
        evidence_hook=_why_not_covered,
        remediate=_remediate_covered,
    )


def _why_not_covered(frame: pd.DataFrame, ctx: Context) -> dict:
    """For the uncovered resources (FAIL or waived): their tags, and why each declared plan and
    each AWS Backup selection deployed in their account and region does not select them."""
    from auditor.controls.why_not import declared_reasons, deployed_reasons, resource_tags

    ridx = frame["ridx"].to_numpy()
    status = frame["status"].to_numpy()
    ridx = np.where((ridx >= 0) & np.isin(status, (FAIL, WAIVED)), ridx, -1)
    # Arrow arrays of ready JSON, embedded as they are
    return {
        "tags": resource_tags(ctx, ridx),
        "not_selected_by": declared_reasons(ctx, ridx),
        "deployed_not_selected_by": deployed_reasons(ctx, ridx),
    }


def _remediate_covered(frame: pd.DataFrame, ctx: Context) -> np.ndarray:
    """One text for every uncovered resource: what each declared plan selects."""
    import json

    selects = "; ".join(
        f"plan {p.name} selects {json.dumps(p.select, sort_keys=True, default=str)}"
        for p in ctx.plans
    )
    text = (
        f"Tag the resource so a declared plan selects it ({selects}), or exclude it from the "
        "policy's scope (scope.exclude_tags)."
        if selects
        else "Declare a plan that selects the resource, or exclude it from the policy's scope."
    )
    out = np.full(len(frame), None, dtype=object)
    # only rows that call for a change keep a remediation: the long text is not copied for others
    out[np.isin(fr.status_of(frame), (FAIL, WAIVED))] = text
    return out
