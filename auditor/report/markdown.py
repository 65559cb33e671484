"""report.md: the summary a pull-request comment needs, within GitHub's comment size limit.

A GitHub comment body holds at most 65,536 characters; the report shows the summary (verdict,
compliance, FAILs by severity, failing resources, why anything is NOT_ASSESSED, cost as a range),
then the top failing findings with their remediation, and drops findings from the end (saying how
many more and where they all are) until it fits.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from auditor.owners import OWNER_COLUMN_PREFIX, owner_tag_columns_of
from auditor.report.model import (
    BACKUP_CONTROLS,
    STATUSES,
    Results,
    breakdown,
    compliance_pct,
    cost_by,
    cost_by_tags,
    failing_resource_count,
    fails_by_severity,
    ordered,
    resource_count,
    status_counts,
)
from auditor.report.templating import environment

TOP = 25
ERRORS = 10
OWNERS = 20
# GitHub's limit on an issue or pull-request comment body, in characters.
COMMENT_LIMIT = 65_536
DETAIL_CHARS = 400
REMEDIATION_CHARS = 800


def error_groups(results: Results) -> pd.DataFrame:
    """Failed collection calls grouped by (account, region, service, error code), with the operations."""
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


def _clip(value: Any, limit: int) -> str:
    text = " ".join(("" if value is None or value != value else str(value)).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _top_findings(df: pd.DataFrame, limit: int) -> tuple[list[dict[str, Any]], int]:
    """The first `limit` FAIL then NOT_ASSESSED findings in reading order, and how many there are."""
    problems = ordered(df)
    if len(problems):
        problems = problems[problems["status"].isin(["FAIL", "NOT_ASSESSED"])]
    head = problems.head(limit)
    remediation = head["remediation"] if "remediation" in head.columns else None
    owners = owner_tag_columns_of(head.columns)
    items = []
    for position, row in enumerate(head.to_dict("records")):
        row["detail"] = _clip(row.get("detail"), DETAIL_CHARS)
        row["plan"] = _clip(row.get("plan"), 200)
        fix = remediation.iloc[position] if remediation is not None else None
        # not a table cell: pipes may stay (CLI commands use them); raw HTML may not
        row["remediation"] = _clip(fix, REMEDIATION_CHARS).replace("<", "&lt;").replace(">", "&gt;")
        # who to ask: the owner tags the resource carries (key without the column's prefix)
        row["owners"] = [
            (c[len(OWNER_COLUMN_PREFIX) :], _clip(row[c], 100))
            for c in owners
            if isinstance(row.get(c), str) and row[c]
        ]
        items.append(row)
    return items, len(problems)


def _cost(results: Results, owner: pd.DataFrame) -> dict[str, Any] | None:
    """Monthly cost as metering.json states it (estimate, upper bound, verified prices)."""
    if results.metering is None:
        return None
    totals = (results.metering_info or {}).get("totals") or {}
    low = totals.get("estimated_cost_usd")
    if low is None:
        low = float(owner["estimated_cost_usd"].sum())
    high = totals.get("upper_bound_cost_usd")
    share = totals.get("verified_price_share")
    return {
        "low": low,
        "high": high if isinstance(high, int | float) and high > low else None,
        "verified_pct": round(100.0 * share) if isinstance(share, int | float) else None,
    }


def render(results: Results, top: int = TOP, limit: int = COMMENT_LIMIT) -> str:
    """Markdown summary and the first `top` findings to act on, at most `limit` characters."""
    df = results.findings
    counts = status_counts(df)
    controls = breakdown(df, "control_id")
    failing = (
        controls[(controls["FAIL"] > 0) | (controls["NOT_ASSESSED"] > 0)]
        if len(controls)
        else controls
    )
    items, problems = _top_findings(df, top)
    owner = cost_by(results.metering, "billing_owner")
    history = results.history or {}
    groups = error_groups(results)
    context = dict(
        as_of=results.as_of,
        verdict="NON-COMPLIANT"
        if counts["FAIL"]
        else ("INCOMPLETE" if counts["NOT_ASSESSED"] else "COMPLIANT"),
        resources=resource_count(results),
        failing_resources=failing_resource_count(df),
        failing_backups=int(
            ((df["status"] == "FAIL") & df["control_id"].isin(BACKUP_CONTROLS)).sum()
        )
        if len(df)
        else 0,
        fails_by_severity=fails_by_severity(df),
        total=len(df),
        compliance=compliance_pct(counts),
        counts=counts,
        statuses=STATUSES,
        failing_controls=failing.head(20).to_dict("records"),
        problems=problems,
        cost=_cost(results, owner),
        cost_owner=owner.head(OWNERS).to_dict("records"),
        cost_owner_more=max(0, len(owner) - OWNERS),
        cost_tags=cost_by_tags(results.metering, OWNERS),
        changes=history.get("changes") or {},
        # why findings are NOT_ASSESSED: the failed calls (report.html lists each one)
        errors=groups.head(ERRORS).to_dict("records"),
        error_groups=len(groups),
        error_count=len(results.inventory.errors) if results.inventory is not None else 0,
    )
    template = environment().get_template("report.md.j2")
    shown = len(items)
    text = template.render(top=items[:shown], **context)
    while len(text) > limit and shown:
        # drop a share of the findings shown, at least one, until the comment fits
        shown = max(0, shown - max(1, shown * (len(text) - limit) // len(text) + 1))
        text = template.render(top=items[:shown], **context)
    return text
