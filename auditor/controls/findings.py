"""Findings: the verdicts of one check, summarised at once and turned into rows only when asked.

Controls return compact `Part`s (codes and evidence columns); `Findings.frame` turns them into the
findings rows (with the one-sentence `detail` and the `evidence` object) only when asked, so the
verdicts and the summary of a million resources cost no string formatting.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

import numpy as np
import pandas as pd
import pyarrow as pa

from auditor.controls.context import Context
from auditor.controls.rows import ROW_SCHEMA, FindingRows
from auditor.controls.verdicts import FAIL, STATUSES, Part
from auditor.findings import COLUMNS as FINDING_COLUMNS
from auditor.policy.columns import codes_of

__all__ = ["FINDING_COLUMNS", "Findings", "materialise_arrow", "summarise_frame"]


class Findings:
    """The verdicts of one check: `frame` (one row per finding), `summary` (counts), `as_of`."""

    def __init__(
        self,
        as_of: datetime,
        parts: list[Part] | None = None,
        ctx: Context | None = None,
        frame: pd.DataFrame | None = None,
        summary: dict | None = None,
    ):
        self.as_of = as_of
        self._parts = parts or []
        self._ctx = ctx
        self._frame = frame
        self._arrow: pa.Table | None = None
        self._rows: FindingRows | None = None
        self.summary = summary if summary is not None else self._summarise()

    def __len__(self) -> int:
        return self.summary.get("total", 0)

    @property
    def has_failures(self) -> bool:
        """True when any finding is FAIL (the CLI's exit 3)."""
        return self.summary.get("by_status", {}).get("FAIL", 0) > 0

    def _summarise(self) -> dict:
        if self._frame is not None:
            return summarise_frame(self._frame)
        ctx = self._ctx
        # Without a ready frame the findings were built by a check, which always has a context.
        assert ctx is not None
        k = len(STATUSES)
        acc_codes, acc_names = (
            codes_of(ctx.res["account_id"]) if ctx.n else (np.empty(0, np.int32), [])
        )
        reg_codes, reg_names = codes_of(ctx.res["region"]) if ctx.n else (np.empty(0, np.int32), [])
        by_status = np.zeros(k, dtype=np.int64)
        by_plan = np.zeros((len(ctx.plans), k), dtype=np.int64)
        by_acc = np.zeros((len(acc_names) + 1, k), dtype=np.int64)  # last row: unknown
        by_reg = np.zeros((len(reg_names) + 1, k), dtype=np.int64)
        by_control: dict = {}
        extra_acc: dict = {}
        extra_reg: dict = {}
        for part in self._parts:
            f = part.frame
            status = f["status"].to_numpy().astype(np.int64)
            counts = np.bincount(status, minlength=k)
            by_status += counts
            by_control[part.control_id] = {STATUSES[i]: int(c) for i, c in enumerate(counts) if c}
            plan = f["plan"].to_numpy().astype(np.int64)
            has_plan = plan >= 0
            if has_plan.any():
                by_plan += np.bincount(
                    plan[has_plan] * k + status[has_plan], minlength=len(ctx.plans) * k
                ).reshape(-1, k)
            ridx = f["ridx"].to_numpy()
            own = ridx >= 0
            for codes, names, table in (
                (acc_codes, acc_names, by_acc),
                (reg_codes, reg_names, by_reg),
            ):
                c = codes[ridx[own]].astype(np.int64) if len(codes) else np.empty(0, np.int64)
                c = np.where(c < 0, len(names), c)
                table += np.bincount(c * k + status[own], minlength=(len(names) + 1) * k).reshape(
                    -1, k
                )
            if (~own).any():
                for col, extra in (("account_id", extra_acc), ("region", extra_reg)):
                    _count_own_places(f, col, ~own, status, extra)

        def table_dict(table, names, extra):
            out: dict = {}
            for i, name in enumerate(list(names) + ["unknown"]):
                row = {STATUSES[j]: int(c) for j, c in enumerate(table[i]) if c}
                if row:
                    out[name] = row
            for name, row in extra.items():
                slot = out.setdefault(name, {})
                for st, c in row.items():
                    slot[st] = slot.get(st, 0) + c
            return dict(sorted(out.items()))

        plans = {}
        for i, plan in enumerate(ctx.plans):
            row = {STATUSES[j]: int(c) for j, c in enumerate(by_plan[i]) if c}
            if row:
                plans[plan.name] = row
        return {
            "total": int(by_status.sum()),
            "by_status": {STATUSES[i]: int(c) for i, c in enumerate(by_status) if c},
            "by_control": by_control,
            "by_plan": plans,
            "by_account": table_dict(by_acc, acc_names, extra_acc),
            "by_region": table_dict(by_reg, reg_names, extra_reg),
            "resources": int(ctx.n),
            "resources_in_scope": int(ctx.in_scope.sum()),
            "plans": [p.name for p in ctx.plans],
        }

    @property
    def frame(self) -> pd.DataFrame:
        """One row per finding with the findings columns (FINDING_COLUMNS, then the owner-tag
        columns) (built on first access)."""
        if self._frame is None:
            self._frame = _materialise(self._parts, self._ctx, self.arrow())
        return self._frame

    def arrow(self) -> pa.Table | None:
        """The findings as an Arrow table (`evidence` as JSON text), or None when read back from disk."""
        if self._arrow is None and self._ctx is not None:
            self._arrow = materialise_arrow(self._parts, self._ctx)
        return self._arrow

    def rows(self) -> FindingRows | None:
        """The rows of a check's verdicts (canonical order, text by batch); None when read back."""
        if self._rows is None and self._ctx is not None:
            self._rows = FindingRows(self._parts, self._ctx)
        return self._rows

    def batches(self, batch_rows: int, typed: bool = False) -> Iterator[pa.RecordBatch] | None:
        """The findings rows (text, canonical order) `batch_rows` at a time; None when the
        findings were read back from disk or gathered from tasks (their rows are in `frame`).
        `typed`: rows made now keep the columns of few values dictionary-encoded
        (`auditor.findings.typed_schema`), for the file writers; rows made already stay text."""
        if self._arrow is not None:
            # at least one batch, so the writers know the columns when there are no rows
            empty = pa.RecordBatch.from_pylist([], schema=self._arrow.schema)
            return iter(self._arrow.to_batches(batch_rows) or [empty])
        rows = self.rows()
        return rows.batches(batch_rows, typed=typed) if rows is not None else None

    def failing(self, columns: tuple[str, ...]) -> pa.Table | None:
        """The FAIL findings' `columns` (text), made for those rows only; None when read back."""
        if self._ctx is None:
            return None
        rows = self.rows()
        assert rows is not None  # a check's findings have a context
        tables = [
            rows.part_text(part, np.flatnonzero(part.frame["status"].to_numpy() == FAIL), columns)
            for part in rows.parts
        ]
        if tables:
            return pa.concat_tables(tables)
        return rows.schema.empty_table().select(list(columns))


def summarise_frame(frame: pd.DataFrame) -> dict:
    """The summary of a findings frame (used when findings are read back from disk)."""

    def counts(col: str) -> dict:
        if not len(frame):
            return {}
        table = frame.groupby([frame[col].fillna("unknown"), "status"]).size()
        out: dict = {}
        for (k, s), c in table.items():
            out.setdefault(k, {})[s] = int(c)
        return dict(sorted(out.items()))

    by_status = frame["status"].value_counts().to_dict() if len(frame) else {}
    return {
        "total": len(frame),
        "by_status": {s: int(by_status[s]) for s in STATUSES if s in by_status},
        "by_control": counts("control_id"),
        "by_plan": counts("plan") if len(frame) and frame["plan"].notna().any() else {},
        "by_account": counts("account_id"),
        "by_region": counts("region"),
    }


def materialise_arrow(parts: list[Part], ctx: Context | None) -> pa.Table:
    """Every finding as one Arrow table of text: FINDING_COLUMNS then one `tag_<key>` column per
    owner tag of the context (auditor.owners), `evidence` as JSON text, in canonical order.

    For small results and tests: the findings files are written a batch at a time instead
    (`Findings.batches`), so the text of every row is never held at once.
    """
    if ctx is None:
        return ROW_SCHEMA.empty_table()
    rows = FindingRows(parts, ctx)
    return pa.Table.from_batches(list(rows.batches(1 << 20)), schema=rows.schema)


def _materialise(
    parts: list[Part], ctx: Context | None, table: pa.Table | None = None
) -> pd.DataFrame:
    """The findings frame: strings as Python objects, `evidence` as dicts (parsed from the JSON text)."""
    import json

    table = materialise_arrow(parts, ctx) if table is None else table
    frame = pd.DataFrame(
        {c: table[c].to_numpy(zero_copy_only=False) for c in table.column_names if c != "evidence"}
    )
    frame = frame.astype(object).where(frame.notna(), None)
    frame["evidence"] = [json.loads(x) for x in table["evidence"].to_pylist()]
    return frame[table.column_names]


def _count_own_places(
    f: pd.DataFrame, col: str, rows: np.ndarray, status: np.ndarray, extra: dict
) -> None:
    """Add the statuses of `rows` (rows about a backup, which carry their own place) to `extra`
    by their `col` ("unknown" when missing or empty): label -> status -> count, each label and
    each of its statuses first seen first, as a row-by-row count would add them."""
    labels = pd.Series(
        f[col].to_numpy(dtype=object)[rows] if col in f else np.full(rows.sum(), None, object),
        dtype=object,
    )
    labels = labels.where(labels.notna() & labels.ne(""), "unknown")
    pairs = pd.DataFrame({"label": labels.to_numpy(), "status": status[rows]})
    for (label, st), count in pairs.groupby(["label", "status"], sort=False).size().items():
        slot = extra.setdefault(label, {})
        slot[STATUSES[st]] = slot.get(STATUSES[st], 0) + int(count)
