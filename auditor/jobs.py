"""Job evidence: AWS Backup backup, copy and restore jobs over a window, as an auditor reads them.

What AWS Backup Audit Manager's job reports give (AWS Backup Developer Guide, "Creating report
plans": backup, copy and restore job reports), from the inventory:

- listed one by one (`jobs.csv`): every backup or copy job that did not complete (FAILED, EXPIRED,
  ABORTED, PARTIAL: AWS's `StatusMessage` says why) and every restore job;
- counted: completed backup jobs, proven by the recovery points AWS Backup made in the window (a
  completed backup job is its recovery point, so they are not listed again), and completed copy
  jobs;
- success rates per AWS Backup plan, per resource and per account.

The window runs from `jobs_since` (the inventory manifest's, else 30 days before `as_of`) to
`as_of`; nothing after `as_of` counts. Everything works on whole columns.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd

from auditor.atomic import write_text

__all__ = [
    "DEFAULT_JOBS_DAYS",
    "JOB_COLUMNS",
    "JobReport",
    "default_jobs_since",
    "job_report",
    "parse_jobs_since",
    "resolve_jobs_since",
    "write_jobs_csv",
]

DEFAULT_JOBS_DAYS = 30
# Job states that end without (all of) the backup or copy: AWS Backup API reference, BackupJob
# State and CopyJob State. PARTIAL leaves an incomplete recovery point.
UNSUCCESSFUL = ("FAILED", "EXPIRED", "ABORTED", "PARTIAL")
# Restore job states that end without a restored resource (RestoreJobStatus), and validation
# results that make a completed restore test a failed one (RestoreValidationStatus).
RESTORE_UNSUCCESSFUL = ("FAILED", "ABORTED")
FAILED_VALIDATION = ("FAILED", "TIMED_OUT")
ON_DEMAND = "(on demand)"
JOB_COLUMNS = (
    "job_type",
    "job_id",
    "state",
    "account_id",
    "region",
    "resource_arn",
    "resource_type",
    "plan",
    "created_at",
    "completed_at",
    "duration_minutes",
    "status_message",
    "recovery_point_arn",
    "restore_testing_plan_arn",
    "validation_status",
    "validation_message",
)
GROUPS = {"plan": "plan", "resource": "resource_arn", "account": "account_id"}


def parse_jobs_since(value: str | None) -> datetime | timedelta | None:
    """`--jobs-since`: an ISO 8601 time (naive = UTC) or a number of days before as_of (`45d`).

    Raises UsageError (exit 2) for anything else."""
    from auditor.errors import UsageError

    if value is None:
        return None
    text = value.strip()
    if text[:-1].isdigit() and text[-1:].lower() == "d":
        return timedelta(days=int(text[:-1]))
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise UsageError(
            f"--jobs-since {value!r}: give an ISO 8601 time (2026-10-01T00:00:00Z) or days "
            "before --as-of (45d)"
        ) from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def resolve_jobs_since(value: datetime | timedelta | None, as_of: datetime) -> datetime:
    """The jobs window's start: `value` (a time, or a span before `as_of`), else the default."""
    if isinstance(value, timedelta):
        return as_of - value
    return value if value is not None else default_jobs_since(as_of)


def default_jobs_since(as_of: datetime) -> datetime:
    """The jobs window's default start: 30 days before `as_of`."""
    return as_of - timedelta(days=DEFAULT_JOBS_DAYS)


@dataclass
class JobReport:
    """Jobs over [since, as_of]: the listed jobs, and success counts per plan, resource, account."""

    since: datetime
    as_of: datetime
    listed: pd.DataFrame  # JOB_COLUMNS: failures, expiries and every restore
    outcomes: (
        pd.DataFrame
    )  # one row per job or proven backup: job_type, ok, plan, resource, account

    def totals(self) -> list[dict[str, Any]]:
        """Per job type: completed, unsuccessful, success rate."""
        return _rates(self.outcomes, "job_type")

    def rates(self, by: str, limit: int | None = None) -> list[dict[str, Any]]:
        """Success rates grouped by `by` (plan | resource | account), lowest rate first."""
        rows = _rates(self.outcomes, GROUPS[by])
        rows.sort(key=lambda r: (r["rate"] if r["rate"] is not None else 101.0, str(r["key"])))
        return rows[:limit] if limit else rows


def _rates(outcomes: pd.DataFrame, key: str) -> list[dict[str, Any]]:
    if not len(outcomes):
        return []
    grouped = outcomes.groupby(outcomes[key].fillna("(unknown)"), sort=True, observed=True)["ok"]
    table = pd.DataFrame({"total": grouped.size(), "completed": grouped.sum()})
    table["unsuccessful"] = table["total"] - table["completed"]
    table["rate"] = (100.0 * table["completed"] / table["total"]).round(1)
    return [
        {
            "key": str(k),
            "total": int(r.total),
            "completed": int(r.completed),
            "unsuccessful": int(r.unsuccessful),
            "rate": float(r.rate),
        }
        for k, r in table.iterrows()
    ]


def _utc(series: pd.Series) -> pd.Series:
    return pd.to_datetime(series, utc=True)


def _in_window(created: pd.Series, since: datetime, as_of: datetime) -> pd.Series:
    at = _utc(created)
    return ((at >= pd.Timestamp(since)) & (at <= pd.Timestamp(as_of))).fillna(False).astype(bool)


def _plan_names(inventory: Any) -> pd.Series:
    plans = inventory["backup_plans"]
    if not len(plans):
        return pd.Series(dtype=object)
    names = plans.drop_duplicates("backup_plan_id").set_index("backup_plan_id")
    return names["backup_plan_name"].fillna(pd.Series(names.index, index=names.index))


def _plan_labels(ids: pd.Series, names: pd.Series) -> pd.Series:
    """AWS Backup plan ids as plan names (the id where the plan was not listed; on demand: none)."""
    named = ids.map(names).astype(object)
    return named.where(named.notna(), ids.astype(object)).fillna(ON_DEMAND)


def _jobs_since(inventory: Any, as_of: datetime) -> datetime:
    value = (getattr(inventory, "manifest", None) or {}).get("jobs_since")
    if value:
        stamp = pd.Timestamp(value)
        return (stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp).to_pydatetime()
    return default_jobs_since(as_of)


def job_report(inventory: Any, as_of: datetime, since: datetime | None = None) -> JobReport:
    """The job evidence of `inventory` over [since, as_of] (see the module doc)."""
    since = since or _jobs_since(inventory, as_of)
    names = _plan_names(inventory)
    parts = [
        _backup_and_copy_jobs(inventory, names, since, as_of),
        _proven_backups(inventory, names, since, as_of),
        _restore_jobs(inventory, since, as_of),
    ]
    listed = pd.concat([p[0] for p in parts if len(p[0])] or [pd.DataFrame()], ignore_index=True)
    listed = listed.reindex(columns=list(JOB_COLUMNS))
    if len(listed):
        took = _utc(listed["completed_at"]) - _utc(listed["created_at"])
        listed["duration_minutes"] = (took.dt.total_seconds() / 60).round(1)
        listed = listed.sort_values(
            ["job_type", "created_at", "job_id"], kind="stable", ignore_index=True
        )
    outcomes = pd.concat([p[1] for p in parts if len(p[1])] or [pd.DataFrame()], ignore_index=True)
    outcomes = outcomes.reindex(columns=["job_type", "ok", "plan", "resource_arn", "account_id"])
    outcomes["ok"] = outcomes["ok"].fillna(False).astype(bool)
    return JobReport(since=since, as_of=as_of, listed=listed, outcomes=outcomes)


def _backup_and_copy_jobs(
    inventory: Any, names: pd.Series, since: datetime, as_of: datetime
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(listed, outcomes) of the backup and copy jobs AWS Backup reported in the window."""
    jobs = inventory["backup_jobs"]
    jobs = jobs[_in_window(jobs["created_at"], since, as_of)]
    plan = _plan_labels(jobs["backup_plan_id"], names)
    outcomes = pd.DataFrame(
        {
            "job_type": jobs["job_type"],
            "ok": (jobs["state"] == "COMPLETED").fillna(False).astype(bool),
            "plan": plan,
            "resource_arn": jobs["resource_arn"],
            "account_id": jobs["account_id"],
        }
    )
    bad = jobs["state"].isin(UNSUCCESSFUL).fillna(False).astype(bool)
    shown = jobs[bad]
    listed = pd.DataFrame(
        {
            "job_type": shown["job_type"],
            "job_id": shown["job_id"],
            "state": shown["state"],
            "account_id": shown["account_id"],
            "region": shown["region"],
            "resource_arn": shown["resource_arn"],
            "resource_type": shown["resource_type"],
            "plan": plan[bad],
            "created_at": shown["created_at"],
            "completed_at": shown["completed_at"],
            "status_message": shown["status_message"],
            "recovery_point_arn": shown["recovery_point_arn"],
        }
    )
    return listed, outcomes


def _proven_backups(
    inventory: Any, names: pd.Series, since: datetime, as_of: datetime
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Completed backup jobs, counted from the recovery points AWS Backup made in the window (a
    completed backup job is its recovery point; copies are counted by their copy jobs)."""
    points = inventory["recovery_points"]
    made = (
        (points["created_by"] == "aws-backup").fillna(False).astype(bool)
        & points["copy_source_arn"].isna()
        & (points["status"] == "COMPLETED").fillna(False).astype(bool)
        & _in_window(points["created_at"], since, as_of)
    )
    points = points[made]
    plan = _plan_labels(points["backup_plan_id"], names)
    outcomes = pd.DataFrame(
        {
            "job_type": "backup",
            "ok": True,
            "plan": plan,
            "resource_arn": points["resource_arn"],
            "account_id": points["account_id"],
        }
    )
    return pd.DataFrame(), outcomes


def _restore_jobs(
    inventory: Any, since: datetime, as_of: datetime
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(listed, outcomes) of every restore job in the window; a completed restore test whose
    validation failed or timed out is unsuccessful."""
    restores = inventory.tables.get("restore_jobs")
    if restores is None or not len(restores):
        return pd.DataFrame(), pd.DataFrame()
    restores = restores[_in_window(restores["created_at"], since, as_of)]
    test_plan = restores["restore_testing_plan_arn"]
    # A restore test is labelled with its restore testing plan's name (its ARN's last part, which
    # AWS suffixes with an id, when the plan itself was not listed).
    plans = inventory.tables.get("restore_testing_plans")
    named = (
        plans.drop_duplicates("plan_arn").set_index("plan_arn")["plan_name"]
        if plans is not None and len(plans)
        else pd.Series(dtype=object)
    )
    label = test_plan.map(named).astype(object)
    tail = test_plan.str.rsplit(":", n=1).str[-1].astype(object)
    label = label.where(label.notna(), tail).fillna(ON_DEMAND)
    failed = restores["status"].isin(RESTORE_UNSUCCESSFUL) | restores["validation_status"].isin(
        FAILED_VALIDATION
    )
    done = (restores["status"] == "COMPLETED").fillna(False).astype(bool)
    outcomes = pd.DataFrame(
        {
            "job_type": "restore",
            "ok": done & ~failed.fillna(False).astype(bool),
            "plan": label,
            "resource_arn": restores["resource_arn"],
            "account_id": restores["account_id"],
        }
    )
    listed = pd.DataFrame(
        {
            "job_type": "restore",
            "job_id": restores["restore_job_id"],
            "state": restores["status"],
            "account_id": restores["account_id"],
            "region": restores["region"],
            "resource_arn": restores["resource_arn"],
            "resource_type": restores["backup_resource_type"],
            "plan": label,
            "created_at": restores["created_at"],
            "completed_at": restores["completed_at"],
            "status_message": restores["status_message"],
            "recovery_point_arn": restores["recovery_point_arn"],
            "restore_testing_plan_arn": test_plan,
            "validation_status": restores["validation_status"],
            "validation_message": restores["validation_message"],
        }
    )
    return listed, outcomes


def write_jobs_csv(report: JobReport, out: str | Path) -> Path:
    """Write `jobs.csv` (the listed jobs, JOB_COLUMNS, times in ISO 8601 UTC) atomically into `out`."""
    frame = report.listed.copy()
    for column in ("created_at", "completed_at"):
        stamps = _utc(frame[column])
        frame[column] = stamps.dt.strftime("%Y-%m-%dT%H:%M:%SZ").where(stamps.notna(), "")
    path = Path(out) / "jobs.csv"
    write_text(path, frame.to_csv(index=False, lineterminator="\n"))
    return path
