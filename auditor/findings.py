"""Findings files (DESIGN §4): `findings.json` and `findings.csv`, written atomically, read back.

``findings.json``::

    {"schema_version": 1, "as_of": "...Z", "summary": {...}, "controls": [...], "findings": [...]}

Each finding has DESIGN §4's fields (`resource_arn`, `resource_type`, `account_id`, `region`,
`control_id`, `status`, `severity`, `plan`, `detail`, `evidence`). `controls` lists every registered
control (id, title, severity, description) so reports need no code to describe them. When the
audit passes its policies, `plans` lists where each plan is declared (name, line, the policy file
as given and its copy under `policies/`), which the SARIF report turns into file locations.
``findings.csv`` holds the same rows; its `evidence` column is the JSON text of the object. Both
files are written from one table in one canonical row order, so the same verdicts give the same
bytes however they were computed.
"""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import pandas as pd

from auditor import jsonsafe
from auditor.atomic import open_atomic
from auditor.errors import InputError

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = [
    "FINDINGS_SCHEMA_VERSION",
    "canonical_table",
    "findings_csv_text",
    "findings_document",
    "plan_locations",
    "read_findings",
    "write_findings",
]

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
    "remediation",  # what to change (FAIL, WAIVED and NOT_ASSESSED rows; null otherwise)
    "resource_name",  # the resource's Name tag (null without one)
)


def _iso(value: datetime) -> str:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


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


def findings_document(findings: Any, *, plans: list[dict] | None = None) -> dict:
    """The findings.json document as a dict (for small results and for tests)."""
    return json.loads(_document_text(findings, plans))


def plan_locations(policies: Any, policy_path: str | Path | None = None) -> list[dict[str, Any]]:
    """Where each declared plan is written: `[{"name", "line", "source", "file"}]`.

    `source` is the policy file as given on the command line (what a code-scanning UI opens in
    the repository); `file` is its copy in the results folder (`policies/...`, mirroring how an
    audit copies the file, or the YAML files of the folder, that `policy_path` names).
    """
    root = Path(policy_path) if policy_path is not None else None
    out = []
    for plan in getattr(policies, "plans", None) or []:
        source = getattr(plan, "source_file", None)
        if not source:
            continue
        entry: dict[str, Any] = {
            "name": plan.name,
            "line": int(plan.source_line or 1),
            "source": Path(source).as_posix(),
        }
        if root is not None:
            try:
                rel = Path(source).relative_to(root) if root.is_dir() else Path(Path(source).name)
                entry["file"] = f"policies/{rel.as_posix()}"
            except ValueError:  # not under the folder given: no copy to point at
                pass
        out.append(entry)
    return out


def _head(findings: Any, plans: list[dict] | None) -> dict[str, Any]:
    head: dict[str, Any] = {
        "schema_version": FINDINGS_SCHEMA_VERSION,
        "as_of": _iso(findings.as_of),
        "summary": findings.summary,
        "controls": _controls_meta(),
    }
    if plans:
        head["plans"] = plans
    return head


def _document_text(findings: Any, plans: list[dict] | None) -> str:
    buffer = io.BytesIO()
    _write_json(buffer, findings, canonical_table(findings), plans)
    return buffer.getvalue().decode("utf-8")


def write_findings(
    findings: Any,
    out_dir: str | Path,
    *,
    policies: Any = None,
    policy_path: str | Path | None = None,
) -> tuple[Path, Path]:
    """Write `findings.json` and `findings.csv` into `out_dir` (each atomically); return both paths.

    Both files are written from one Arrow table in one canonical row order (`canonical_table`),
    whichever engine produced the findings, so the same verdicts always give the same bytes.
    With `policies` (and `policy_path`, the policy file or folder as given), findings.json also
    lists where each plan is declared (`plan_locations`), which SARIF turns into file locations.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    json_path, csv_path = out / "findings.json", out / "findings.csv"
    table = canonical_table(findings)
    plans = plan_locations(policies, policy_path) if policies is not None else None
    with open_atomic(json_path, "wb") as handle:
        _write_json(handle, findings, table, plans)
    with open_atomic(csv_path, "wb") as handle:
        _write_csv(handle, table)
    return json_path, csv_path


def _write_json(
    handle: IO[bytes], findings: Any, table: pa.Table, plans: list[dict] | None
) -> None:
    # The head goes through the strict serializer; the rows are JSON built by Arrow kernels
    # (quoted strings, nulls as null, evidence as the engine's JSON text), so no NaN can get in.
    text = jsonsafe.dumps(_head(findings, plans), indent=1, newline=False)
    handle.write((text[:-2] + ',\n "findings": [').encode("utf-8"))
    _write_json_rows_arrow(handle, table)
    handle.write(b"\n ]\n}\n")


def _write_csv(handle: IO[bytes], table: pa.Table) -> None:
    import pyarrow.csv as pacsv

    pacsv.write_csv(
        table,
        handle,
        write_options=pacsv.WriteOptions(include_header=True, quoting_style="needed"),
    )


_SORT_COLUMNS = (
    "account_id",
    "region",
    "resource_arn",
    "_control",
    "control_id",
    "plan",
    "status",
    "severity",
    "resource_type",
    "detail",
    "evidence",
)


def canonical_table(findings: Any) -> pa.Table:
    """The findings as an Arrow table of strings (`evidence` as JSON text) in the canonical order.

    The order is account, region, resource ARN, control (in the registry's order), plan, then the
    remaining columns as tie-breakers, nulls first: a total order that does not depend on how the
    rows were produced (one process, or per-account Dask tasks gathered in completion order).
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    from auditor.controls import REGISTRY

    table = findings.arrow() if hasattr(findings, "arrow") else None
    if table is None:
        table = _table_from_frame(findings.frame)
    table = table.select(list(COLUMNS)).cast(pa.schema([(c, pa.string()) for c in COLUMNS]))
    if table.num_rows < 2:
        return table
    rank = pc.index_in(table["control_id"], value_set=pa.array(list(REGISTRY), pa.string()))
    keyed = table.append_column("_control", rank)
    order = pc.sort_indices(keyed, sort_keys=[(c, "ascending", "at_start") for c in _SORT_COLUMNS])
    return table.take(order)


def _table_from_frame(frame: pd.DataFrame) -> pa.Table:
    """Arrow strings from a findings frame (rows read back from disk, or Dask tasks' rows).

    Missing values (None, NaN, pd.NA) become null; `evidence` dicts become the same compact JSON
    text the engine writes (their key order kept), so rows that went through `json.loads` of
    that text turn back into the identical bytes.
    """
    import pyarrow as pa

    columns = {}
    for col in COLUMNS:
        if col not in frame.columns:
            columns[col] = pa.nulls(len(frame), pa.string())
            continue
        series = frame[col]
        if col == "evidence":
            columns[col] = pa.array(
                [_evidence_text(v) for v in series.to_numpy(dtype=object)], pa.string()
            )
            continue
        try:
            columns[col] = pa.array(series, type=pa.string(), from_pandas=True)
        except (pa.ArrowInvalid, pa.ArrowTypeError):  # numbers or other objects among the text
            text = series.astype(str).astype(object).where(series.notna(), None)
            columns[col] = pa.array(text, type=pa.string(), from_pandas=True)
    return pa.table(columns)


def _evidence_text(value: Any) -> str:
    if isinstance(value, str):  # already JSON text (a frame built from findings.csv)
        return value
    if not isinstance(value, dict):
        value = {} if value is None or value != value else {"value": value}
    return jsonsafe.dumps(value, indent=None, newline=False)


def _write_json_rows_arrow(handle: IO[bytes], table: pa.Table) -> None:
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


def findings_csv_text(findings: Any) -> str:
    """findings.csv's text (the bytes `write_findings` writes), for small results and tests."""
    buffer = io.BytesIO()
    _write_csv(buffer, canonical_table(findings))
    return buffer.getvalue().decode("utf-8")
