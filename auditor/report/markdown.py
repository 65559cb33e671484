"""report.md: a short summary that fits a pull-request comment (well under GitHub's 65,536 chars)."""

from __future__ import annotations

from auditor.report.model import (
    STATUSES,
    Results,
    breakdown,
    compliance_pct,
    cost_by,
    ordered,
    resource_count,
    status_counts,
)
from auditor.report.templating import environment

TOP = 10
ERRORS = 10


def error_groups(results: Results):
    """Failed collection calls grouped by (account, region, service, error code), with the operations."""
    import pandas as pd

    errors = results.inventory.errors if results.inventory is not None else None
    if errors is None or not len(errors):
        return pd.DataFrame(
            columns=["account_id", "region", "service", "error_code", "calls", "operations"]
        )
    keys = ["account_id", "region", "service", "error_code"]
    e = errors[keys + ["operation"]].astype(object).where(errors[keys + ["operation"]].notna(), "")
    grouped = e.groupby(keys, sort=True).agg(
        calls=("operation", "size"), operations=("operation", lambda s: ", ".join(sorted(set(s))))
    )
    return grouped.reset_index()


def render(results: Results, top: int = TOP) -> str:
    """Markdown summary: verdict, counts, controls with failures, the first `top` problems, cost."""
    df = results.findings
    counts = status_counts(df)
    controls = breakdown(df, "control_id")
    failing = (
        controls[(controls["FAIL"] > 0) | (controls["NOT_ASSESSED"] > 0)]
        if len(controls)
        else controls
    )
    problems = ordered(df)
    problems = (
        problems[problems["status"].isin(["FAIL", "NOT_ASSESSED"])] if len(problems) else problems
    )
    owner = cost_by(results.metering, "billing_owner")
    history = results.history or {}
    return (
        environment()
        .get_template("report.md.j2")
        .render(
            as_of=results.as_of,
            verdict="NON-COMPLIANT"
            if counts["FAIL"]
            else ("INCOMPLETE" if counts["NOT_ASSESSED"] else "COMPLIANT"),
            resources=resource_count(results),
            total=len(df),
            compliance=compliance_pct(counts),
            counts=counts,
            statuses=STATUSES,
            failing_controls=failing.head(20).to_dict("records"),
            top=problems.head(top).to_dict("records"),
            problems=len(problems),
            cost_owner=owner.to_dict("records"),
            cost_total=float(owner["estimated_cost_usd"].sum())
            if results.metering is not None
            else None,
            changes=history.get("changes") or {},
            # why findings are NOT_ASSESSED: the failed calls (report.html lists each one)
            errors=error_groups(results).head(ERRORS).to_dict("records"),
            error_groups=len(error_groups(results)),
            error_count=len(results.inventory.errors) if results.inventory is not None else 0,
        )
    )
