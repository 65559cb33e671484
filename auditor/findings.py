"""Findings files (DESIGN §4): `findings.json` and `findings.csv`, written atomically, read back.

``findings.json``::

    {"schema_version": 1, "as_of": "...Z", "summary": {...}, "controls": [...], "findings": [...]}

Each finding has DESIGN §4's fields (`resource_arn`, `resource_type`, `account_id`, `region`,
`control_id`, `status`, `severity`, `plan`, `detail`, `evidence`). `controls` lists every registered
control (id, title, severity, description) so reports need no code to describe them.
``findings.csv`` holds the same rows; its `evidence` column is the JSON text of the object.
"""

from __future__ import annotations

import csv
import io
import json
import math
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from auditor.atomic import open_atomic
from auditor.errors import InputError

__all__ = ["FINDINGS_SCHEMA_VERSION", "findings_document", "read_findings", "write_findings"]

FINDINGS_SCHEMA_VERSION = 1
COLUMNS = (
    "resource_arn",
    "resource_type",
    "account_id",
    "region",
    "control_id",
    "status",
    "severity",
    "plan",
    "detail",
    "evidence",
)


def _iso(value: datetime) -> str:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _clean(value: Any) -> Any:
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return None
    return value


def _controls_meta() -> list[dict]:
    from auditor.controls import REGISTRY

    return [
        {
            "id": c.id,
            "title": c.title,
            "severity": c.severity,
            "per": c.per,
            "description": c.description,
        }
        for c in REGISTRY.values()
    ]


def findings_document(findings) -> dict:
    """The findings.json document as a dict (for small results and for tests)."""
    frame = findings.frame
    records = [
        {c: _clean(v) for c, v in zip(COLUMNS, row)}
        for row in frame[list(COLUMNS)].itertuples(index=False, name=None)
    ]
    return {
        "schema_version": FINDINGS_SCHEMA_VERSION,
        "as_of": _iso(findings.as_of),
        "summary": findings.summary,
        "controls": _controls_meta(),
        "findings": records,
    }


def write_findings(findings, out_dir: str | Path) -> tuple[Path, Path]:
    """Write `findings.json` and `findings.csv` into `out_dir` (each atomically); return both paths.

    Findings fresh from the engine are written from their Arrow table with vectorised string
    building (no Python object per finding); findings read back from disk row by row.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    json_path, csv_path = out / "findings.json", out / "findings.csv"
    head = {
        "schema_version": FINDINGS_SCHEMA_VERSION,
        "as_of": _iso(findings.as_of),
        "summary": findings.summary,
        "controls": _controls_meta(),
    }
    text = json.dumps(head, indent=1, sort_keys=False, default=str)
    table = findings.arrow() if hasattr(findings, "arrow") else None
    with open_atomic(json_path, "wb") as handle:
        handle.write((text[:-2] + ',\n "findings": [').encode("utf-8"))
        if table is not None:
            _write_json_rows_arrow(handle, table)
        else:
            _write_json_rows(handle, findings.frame[list(COLUMNS)])
        handle.write(b"\n ]\n}\n")
    with open_atomic(csv_path, "wb") as handle:
        if table is not None:
            import pyarrow.csv as pacsv

            pacsv.write_csv(
                table.select(list(COLUMNS)),
                handle,
                write_options=pacsv.WriteOptions(include_header=True, quoting_style="needed"),
            )
        else:
            _write_csv_rows(handle, findings.frame[list(COLUMNS)])
    return json_path, csv_path


def _write_json_rows_arrow(handle, table) -> None:
    """One JSON object per finding, built column-wise with Arrow string kernels, in batches."""
    import pyarrow as pa
    import pyarrow.compute as pc

    from auditor.controls.engine import json_quote

    batch = 200_000
    for start in range(0, table.num_rows, batch):
        part = table.slice(start, batch)
        pieces = []
        for col in COLUMNS:
            value = (
                part[col].combine_chunks() if isinstance(part[col], pa.ChunkedArray) else part[col]
            )
            value = (
                value.fill_null("{}")
                if col == "evidence"
                else pc.coalesce(json_quote(value), "null")
            )
            pieces.append(pc.binary_join_element_wise(json.dumps(col) + ": ", value, ""))
        line = pc.binary_join_element_wise("{", pc.binary_join_element_wise(*pieces, ", "), "}", "")
        text = ",\n  ".join(line.to_pylist())
        handle.write((("\n  " if start == 0 else ",\n  ") + text).encode("utf-8"))


def _write_json_rows(handle, frame: pd.DataFrame) -> None:
    first = True
    for row in frame.itertuples(index=False, name=None):
        record = {c: _clean(v) for c, v in zip(COLUMNS, row)}
        handle.write(
            (("\n  " if first else ",\n  ") + json.dumps(record, default=str)).encode("utf-8")
        )
        first = False


def _write_csv_rows(handle, frame: pd.DataFrame) -> None:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(COLUMNS)
    for row in frame.itertuples(index=False, name=None):
        values = [_clean(v) for v in row]
        values[-1] = json.dumps(values[-1] or {}, sort_keys=True, default=str)
        writer.writerow(["" if v is None else v for v in values])
    handle.write(buf.getvalue().encode("utf-8"))


def read_findings(path: str | Path):
    """Read `findings.json` (or a folder holding it) back into a `Findings` object.

    Raises InputError naming the file when it is missing, not JSON, or of another schema version.
    """
    from auditor.controls.engine import Findings

    path = Path(path)
    if path.is_dir():
        path = path / "findings.json"
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(f"{path}: no findings file (run `auditor check` first)") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"{path}: not a findings file ({str(exc).splitlines()[0]})") from None
    if not isinstance(doc, dict) or doc.get("schema_version") != FINDINGS_SCHEMA_VERSION:
        raise InputError(
            f"{path}: findings schema version {doc.get('schema_version') if isinstance(doc, dict) else None!r}, "
            f"this program reads {FINDINGS_SCHEMA_VERSION}"
        )
    rows = doc.get("findings")
    if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
        raise InputError(f"{path}: 'findings' must be a list of objects")
    frame = (
        pd.DataFrame.from_records(rows, columns=list(COLUMNS))
        if rows
        else pd.DataFrame({c: pd.Series(dtype=object) for c in COLUMNS})
    )
    frame = frame.astype(object).where(frame.notna(), None)
    try:
        as_of = datetime.fromisoformat(str(doc.get("as_of")).replace("Z", "+00:00"))
    except ValueError:
        raise InputError(f"{path}: 'as_of' is not an ISO 8601 time") from None
    summary = doc.get("summary") if isinstance(doc.get("summary"), dict) else None
    return Findings(as_of, frame=frame, summary=summary)


def findings_csv_text(findings) -> str:
    """findings.csv's text for small results (tests, previews)."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(COLUMNS)
    for row in findings.frame[list(COLUMNS)].itertuples(index=False, name=None):
        values = [_clean(v) for v in row]
        values[-1] = json.dumps(values[-1] or {}, sort_keys=True, default=str)
        writer.writerow(["" if v is None else v for v in values])
    return buf.getvalue()
