"""Findings: the verdicts of one check, summarised at once and turned into rows only when asked.

Controls return compact `Part`s (codes and evidence columns); `Findings.frame` turns them into the
findings rows (with the one-sentence `detail` and the `evidence` object) only when asked, so the
verdicts and the summary of a million resources cost no string formatting.
"""

from __future__ import annotations

from datetime import datetime

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from auditor.controls.context import Context
from auditor.controls.evidence import arrow_text, evidence_json
from auditor.controls.verdicts import FAIL, NOT_APPLICABLE, NOT_ASSESSED, STATUSES, WAIVED, Part
from auditor.owners import owner_columns, owner_tag_arrays
from auditor.policy.columns import arrow_of, codes_of

__all__ = ["FINDING_COLUMNS", "Findings", "materialise_arrow", "summarise_frame"]

FINDING_COLUMNS = (
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
    "remediation",
    "resource_name",
)
# Statuses that call for a change, and so carry a remediation (other rows leave it null).
_ACTIONABLE = (FAIL, WAIVED, NOT_ASSESSED)


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
        self._arrow = None
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
                    labels = (
                        f[col].to_numpy(dtype=object)[~own]
                        if col in f
                        else np.full((~own).sum(), None, object)
                    )
                    for label, st in zip(labels, status[~own]):
                        slot = extra.setdefault(
                            label if isinstance(label, str) and label else "unknown", {}
                        )
                        slot[STATUSES[st]] = slot.get(STATUSES[st], 0) + 1

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
    """Every finding as an Arrow table: FINDING_COLUMNS then one `tag_<key>` column per owner tag
    of the context (auditor.owners), `evidence` as JSON text, sorted."""
    from auditor.controls.registry import REGISTRY

    tables = []
    waivers = ctx.policies.waivers if ctx else []
    for part in parts:
        f = part.frame
        if not len(f):
            continue
        # Parts are only made by a check, which always has a context.
        assert ctx is not None
        ridx = f["ridx"].to_numpy()
        has = pa.array(ridx >= 0)
        safe = pa.array(np.maximum(ridx, 0))
        cols = {}
        for col in ("resource_arn", "resource_type", "account_id", "region"):
            own = (
                arrow_text(f[col].to_numpy(dtype=object, na_value=None))
                if col in f
                else pa.nulls(len(f), pa.string())
            )
            if ctx.n:
                cols[col] = pc.if_else(
                    has, arrow_of(ctx.res[col]).cast(pa.string()).take(safe), own
                )
            else:
                cols[col] = own
        cols["resource_name"] = _resource_names(ctx, ridx)
        cols.update(owner_tag_arrays(ctx.view, ctx.inventory["tags"], ctx.owner_tags, ridx))
        status = f["status"].to_numpy().astype(np.int64)
        cols["control_id"] = pa.array([part.control_id] * len(f), type=pa.string())
        cols["status"] = pa.DictionaryArray.from_arrays(
            pa.array(status.astype(np.int32)), pa.array(STATUSES)
        ).cast(pa.string())
        cols["severity"] = pa.array([REGISTRY[part.control_id].severity] * len(f), type=pa.string())
        names = [p.name for p in ctx.plans] if ctx else []
        plan = f["plan"].to_numpy().astype(np.int32)
        cols["plan"] = (
            pa.DictionaryArray.from_arrays(
                pa.array(plan, mask=plan < 0), pa.array(names, type=pa.string())
            ).cast(pa.string())
            if names
            else pa.nulls(len(f), pa.string())
        )
        detail = _details(part, status, ctx)
        cols["detail"] = arrow_text(detail)
        ev = (
            f[[c for c in f.columns if c.startswith("ev.")]]
            .rename(columns=lambda c: c[3:])
            .reset_index(drop=True)
        )
        if part.evidence_hook is not None:
            for name, values in part.evidence_hook(f, ctx).items():
                ev[name] = (
                    values.reset_index(drop=True) if isinstance(values, pd.Series) else values
                )
        if "na_error" in f:
            err = f["na_error"].to_numpy()
            table = np.array(
                [ctx.error_text(i) for i in range(len(ctx.errors))] + [None], dtype=np.object_
            )
            ev["collection_error"] = pd.Series(
                table[np.where(err >= 0, err, len(ctx.errors))], dtype=object
            )
        for column, fields in (
            ("waiver", ("reason", "owner", "expires", "source")),
            ("expired_waiver", None),
        ):
            if column not in f:
                continue
            w = f[column].to_numpy()
            if fields is None:
                table = np.array(
                    [f"expired {x.expires_text}: {x.reason}" for x in waivers] + [None],
                    dtype=object,
                )
                ev["expired_waiver"] = table[np.where(w >= 0, w, len(waivers))]
                continue
            for field in fields:
                values = [
                    {
                        "reason": x.reason,
                        "owner": x.owner,
                        "expires": x.expires_text,
                        "source": f"{x.source_file}:{x.source_line}",
                    }[field]
                    for x in waivers
                ]
                ev[f"waiver.{field}"] = np.array(values + [None], dtype=object)[
                    np.where(w >= 0, w, len(waivers))
                ]
        cols["evidence"] = evidence_json(ev)
        cols["remediation"] = _remediation(part, ctx, status)
        tables.append(pa.table(cols))
    columns = list(FINDING_COLUMNS) + owner_columns(ctx.owner_tags if ctx else ())
    schema = pa.schema([(c, pa.string()) for c in columns])
    if not tables:
        return schema.empty_table()
    table = pa.concat_tables([t.select(columns).cast(schema) for t in tables])
    order = {cid: i for i, cid in enumerate(REGISTRY)}
    control_rank = pc.index_in(table["control_id"], value_set=pa.array(list(order)))
    table = table.append_column("_c", control_rank)
    keys = [
        (name, "ascending", "at_start")
        for name in ("account_id", "region", "resource_arn", "_c", "plan")
    ]
    table = table.take(pc.sort_indices(table, sort_keys=keys))
    return table.drop_columns(["_c"])


def _details(part: Part, status: np.ndarray, ctx: Context) -> np.ndarray:
    """The one-sentence detail per row: the control's own, or why it was not applicable/assessed,
    with the waiver that applied."""
    f = part.frame
    detail = np.array(part.describe(f, ctx), dtype=np.object_)  # a Series or an array
    if "na_reason" in f:
        about = f["na_reason"].to_numpy()
        na = (status == NOT_APPLICABLE) & (about >= 0)
        detail[na] = [f"Not applicable: {ctx.scope_reason[i]}." for i in about[na]]
    if "na_error" in f:
        err = f["na_error"].to_numpy()
        na = (status == NOT_ASSESSED) & (err >= 0)
        if na.any():
            texts = {i: ctx.error_text(i) for i in np.unique(err[na])}
            detail[na] = [
                f"Not assessed: {texts[i]}, so the data this control needs is incomplete."
                for i in err[na]
            ]
    if "waiver" in f:
        waivers = ctx.policies.waivers
        w = f["waiver"].to_numpy()
        waived = (status == WAIVED) & (w >= 0)
        if waived.any():
            detail[waived] = [
                f"{d} Waived until {waivers[i].expires_text}: {waivers[i].reason}"
                for d, i in zip(detail[waived], w[waived])
            ]
    return detail


def _resource_names(ctx: Context | None, ridx: np.ndarray) -> pa.Array:
    """Each row's resource's `Name` tag (null without one, or for rows about a backup)."""
    if ctx is None or not ctx.n:
        return pa.nulls(len(ridx), pa.string())
    codes, categories = ctx.view.codes("Name")  # factorised once per check (TagView caches)
    names = pa.DictionaryArray.from_arrays(
        pa.array(codes.astype(np.int32), mask=codes < 0), pa.array(list(categories), pa.string())
    )
    taken = names.take(pa.array(np.maximum(ridx, 0))).cast(pa.string())
    return pc.if_else(pa.array(ridx >= 0), taken, pa.nulls(len(ridx), pa.string()))


# What to do about a finding that could not be assessed: the data is missing, not the protection.
_NOT_ASSESSED_REMEDIATION = (
    "Grant the auditing role the permission the failed call needs (see evidence.collection_error),"
    " or fix the account or region it failed in, then run again."
)


def _remediation(part: Part, ctx: Context | None, status: np.ndarray) -> pa.Array:
    """Per row: the control's own text for this situation (`Part.remediate`), else the
    registration's default; for NOT_ASSESSED rows, how to make the data available; null for rows
    that need no change (PASS, NOT_APPLICABLE)."""
    from auditor.controls.registry import REGISTRY

    default = REGISTRY[part.control_id].remediation
    text = pa.array(np.full(len(status), default, dtype=object), pa.string())
    if part.remediate is not None and ctx is not None:
        own = arrow_text(np.asarray(part.remediate(part.frame, ctx), dtype=object))
        text = pc.coalesce(own, text)
    text = pc.if_else(pa.array(status == NOT_ASSESSED), _NOT_ASSESSED_REMEDIATION, text)
    return pc.if_else(
        pa.array(np.isin(status, _ACTIONABLE)), text, pa.nulls(len(status), pa.string())
    )


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
