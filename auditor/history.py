"""Run history in SQLite: one summary per audit run, and what changed since the previous run.

One history file follows one audited estate (by default `history.sqlite` beside the output folder,
see `default_history_path`). Each run is keyed by its `as_of`: recording the same as_of again
replaces that run, so re-running a report for the same moment is idempotent. For each run the store
keeps the counts per status and the keys needed for the next comparison: the failing
(resource, control) pairs and the resources seen. SQLite transactions make every write atomic.

`record_run` returns the history document the HTML and Markdown reports show (also written as
`history.json` into the results folder so `auditor report` can render it again later)::

    {"trend": [{"as_of", "compliance_pct", "FAIL", ...}, ...],
     "changes": {"previous_as_of", "new_failures": [...], "new_failures_count", "resolved": [...],
                 "resolved_count", "new_resources": [...], "new_resources_count",
                 "removed_resources_count"}}
"""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path
from typing import Any

import pandas as pd

from auditor.errors import InputError
from auditor.report.model import STATUSES, Results, compliance_pct, status_counts

TREND_RUNS = 30
LIST_LIMIT = 100
_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    run_id INTEGER PRIMARY KEY AUTOINCREMENT,
    as_of TEXT NOT NULL UNIQUE,
    results_dir TEXT,
    total INTEGER NOT NULL,
    pass INTEGER NOT NULL,
    fail INTEGER NOT NULL,
    waived INTEGER NOT NULL,
    not_applicable INTEGER NOT NULL,
    not_assessed INTEGER NOT NULL,
    resources INTEGER NOT NULL,
    compliance_pct REAL,
    cost_usd REAL
);
CREATE TABLE IF NOT EXISTS run_failures (run_id INTEGER NOT NULL, resource_arn TEXT NOT NULL, control_id TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS run_resources (run_id INTEGER NOT NULL, resource_arn TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS run_failures_run ON run_failures (run_id);
CREATE INDEX IF NOT EXISTS run_resources_run ON run_resources (run_id);
"""
_COLUMNS = {
    "PASS": "pass",
    "FAIL": "fail",
    "WAIVED": "waived",
    "NOT_APPLICABLE": "not_applicable",
    "NOT_ASSESSED": "not_assessed",
}


def default_history_path(out: str | Path) -> Path:
    """`history.sqlite` beside the output folder: `reports/prod` -> `reports/history.sqlite`."""
    return Path(out).resolve().parent / "history.sqlite"


def _connect(path: Path) -> sqlite3.Connection:
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        con = sqlite3.connect(path, timeout=30)
        con.executescript(_SCHEMA)
    except sqlite3.DatabaseError as exc:
        raise InputError(f"{path}: not a history store ({exc})") from None
    return con


def record_run(
    path: str | Path, results: Results, *, results_dir: str | Path | None = None
) -> dict[str, Any]:
    """Append (or replace, for the same as_of) this run's summary; return the history document."""
    path = Path(path)
    df = results.findings
    counts = status_counts(df)
    fails = (
        df.loc[df["status"] == "FAIL", ["resource_arn", "control_id"]].dropna().drop_duplicates()
        if len(df)
        else pd.DataFrame(columns=["resource_arn", "control_id"])
    )
    resources = (
        df["resource_arn"].dropna().drop_duplicates() if len(df) else pd.Series(dtype=object)
    )
    cost = (
        float(results.metering["estimated_cost_usd"].sum())
        if results.metering is not None
        else None
    )
    with closing(_connect(path)) as con, con:
        old = con.execute("SELECT run_id FROM runs WHERE as_of = ?", (results.as_of,)).fetchone()
        if old:
            for table in ("run_failures", "run_resources", "runs"):
                con.execute(f"DELETE FROM {table} WHERE run_id = ?", (old[0],))
        cur = con.execute(
            "INSERT INTO runs (as_of, results_dir, total, pass, fail, waived, not_applicable, not_assessed, resources,"
            " compliance_pct, cost_usd) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                results.as_of,
                str(results_dir) if results_dir else None,
                len(df),
                *(counts[s] for s in ("PASS", "FAIL", "WAIVED", "NOT_APPLICABLE", "NOT_ASSESSED")),
                len(resources),
                compliance_pct(counts),
                cost,
            ),
        )
        run_id = cur.lastrowid
        con.executemany(
            "INSERT INTO run_failures VALUES (?, ?, ?)",
            ((run_id, a, c) for a, c in fails.itertuples(index=False, name=None)),
        )
        con.executemany("INSERT INTO run_resources VALUES (?, ?)", ((run_id, a) for a in resources))
    return history_document(path, results.as_of)


def load_trend(
    path: str | Path, *, until: str | None = None, limit: int = TREND_RUNS
) -> pd.DataFrame:
    """The last `limit` runs (up to `until`, an as_of) in time order, one row each."""
    path = Path(path)
    if not path.is_file():
        return pd.DataFrame(
            columns=[
                "run_id",
                "as_of",
                "total",
                *STATUSES,
                "resources",
                "compliance_pct",
                "cost_usd",
            ]
        )
    with closing(_connect(path)) as con:
        query = (
            "SELECT * FROM runs"
            + (" WHERE as_of <= ?" if until else "")
            + " ORDER BY as_of DESC LIMIT ?"
        )
        rows = pd.read_sql_query(query, con, params=((until, limit) if until else (limit,)))
    rows = rows.rename(columns={v: k for k, v in _COLUMNS.items()})
    return rows.iloc[::-1].reset_index(drop=True)


def history_document(path: str | Path, as_of: str) -> dict[str, Any]:
    """Trend up to `as_of` and the changes between the run at `as_of` and the one before it."""
    trend = load_trend(path, until=as_of)
    doc: dict[str, Any] = {
        "trend": [
            {
                "as_of": row["as_of"],
                "compliance_pct": None
                if pd.isna(row["compliance_pct"])
                else float(row["compliance_pct"]),
                **{s: int(row[s]) for s in STATUSES},
                "resources": int(row["resources"]),
                "cost_usd": None if pd.isna(row["cost_usd"]) else round(float(row["cost_usd"]), 2),
            }
            for row in trend.to_dict("records")
        ],
        "changes": {},
    }
    if len(trend) < 2 or trend.iloc[-1]["as_of"] != as_of:
        return doc
    current, previous = int(trend.iloc[-1]["run_id"]), int(trend.iloc[-2]["run_id"])
    with closing(_connect(Path(path))) as con:
        fails = pd.read_sql_query(
            "SELECT run_id, resource_arn, control_id FROM run_failures WHERE run_id IN (?, ?)",
            con,
            params=(current, previous),
        )
        seen = pd.read_sql_query(
            "SELECT run_id, resource_arn FROM run_resources WHERE run_id IN (?, ?)",
            con,
            params=(current, previous),
        )
    new_fail = _only_in(fails, current, previous, ["resource_arn", "control_id"])
    resolved = _only_in(fails, previous, current, ["resource_arn", "control_id"])
    new_res = _only_in(seen, current, previous, ["resource_arn"])
    gone = _only_in(seen, previous, current, ["resource_arn"])
    doc["changes"] = {
        "previous_as_of": trend.iloc[-2]["as_of"],
        "new_failures": new_fail.head(LIST_LIMIT).to_dict("records"),
        "new_failures_count": len(new_fail),
        "resolved": resolved.head(LIST_LIMIT).to_dict("records"),
        "resolved_count": len(resolved),
        "new_resources": new_res["resource_arn"].head(LIST_LIMIT).tolist(),
        "new_resources_count": len(new_res),
        "removed_resources": gone["resource_arn"].head(LIST_LIMIT).tolist(),
        "removed_resources_count": len(gone),
    }
    return doc


def _only_in(frame: pd.DataFrame, run: int, other: int, keys: list[str]) -> pd.DataFrame:
    """Keys present in `run` and absent from `other`, sorted."""
    mine = frame.loc[frame["run_id"] == run, keys]
    theirs = frame.loc[frame["run_id"] == other, keys]
    merged = mine.merge(theirs, on=keys, how="left", indicator=True)
    return (
        merged.loc[merged["_merge"] == "left_only", keys].sort_values(keys).reset_index(drop=True)
    )


__all__ = ["default_history_path", "history_document", "load_trend", "record_run"]
