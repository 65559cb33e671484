"""The report's job section: backup, copy and restore jobs over the jobs window (auditor.jobs)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pandas as pd

from auditor.report.model import Results

# The page lists at most this many unsuccessful jobs and restores (jobs.csv has them all), and the
# resources with the lowest success rates up to this many.
LISTED_JOBS = 200
RESOURCE_ROWS = 50


def _in_utc(when: Any) -> pd.Timestamp:
    """`when` in UTC (a naive time is taken as UTC): the page labels its times so."""
    stamp = pd.Timestamp(when)
    return stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")


def job_section(results: Results) -> dict[str, Any] | None:
    """What the HTML job section shows; None when the results hold no inventory to read jobs from."""
    from auditor.jobs import job_report

    if results.inventory is None or not results.as_of:
        return None
    as_of: datetime = _in_utc(results.as_of).to_pydatetime()
    report = results.jobs if results.jobs is not None else job_report(results.inventory, as_of)
    listed = report.listed
    unsuccessful = listed[listed["job_type"] != "restore"]
    restores = listed[listed["job_type"] == "restore"]

    def rows(frame: pd.DataFrame) -> list[dict[str, Any]]:
        shown = frame.head(LISTED_JOBS).astype(object)
        return shown.where(shown.notna(), None).to_dict("records")

    return {
        "since": f"{_in_utc(report.since):%Y-%m-%d %H:%M} UTC",
        "totals": report.totals(),
        "by_plan": report.rates("plan"),
        "by_account": report.rates("account"),
        "by_resource": report.rates("resource", RESOURCE_ROWS),
        "resources_total": int(report.outcomes["resource_arn"].nunique()),
        "failures": rows(unsuccessful),
        "failures_total": len(unsuccessful),
        "restores": rows(restores),
        "restores_total": len(restores),
        "limit": LISTED_JOBS,
    }
