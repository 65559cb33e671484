"""Findings files: `findings.parquet` always, `findings.json`, `.csv`, `.jsonl` as chosen; read back.

``findings.json``::

    {"schema_version": 1, "as_of": "...Z", "summary": {...}, "controls": [...], "findings": [...]}

Each finding has the fields of `COLUMNS` (`resource_arn`, `resource_type`, `account_id`,
`region`, `control_id`, `status`, `severity`, `plan`, `detail`, `evidence`, `remediation`,
`resource_name`), then one `tag_<key>` field per owner tag the run was given (`--owner-tags`,
auditor.owners). `controls` lists every registered
control (id, title, severity, description) so reports need no code to describe them. When the
audit passes its policies, `plans` lists where each plan is declared (name, line, the policy file
as given and its copy under `policies/`), which the SARIF report turns into file locations.
``findings.csv`` holds the same rows; its `evidence` column is the JSON text of the object.
``findings.jsonl`` (JSON Lines, chosen with `--format jsonl`) holds one finding object per line
and nothing else: for estates whose findings.json would be too large to parse as one document.
``findings.parquet`` is always written: the complete rows, typed (strings, `evidence` as JSON
text), for DuckDB, pandas and BI tools; its schema metadata (key `auditor.findings`) carries the
rest of findings.json (schema version, as_of, summary, controls, plans), so reports and evidence
bundles can be made from it alone. Every file is written from one stream of Arrow batches in
one canonical row order, each batch made once and handed to every chosen writer (no list of row
objects, nor the text of every row, in memory at once), so the same verdicts give the same bytes
however they were computed.
"""

from __future__ import annotations

import io
import json
from collections.abc import Generator, Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import pandas as pd

from auditor import jsonsafe
from auditor.atomic import open_atomic
from auditor.errors import InputError, UsageError

if TYPE_CHECKING:
    import numpy as np
    import pyarrow as pa

__all__ = [
    "FINDINGS_FORMATS",
    "FINDINGS_SCHEMA_VERSION",
    "PARQUET_METADATA_KEY",
    "canonical_batches",
    "canonical_table",
    "columns_of",
    "findings_csv_text",
    "findings_document",
    "findings_jsonl_bytes",
    "parse_findings_formats",
    "plan_locations",
    "read_findings",
    "read_parquet_head",
    "row_schema",
    "write_findings",
    "write_streams",
]

FINDINGS_SCHEMA_VERSION = 1
# Text formats `write_findings` can add to findings.parquet, and the file each one writes.
FINDINGS_FORMATS = {"json": "findings.json", "csv": "findings.csv", "jsonl": "findings.jsonl"}
PARQUET_FILE = "findings.parquet"
PARQUET_METADATA_KEY = b"auditor.findings"
# Rows per step when writing: bounds the memory of each formatting step, not the result. Three
# batches are in flight (two being made, one written), ~1.2 KB of text a row each, and each batch
# has a fixed cost (~0.15 s of CPU over the controls). At a million resources halving 262,144
# took the peak from 5.07 to 4.91 GiB for 3% more CPU; a 10,000-resource audit (126,620 findings)
# written in 16 batches instead of one peaks ~370 MiB lower for ~2 s more CPU.
BATCH_ROWS = 131_072
MIN_BATCH_ROWS = 8_192
BATCHES_AT_LEAST = 16


def batch_rows(total: int) -> int:
    """Rows per batch for writing `total` findings: a sixteenth of them, within
    [MIN_BATCH_ROWS, BATCH_ROWS], so a small run never holds much of its text at once and a
    large one pays each batch's fixed cost on many rows."""
    return int(min(BATCH_ROWS, max(MIN_BATCH_ROWS, -(-total // BATCHES_AT_LEAST))))


# Each batch is written as one Parquet row group as it comes: gathering larger groups would hold
# the text of several batches at once (about 120 MB each at scale), for little gain in size.
# Columns with few distinct values: dictionary-encoded in Parquet (small, fast to read back).
_DICTIONARY_COLUMNS = [
    "resource_type",
    "account_id",
    "region",
    "control_id",
    "status",
    "severity",
    "plan",
]
# The findings columns, in file order: the one list every writer, reader and report uses.
# A new column is added here (and made by `auditor.controls.rows.FindingRows.part_text`).
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
# After COLUMNS, a findings table has one `tag_<key>` column per configured owner tag
# (auditor.owners): which ones depends on the run's --owner-tags.
# Columns the file writers take dictionary-encoded, as findings.parquet stores them: the short
# ones, the owner tags, and the remediation (a few long texts shared by millions of rows).
TYPED_COLUMNS = (*_DICTIONARY_COLUMNS, "remediation")


def columns_of(names: Iterable[str]) -> list[str]:
    """The findings columns of a table or frame with columns `names`: COLUMNS, then its owner tags."""
    from auditor.owners import owner_tag_columns_of

    return list(COLUMNS) + owner_tag_columns_of(n for n in names if n not in COLUMNS)


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
    _write_json(buffer, canonical_batches(findings), _head(findings, plans))
    return buffer.getvalue().decode("utf-8")


def parse_findings_formats(values: Iterable[str]) -> tuple[str, ...]:
    """`["json,csv", "jsonl"]` -> ("json", "csv", "jsonl"); empty -> ("json", "csv").

    Raises UsageError (exit 2) on a name that is not in `FINDINGS_FORMATS`.
    """
    names = [n.strip().lower() for item in values for n in str(item).split(",") if n.strip()]
    for name in names:
        if name not in FINDINGS_FORMATS:
            raise UsageError(
                f"--format {name!r} is not one of {', '.join(FINDINGS_FORMATS)}"
                " (findings.parquet is always written)"
            )
    return tuple(dict.fromkeys(names)) or ("json", "csv")


def write_findings(
    findings: Any,
    out_dir: str | Path,
    *,
    policies: Any = None,
    policy_path: str | Path | None = None,
    formats: Iterable[str] = ("json", "csv"),
) -> tuple[Path, ...]:
    """Write findings.parquet and each chosen text format into `out_dir`, each file atomically.

    `formats` picks among `FINDINGS_FORMATS` (json, csv, jsonl); the paths of those files are
    returned in that order (findings.parquet, always written, is `out_dir/findings.parquet`).
    Every file is written from one Arrow table in one canonical row order (`canonical_table`),
    whichever engine produced the findings, so the same verdicts always give the same bytes.
    With `policies` (and `policy_path`, the policy file or folder as given), findings.json and the
    Parquet metadata also list where each plan is declared (`plan_locations`), which SARIF turns
    into file locations.
    """
    chosen = parse_findings_formats(formats) if formats else ()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    plans = plan_locations(policies, policy_path) if policies is not None else None
    head = _head(findings, plans)
    paths = [out / FINDINGS_FORMATS[name] for name in FINDINGS_FORMATS if name in chosen]
    writers = [_WRITERS[name] for name in FINDINGS_FORMATS if name in chosen]
    write_streams(canonical_batches(findings, typed=True), out / PARQUET_FILE, paths, writers, head)
    return tuple(paths)


def write_streams(
    batches: Iterable[pa.RecordBatch],
    parquet: Path | None,
    paths: list[Path],
    writers: list[Any],
    head: dict[str, Any],
) -> None:
    """Write the batches into findings.parquet (unless None) and each of `paths` at once.

    Each batch of rows is made once and handed to every writer in turn, so the text of the
    findings exists one batch at a time whichever files are chosen; every file is atomic.
    """
    from contextlib import ExitStack

    with ExitStack() as stack:
        sinks = []
        if parquet is not None:
            sinks.append(_parquet_sink(stack.enter_context(open_atomic(parquet, "wb")), head))
        for path, writer in zip(paths, writers):
            sinks.append(writer(stack.enter_context(open_atomic(path, "wb")), head))
        for sink in sinks:
            next(sink)
        for batch in batches:
            for sink in sinks:
                sink.send(batch)
        for sink in sinks:
            sink.close()


# A writer is a generator: primed with next(), sent each batch, closed at the end (which
# writes its tail). Batches arrive in canonical order, as text, the columns of few values perhaps
# dictionary-encoded already (`typed_schema`); the Parquet writer encodes the others itself.
Sink = Generator[None, "pa.RecordBatch", None]


def _parquet_sink(handle: IO[bytes], head: dict[str, Any]) -> Sink:
    """The rows as Parquet, one row group per batch, the document's head (as_of, summary,
    controls...) in its metadata.

    The columns are those of the first batch (COLUMNS, then the run's owner tags)."""
    meta = {PARQUET_METADATA_KEY: jsonsafe.dumps(head, indent=None, newline=False).encode()}
    writer = schema = None
    try:
        while True:
            batch = yield
            if writer is None:
                schema = typed_schema(batch.schema.names).with_metadata(meta)
                writer = _parquet_writer(handle, schema)
            writer.write_batch(conform(batch, schema))
    except GeneratorExit:
        if writer is None:  # no batch came: the fixed columns, no rows
            schema = typed_schema().with_metadata(meta)
            writer = _parquet_writer(handle, schema)
            writer.write_table(schema.empty_table())
        writer.close()


def _parquet_writer(handle: IO[bytes], schema: pa.Schema) -> Any:
    """A Parquet writer of `schema` (`typed_schema`, with the head in its metadata).

    Every column may be dictionary-encoded in the file: the dictionary-typed ones as they come
    (they read back as dictionaries), and the text ones too while their values repeat (`detail`
    is one of a few sentences on most rows); a column of unique values (evidence, ARNs) falls back
    to plain pages once its dictionary page is full, and every text column still reads back as
    text (the schema says so). Against dictionaries for the dictionary-typed columns only, on the
    22.2M rows of `bench_check.py --scale 1`: the writer alone 12.2-13.6 s instead of 14.8-16.0 s,
    and a 519 MiB file instead of 657 MiB.
    """
    import pyarrow.parquet as pq

    return pq.ParquetWriter(handle, schema, use_dictionary=True, compression="snappy")


def _json_sink(handle: IO[bytes], head: dict[str, Any]) -> Sink:
    """findings.json: the head through the strict serializer, then the rows as Arrow-built JSON."""
    # The rows are JSON built by Arrow kernels (quoted strings, nulls as null, evidence as the
    # engine's JSON text), so no NaN can get in.
    text = jsonsafe.dumps(head, indent=1, newline=False)
    handle.write((text[:-2] + ',\n "findings": [').encode("utf-8"))
    first = True
    try:
        while True:
            batch = yield
            if not batch.num_rows:
                continue
            lines = _json_lines(batch, ",\n  ")
            # every row is preceded by ",\n  ", the first one by "\n  " alone
            handle.write(lines[1:] if first else lines)
            first = False
    except GeneratorExit:
        handle.write(b"\n ]\n}\n")


def _jsonl_sink(handle: IO[bytes], head: dict[str, Any]) -> Sink:
    """One finding object per line (the objects of findings.json, same order), nothing else."""
    while True:
        batch = yield
        if batch.num_rows:
            handle.write(_json_lines(batch, "", "\n"))


def _csv_sink(handle: IO[bytes], head: dict[str, Any]) -> Sink:
    """The rows as CSV (header first: the first batch's columns), by Arrow's CSV writer."""
    import pyarrow.csv as pacsv

    options = pacsv.WriteOptions(include_header=True, quoting_style="needed", batch_size=BATCH_ROWS)
    writer = None
    try:
        while True:
            batch = yield
            if writer is None:
                writer = pacsv.CSVWriter(handle, batch.schema, write_options=options)
            writer.write_batch(batch)
    except GeneratorExit:
        if writer is None:  # no batch came: the header of the fixed columns
            writer = pacsv.CSVWriter(handle, row_schema(), write_options=options)
        writer.close()


_WRITERS = {"json": _json_sink, "csv": _csv_sink, "jsonl": _jsonl_sink}


def _write_json(handle: IO[bytes], batches: Iterable[pa.RecordBatch], head: dict[str, Any]) -> None:
    _drive(_json_sink(handle, head), batches)


def _drive(sink: Sink, batches: Iterable[pa.RecordBatch]) -> None:
    next(sink)
    for batch in batches:
        sink.send(batch)
    sink.close()


def findings_jsonl_bytes(findings: Any) -> bytes:
    """findings.jsonl's bytes (what `write_findings` writes for jsonl), for reports and tests."""
    buffer = io.BytesIO()
    _drive(_jsonl_sink(buffer, {}), canonical_batches(findings))
    return buffer.getvalue()


def typed_schema(names: Iterable[str] = COLUMNS) -> pa.Schema:
    """`row_schema` with the columns of few values as dictionary<int32, string> (TYPED_COLUMNS
    and the owner tags): the schema of the batches the writers take, and of findings.parquet."""
    import pyarrow as pa

    columns = columns_of(names)
    typed = set(TYPED_COLUMNS) | set(columns[len(COLUMNS) :])
    text = pa.dictionary(pa.int32(), pa.string())
    return pa.schema([(c, text if c in typed else pa.string()) for c in columns])


def row_schema(names: Iterable[str] = COLUMNS) -> pa.Schema:
    """The findings columns of a table with columns `names` (COLUMNS, then its owner tags) as
    text: the schema of each batch of rows (`typed_schema` is findings.parquet's)."""
    import pyarrow as pa

    return pa.schema([(c, pa.string()) for c in columns_of(names)])


def canonical_batches(findings: Any, typed: bool = False) -> Iterator[pa.RecordBatch]:
    """The findings rows as text in the canonical order, `batch_rows` of them at a time
    (`row_schema`; with `typed`, the columns of few values may come dictionary-encoded, as
    `typed_schema` has them: what the file writers take).

    A check's findings make each batch's text from their compact verdicts (the order is
    sorted on integer codes first); findings read back from disk or gathered from tasks are
    sorted as text (`canonical_table`) and cut into batches. At least one batch comes, so
    the writers know the columns (COLUMNS, then the owner tags) even when there are no rows.
    """
    import pyarrow as pa

    made = (
        findings.batches(batch_rows(len(findings)), typed=typed)
        if hasattr(findings, "batches")
        else None
    )
    if made is not None:
        yield from made
        return
    table = canonical_table(findings)
    schema = (typed_schema if typed else row_schema)(table.column_names)
    batches = table.to_batches(batch_rows(table.num_rows)) or [
        pa.RecordBatch.from_arrays([pa.array([], f.type) for f in schema], schema=schema)
    ]
    for batch in batches:
        yield conform(batch, schema)


def conform(batch: pa.RecordBatch, schema: pa.Schema) -> pa.RecordBatch:
    """`batch` with each column as `schema` types it: text, or dictionary-encoded text (a column
    already of that type is kept as it is)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    columns = []
    for i, field in enumerate(schema):
        column = batch.column(i)
        if column.type != field.type:
            column = column.cast(pa.string())
            if pa.types.is_dictionary(field.type):
                column = pc.dictionary_encode(column)
        columns.append(column)
    return pa.RecordBatch.from_arrays(columns, schema=schema)


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
    """The findings as an Arrow table (`evidence` as JSON text) in the canonical order.

    The order is account, region, resource ARN, control (in the registry's order), plan, then the
    remaining columns as tie-breakers, nulls first: a total order that does not depend on how the
    rows were produced (one process, or per-account Dask tasks gathered in completion order).
    The long text columns are large strings (millions of findings pass 2 GiB of text); the
    columns of few values are dictionary-encoded, which the writers' bytes do not depend on.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    from auditor.controls import REGISTRY

    table = _findings_table(findings)
    names = columns_of(table.column_names)
    table = table.select(names)
    # owner tags have few distinct values: encoded like the other short columns
    short = set(_DICTIONARY_COLUMNS) | set(names[len(COLUMNS) :])
    columns = {c: table[c].cast(pa.string() if c in short else pa.large_string()) for c in names}
    del table  # when nothing else holds the rows, each column is freed once it is sorted
    order = None
    if len(columns["control_id"]) > 1:
        rank = pc.index_in(columns["control_id"], value_set=pa.array(list(REGISTRY), pa.string()))
        keyed = pa.table({**columns, "_control": rank})
        keys = [(c, "ascending", "at_start") for c in _SORT_COLUMNS]
        order = pc.sort_indices(keyed, sort_keys=keys)
        del keyed, rank
    out = {}
    for name in names:
        column = columns.pop(name)
        if order is not None:
            column = column.take(order)
        if name in short:
            column = pc.dictionary_encode(column)
        out[name] = column
        del column
    return pa.table(out)


def _findings_table(findings: Any) -> pa.Table:
    """The findings' rows as Arrow strings: the engine's table when it made one, else the frame's."""
    table = findings.arrow() if hasattr(findings, "arrow") else None
    return table if table is not None else _table_from_frame(findings.frame)


def _table_from_frame(frame: pd.DataFrame) -> pa.Table:
    """Arrow strings from a findings frame (rows read back from disk, or Dask tasks' rows).

    Missing values (None, NaN, pd.NA) become null; `evidence` dicts become the same compact JSON
    text the engine writes (their key order kept), so rows that went through `json.loads` of
    that text turn back into the identical bytes.
    """
    import pyarrow as pa

    columns = {}
    for col in columns_of(frame.columns):
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


def _json_lines(batch: pa.RecordBatch, before: str, after: str = "") -> memoryview:
    """The batch's findings as JSON objects, `before` + object + `after` each, as bytes.

    Each object is built column-wise with Arrow string kernels; the bytes are the result's data
    buffer as it is, so no Python object per row is ever made.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    from auditor.controls.engine import json_quote

    pieces = []
    for col in columns_of(batch.schema.names):
        value = batch.column(col).cast(pa.string())
        value = (
            value.fill_null("{}") if col == "evidence" else pc.coalesce(json_quote(value), "null")
        )
        pieces.append(pc.binary_join_element_wise(json.dumps(col) + ": ", value, ""))
    body = pc.binary_join_element_wise(*pieces, ", ")
    return _string_bytes(pc.binary_join_element_wise(before + "{", body, "}" + after, ""))


def _string_bytes(values: pa.Array) -> memoryview:
    """The concatenation of a null-free string array's values: a view of its data buffer."""
    import numpy as np
    import pyarrow as pa

    _, offsets, data = values.buffers()
    if data is None:
        return memoryview(b"")
    wide = pa.types.is_large_string(values.type)
    ends = np.frombuffer(offsets, dtype=np.int64 if wide else np.int32)
    return memoryview(data)[ends[values.offset] : ends[values.offset + len(values)]]


def read_findings(path: str | Path, *, parse_evidence: bool = True):
    """Read findings back into a `Findings` object: findings.json, findings.parquet, or a folder.

    A folder is read through its findings.json, else its findings.parquet (what `check` always
    writes). Without `parse_evidence`, findings.parquet's evidence stays JSON text (`JsonText`,
    a fraction of the memory of a dict per finding; reports parse the evidence they show).
    Raises InputError naming the file when it is missing, unreadable, or of another schema
    version.
    """
    from auditor.controls.engine import Findings

    path = Path(path)
    if path.is_dir():
        path = path / "findings.json" if (path / "findings.json").is_file() else path / PARQUET_FILE
    if path.suffix == ".parquet":
        head, frame = read_parquet_head(path), _parquet_frame(path, parse_evidence=parse_evidence)
    else:
        head, frame = _read_json_document(path)
    try:
        as_of = datetime.fromisoformat(str(head.get("as_of")).replace("Z", "+00:00"))
    except ValueError:
        raise InputError(f"{path}: 'as_of' is not an ISO 8601 time") from None
    summary = head.get("summary") if isinstance(head.get("summary"), dict) else None
    return Findings(as_of, frame=frame, summary=summary)


def _missing(path: Path) -> InputError:
    return InputError(f"{path}: no findings file (run `auditor check` first)")


def _check_version(path: Path, doc: Any) -> None:
    if not isinstance(doc, dict) or doc.get("schema_version") != FINDINGS_SCHEMA_VERSION:
        found = doc.get("schema_version") if isinstance(doc, dict) else None
        raise InputError(
            f"{path}: findings schema version {found!r}, this program reads {FINDINGS_SCHEMA_VERSION}"
        )


def _read_json_document(path: Path) -> tuple[dict[str, Any], pd.DataFrame]:
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise _missing(path) from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"{path}: not a findings file ({str(exc).splitlines()[0]})") from None
    _check_version(path, doc)
    rows = doc.get("findings")
    if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
        raise InputError(f"{path}: 'findings' must be a list of objects")
    names = columns_of(rows[0]) if rows else list(COLUMNS)
    frame = (
        pd.DataFrame.from_records(rows, columns=names)
        if rows
        else pd.DataFrame({c: pd.Series(dtype=object) for c in names})
    )
    return doc, frame.astype(object).where(frame.notna(), None)


def read_parquet_head(path: str | Path) -> dict[str, Any]:
    """findings.parquet's document head (schema_version, as_of, summary, controls, plans).

    Reads only the file's footer. Raises InputError naming the file when it is missing, not
    Parquet, carries no findings metadata, or is of another schema version.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = Path(path)
    try:
        schema = pq.read_schema(path)
    except FileNotFoundError:
        raise _missing(path) from None
    except (OSError, pa.ArrowException) as exc:
        raise InputError(f"{path}: not a findings file ({str(exc).splitlines()[0]})") from None
    raw = (schema.metadata or {}).get(PARQUET_METADATA_KEY)
    try:
        head = json.loads(raw) if raw else None
    except (UnicodeDecodeError, json.JSONDecodeError):
        head = None
    if not isinstance(head, dict) or not set(COLUMNS) <= set(schema.names):
        raise InputError(f"{path}: not a findings file (no auditor findings metadata or columns)")
    _check_version(path, head)
    return head


def _parquet_frame(path: Path, *, parse_evidence: bool = True) -> pd.DataFrame:
    """The rows of findings.parquet as a frame of Python strings (None for null), `evidence`
    parsed to dicts, or, without `parse_evidence`, kept as its JSON text (`JsonText`).

    Read a column and a row group at a time, and equal values share one Python string: a
    10,000-resource audit's 126,620 findings take ~60 MiB so, where a string per cell and a
    parsed dict per evidence took ~330 MiB.
    """
    import pyarrow.parquet as pq

    names = columns_of(pq.read_schema(path).names)
    columns: dict[str, Any] = {}
    # every column read as a dictionary: each distinct value's text is decoded once
    with pq.ParquetFile(path, read_dictionary=names) as source:
        for name in names:
            if name != "evidence":
                columns[name] = pd.Series(_shared_strings(source, name), dtype=object)
            elif parse_evidence:
                texts = _shared_strings(source, name)
                columns[name] = [json.loads(x) if x else {} for x in texts]
            else:
                columns[name] = pd.Series(
                    _shared_strings(source, name, jsonsafe.JsonText), dtype=object
                )
    # copy=False: the columns stay as made, not consolidated into one copied block
    return pd.DataFrame(columns, columns=names, copy=False)


def _shared_strings(source: Any, name: str, wrap: Any = None) -> np.ndarray:
    """Column `name` of a ParquetFile as an object array in which equal values are one Python
    string (made once, through `wrap` when given); None where null."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    made: dict[str, Any] = {}
    parts = [np.empty(0, dtype=object)]
    for group in range(source.num_row_groups):
        for chunk in source.read_row_group(group, columns=[name]).column(0).chunks:
            if not pa.types.is_dictionary(chunk.type):
                chunk = pc.dictionary_encode(chunk)
            words = chunk.dictionary.cast(pa.string()).to_pylist()
            shared = [made.setdefault(w, wrap(w) if wrap else w) for w in words]
            values = np.array([*shared, None], dtype=object)
            codes = chunk.indices.fill_null(len(shared)).to_numpy(zero_copy_only=False)
            parts.append(values[codes])
    return np.concatenate(parts)


def findings_csv_text(findings: Any) -> str:
    """findings.csv's text (the bytes `write_findings` writes), for small results and tests."""
    buffer = io.BytesIO()
    _drive(_csv_sink(buffer, {}), canonical_batches(findings))
    return buffer.getvalue().decode("utf-8")
