"""Run history in SQLite: one summary per audit run, and what changed since the previous run.

One history file follows one audited estate (by default `history.sqlite` beside the output folder,
see `default_history_path`). Each run is keyed by its `as_of`: recording the same as_of again
replaces that run, so re-running a report for the same moment is idempotent. For each run the store
keeps the counts per status, whether its collection was complete, and the keys needed for the next
comparison: the failing and the passing/waived (resource, control, plan) findings and the resources
in scope (what was collected; backups are not resources). SQLite transactions make every write atomic.

A run whose collection was incomplete (some calls failed) is recorded and marked so, but it is
never a baseline: the trend leaves it out (except as the run being reported) and "changes since the
previous run" compare with the last complete run, so data that could not be gathered never shows up
as resources gone or failures resolved.

`record_run` returns the history document the HTML and Markdown reports show (also written as
`history.json` into the results folder so `auditor report` can render it again later)::

    {"trend": [{"as_of", "complete", "compliance_pct", "FAIL", ..., "resources"}, ...],
     "changes": {"previous_as_of", "incomplete",
                 "new_failures": [{"resource_arn", "control_id", "plan"}], "new_failures_count",
                 "resolved": [...], "resolved_count",          FAIL then, PASS or WAIVED now
                 "gone_failures": [...], "gone_failures_count", FAIL then, resource no longer there
                 "new_resources": [arn], "new_resources_count",
                 "removed_resources": [arn], "removed_resources_count"}}
"""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path
from typing import Any

import pandas as pd

from auditor.errors import InputError
from auditor.report.model import STATUSES, Results, compliance_pct, resource_arns, status_counts

TREND_RUNS = 30
LIST_LIMIT = 100
# Runs recorded before the store kept plans, passing findings and the resources in scope (as
# opposed to every ARN a finding named) have format 1: they are compared on (resource, control) only.
STORE_FORMAT = 2
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
CREATE TABLE IF NOT EXISTS run_settled (run_id INTEGER NOT NULL, resource_arn TEXT NOT NULL, control_id TEXT NOT NULL, plan TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS run_resources (run_id INTEGER NOT NULL, resource_arn TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS run_failures_run ON run_failures (run_id);
CREATE INDEX IF NOT EXISTS run_settled_run ON run_settled (run_id);
CREATE INDEX IF NOT EXISTS run_resources_run ON run_resources (run_id);
"""
# Columns added after the first release, added in place to older stores.
_ADDED_COLUMNS = (
    ("runs", "complete", "INTEGER NOT NULL DEFAULT 1"),
    ("runs", "format", "INTEGER NOT NULL DEFAULT 1"),
    ("run_failures", "plan", "TEXT"),
)
_COLUMNS = {
    "PASS": "pass",
    "FAIL": "fail",
    "WAIVED": "waived",
    "NOT_APPLICABLE": "not_applicable",
    "NOT_ASSESSED": "not_assessed",
}
_KEYS = ["resource_arn", "control_id", "plan"]


def default_history_path(out: str | Path) -> Path:
    """`history.sqlite` beside the output folder: `reports/prod` -> `reports/history.sqlite`."""
    return Path(out).resolve().parent / "history.sqlite"


def _connect(path: Path) -> sqlite3.Connection:
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        con = sqlite3.connect(path, timeout=30)
        con.executescript(_SCHEMA)
        for table, column, declaration in _ADDED_COLUMNS:
            present = {row[1] for row in con.execute(f"PRAGMA table_info({table})")}
            if column not in present:
                con.execute(f"ALTER TABLE {table} ADD COLUMN {column} {declaration}")
        con.commit()
    except sqlite3.DatabaseError as exc:
        raise InputError(f"{path}: not a history store ({exc})") from None
    return con


def _finding_keys(df: pd.DataFrame, statuses: tuple[str, ...]) -> pd.DataFrame:
    """Distinct (resource, control, plan) of the findings with one of `statuses`; no plan = ""."""
    if not len(df):
        return pd.DataFrame(columns=_KEYS)
    rows = df.loc[df["status"].isin(statuses)]
    keys = pd.DataFrame(
        {
            "resource_arn": rows["resource_arn"],
            "control_id": rows["control_id"],
            "plan": rows["plan"].astype(object).where(rows["plan"].notna(), "").astype(str),
        }
    )
    return keys.dropna().drop_duplicates()


def _is_complete(results: Results) -> bool:
    """False when the run's collection was incomplete (run.json's collection.complete)."""
    collection = (results.run or {}).get("collection") if isinstance(results.run, dict) else None
    return not (isinstance(collection, dict) and collection.get("complete") is False)


def record_run(
    path: str | Path, results: Results, *, results_dir: str | Path | None = None
) -> dict[str, Any]:
    """Append (or replace, for the same as_of) this run's summary; return the history document."""
    path = Path(path)
    df = results.findings
    counts = status_counts(df)
    fails = _finding_keys(df, ("FAIL",))
    settled = _finding_keys(df, ("PASS", "WAIVED"))
    resources = resource_arns(results)
    cost = (
        float(results.metering["estimated_cost_usd"].sum())
        if results.metering is not None
        else None
    )
    with closing(_connect(path)) as con, con:
        old = con.execute("SELECT run_id FROM runs WHERE as_of = ?", (results.as_of,)).fetchone()
        if old:
            for table in ("run_failures", "run_settled", "run_resources", "runs"):
                con.execute(f"DELETE FROM {table} WHERE run_id = ?", (old[0],))
        cur = con.execute(
            "INSERT INTO runs (as_of, results_dir, total, pass, fail, waived, not_applicable, not_assessed, resources,"
            " compliance_pct, cost_usd, complete, format) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                results.as_of,
                str(results_dir) if results_dir else None,
                len(df),
                *(counts[s] for s in ("PASS", "FAIL", "WAIVED", "NOT_APPLICABLE", "NOT_ASSESSED")),
                len(resources),
                compliance_pct(counts),
                cost,
                int(_is_complete(results)),
                STORE_FORMAT,
            ),
        )
        run_id = cur.lastrowid
        con.executemany(
            "INSERT INTO run_failures (run_id, resource_arn, control_id, plan) VALUES (?, ?, ?, ?)",
            ((run_id, *key) for key in fails.itertuples(index=False, name=None)),
        )
        con.executemany(
            "INSERT INTO run_settled VALUES (?, ?, ?, ?)",
            ((run_id, *key) for key in settled.itertuples(index=False, name=None)),
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
                "complete",
                "format",
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
    """Trend up to `as_of` and the changes between the run at `as_of` and the last complete one before."""
    trend = load_trend(path, until=as_of)
    if len(trend):
        # incomplete runs are no baseline: only the run being reported may be one
        trend = trend[(trend["complete"] == 1) | (trend["as_of"] == as_of)].reset_index(drop=True)
    doc: dict[str, Any] = {
        "trend": [
            {
                "as_of": row["as_of"],
                "complete": bool(row["complete"]),
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
    doc["changes"] = _changes(Path(path), trend.iloc[-1], trend.iloc[-2])
    return doc


def _read_run(con: sqlite3.Connection, table: str, run_id: int, columns: str) -> pd.DataFrame:
    return pd.read_sql_query(
        f"SELECT {columns} FROM {table} WHERE run_id = ?", con, params=(int(run_id),)
    )


def _changes(path: Path, current: pd.Series, previous: pd.Series) -> dict[str, Any]:
    """What changed between two runs (see the module doc for the keys)."""
    with closing(_connect(path)) as con:
        fails_now = _read_run(con, "run_failures", current["run_id"], ", ".join(_KEYS))
        fails_then = _read_run(con, "run_failures", previous["run_id"], ", ".join(_KEYS))
        settled_now = _read_run(con, "run_settled", current["run_id"], ", ".join(_KEYS))
        seen_now = _read_run(con, "run_resources", current["run_id"], "resource_arn")
        seen_then = _read_run(con, "run_resources", previous["run_id"], "resource_arn")
    keys = _KEYS
    if int(previous["format"]) < STORE_FORMAT:  # recorded without plans: compare without them
        keys = ["resource_arn", "control_id"]
    for frame in (fails_now, fails_then, settled_now):
        frame["plan"] = frame["plan"].fillna("")
    complete = bool(current["complete"])
    comparable = complete and int(previous["format"]) >= STORE_FORMAT
    new_fail = _only_in(fails_now, fails_then, keys)
    resolved = _in_both(fails_then, settled_now, keys)
    # a failure whose resource is no longer anywhere in this run: gone, not resolved
    present = set(seen_now["resource_arn"]) | set(fails_now["resource_arn"])
    present |= set(settled_now["resource_arn"])
    gone_fail = fails_then[~fails_then["resource_arn"].isin(present)].sort_values(_KEYS)
    new_res = _only_in(seen_now, seen_then, ["resource_arn"]) if comparable else seen_now.iloc[:0]
    gone = _only_in(seen_then, seen_now, ["resource_arn"]) if comparable else seen_now.iloc[:0]
    if not complete:  # what this run could not gather is unknown, not gone
        gone_fail = gone_fail.iloc[:0]
    return {
        "previous_as_of": previous["as_of"],
        "incomplete": not complete,
        "new_failures": _records(new_fail),
        "new_failures_count": len(new_fail),
        "resolved": _records(resolved),
        "resolved_count": len(resolved),
        "gone_failures": _records(gone_fail),
        "gone_failures_count": len(gone_fail),
        "new_resources": new_res["resource_arn"].head(LIST_LIMIT).tolist(),
        "new_resources_count": len(new_res),
        "removed_resources": gone["resource_arn"].head(LIST_LIMIT).tolist(),
        "removed_resources_count": len(gone),
    }


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """The first LIST_LIMIT keys as records, with no plan written as null."""
    head = frame.head(LIST_LIMIT)[_KEYS].astype(object)
    head["plan"] = head["plan"].where(head["plan"] != "", None)
    return head.to_dict("records")


def _in_both(mine: pd.DataFrame, theirs: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """Rows of `mine` whose keys are also in `theirs`, sorted."""
    merged = mine.merge(theirs[keys].drop_duplicates(), on=keys, how="inner")
    return merged.sort_values(_KEYS).reset_index(drop=True)


def _only_in(mine: pd.DataFrame, theirs: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """Rows of `mine` whose keys are absent from `theirs`, sorted."""
    merged = mine.merge(theirs[keys].drop_duplicates(), on=keys, how="left", indicator=True)
    kept = merged.loc[merged["_merge"] == "left_only"].drop(columns="_merge")
    return kept.sort_values(list(mine.columns)).reset_index(drop=True)


__all__ = ["default_history_path", "history_document", "load_trend", "record_run"]
