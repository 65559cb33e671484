"""Machine-readable renderers: findings and metering as JSON and CSV."""

from __future__ import annotations

import io
from typing import Any

import pandas as pd

from auditor import jsonsafe
from auditor.report.model import (
    METERING_COLUMNS,
    Results,
    evidence_of,
    metering_frame,
    status_counts,
)


def _records(df: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows as dicts with nulls as None (not NaN), so the JSON is valid."""
    return jsonsafe.records(df)


def _dumps(doc: Any) -> str:
    return jsonsafe.dumps(doc)


def render_json(results: Results) -> str:
    """findings.json: `{"schema_version": 1, "as_of", "summary", "findings": [...]}` in the file's own order."""
    summary = results.summary or {"counts": status_counts(results.findings)}
    doc = {"schema_version": 1, "as_of": results.as_of, "summary": summary, **results.extra}
    findings = results.findings
    if len(findings):  # evidence read from findings.parquet is JSON text: objects again
        findings = findings.assign(evidence=findings["evidence"].map(evidence_of))
    doc["findings"] = _records(findings)
    return _dumps(doc)


def render_csv(results: Results) -> str:
    """findings.csv: the same rows as findings.json, `evidence` as a JSON object in one cell."""
    df = results.findings.copy()
    if len(df):
        df["evidence"] = df["evidence"].map(
            lambda e: jsonsafe.dumps(evidence_of(e), indent=None, sort_keys=True, newline=False)
        )
    buffer = io.StringIO()
    df.to_csv(buffer, index=False, lineterminator="\n")
    return buffer.getvalue()


def render_metering_json(results: Results) -> str:
    """metering.json: `{"schema_version": 1, "as_of", "rows": [...]}`, one row per (account, region, service, billing owner, storage class)."""
    rows = metering_frame(results.metering)
    return _dumps({"schema_version": 1, "as_of": results.as_of, "rows": _records(rows)})


def render_metering_csv(results: Results) -> str:
    """metering.csv: the metering rows, metering columns first."""
    rows = metering_frame(results.metering)
    buffer = io.StringIO()
    rows.to_csv(
        buffer,
        index=False,
        lineterminator="\n",
        columns=list(METERING_COLUMNS) + [c for c in rows.columns if c not in METERING_COLUMNS],
    )
    return buffer.getvalue()
