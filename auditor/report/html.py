"""report.html: one self-contained page (inline CSS, SVG and script; no network, autoescaped).

The top of the page answers at a glance (compliance, FAILs by severity, failing resources, why
anything is NOT_ASSESSED, cost as a range, a control/plan by account matrix). Every finding is in
the page as compact dictionary-encoded JSON; the inline script filters, sorts and pages over all of
them, says how many match, and shows each resource's backups timeline; it marks `<html data-report-ready="1">` when it has run and
records any script error in `#script-error`, which the browser test reads.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from markupsafe import Markup

from auditor import __version__
from auditor.owners import OWNER_COLUMN_PREFIX, owner_tag_columns_of
from auditor.report import charts
from auditor.report.jobs import job_section
from auditor.report.markdown import error_groups
from auditor.report.model import (
    BACKUP_CONTROLS,
    STATUSES,
    Results,
    breakdown,
    compliance_pct,
    cost_by,
    cost_by_tags,
    evidence_of,
    failing_resource_count,
    fails_by_severity,
    reading_order,
    resource_count,
    status_counts,
)
from auditor.report.templating import environment
from auditor.restore import newest_backup_restore

TIMELINE_DAYS = 90
TIMELINE_POINTS = 120
# Evidence is the bulky part of a finding: the page keeps it for the first findings (failing
# first) up to this many characters, each finding's up to EVIDENCE_CHARS; findings.json has all.
EVIDENCE_BUDGET = 3_000_000
# Findings the page carries, failing first: ~45 bytes each, so 200,000 keep it near 9 MB, what a
# browser opens and filters at once. Counts, breakdowns and the matrix are always of every finding;
# an estate with more says how many the page holds and where the rest are (findings.parquet).
HTML_ROWS = 200_000
EVIDENCE_CHARS = 2000
# Characters of the page in one piece as it is written (the embedded data is cut into slices of
# this size): large enough that writing costs nothing, small beside the page.
PIECE_CHARS = 1 << 20
MATRIX_ACCOUNTS = 12
TIMELINE_RESOURCES = 2000
ROW_COLUMNS = (
    "status",
    "severity",
    "control_id",
    "resource_arn",
    "resource_type",
    "account_id",
    "region",
    "plan",
    "detail",
    "evidence",
)
# Shown when the findings carry them (remediation comes with newer findings files); so are the
# owner-tag columns (`tag_<key>`, auditor.owners), whichever keys the run was given.
OPTIONAL_COLUMNS = ("remediation", "resource_name")


def _as_of(results: Results) -> pd.Timestamp | None:
    try:
        ts = pd.Timestamp(results.as_of)
    except (ValueError, TypeError):
        return None
    return ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")


def _dictionary(values: pd.Series | pa.Array) -> tuple[np.ndarray, list[Any]]:
    """A column as (codes, distinct values): repeated strings are sent once (null becomes "").

    The codes stay a NumPy array (4 bytes a row): as Python lists, a page of 126,000 findings
    held ~60 MiB of int objects while it was rendered; `json_text` writes them as lists.
    """
    if isinstance(values, pd.Series) and values.dtype == object:
        # Findings read back share one Python string per distinct value: encoded as they are,
        # no text is copied (through Arrow, every value's text was, then every distinct one's).
        codes, uniques = pd.factorize(values.fillna(""))
        if pd.api.types.infer_dtype(uniques, skipna=False) == "string":
            return codes.astype(np.int32), uniques.tolist()
    if isinstance(values, pa.Array):
        array = values
    else:  # Arrow-backed or typed columns convert without a Python object per value
        array = pa.array(values, from_pandas=True)
        if isinstance(array, pa.ChunkedArray):
            array = array.combine_chunks()
    if not pa.types.is_string(array.type):
        array = pc.cast(array, pa.string())
    encoded = pc.dictionary_encode(pc.fill_null(array, ""))
    return encoded.indices.to_numpy(zero_copy_only=False), encoded.dictionary.to_pylist()


def _evidence_column(evidence: pd.Series, budget: int) -> tuple[np.ndarray, list[str]]:
    """Evidence as JSON text, dictionary-encoded, kept in reading order until `budget` characters.

    Serialising stops once the budget is spent (the rest are -1: findings.json has them); the same
    evidence object repeated is serialised once.
    """
    codes = np.full(len(evidence), -1, dtype=np.int32)
    uniques: list[str] = []
    index_of: dict[str, int] = {}
    text_of: dict[int, str] = {}
    spent, full = 0, False
    for row, value in enumerate(evidence.tolist()):
        text = text_of.get(id(value))
        if text is None:
            if full:
                continue
            text = json.dumps(evidence_of(value), sort_keys=True, default=str)[:EVIDENCE_CHARS]
            text_of[id(value)] = text
        code = index_of.get(text)
        if code is None:
            if full or spent + len(text) > budget:
                full = True
                continue
            spent += len(text)
            code = index_of[text] = len(uniques)
            uniques.append(text)
        codes[row] = code
    return codes, uniques


def findings_payload(rows: pd.DataFrame, evidence_budget: int = EVIDENCE_BUDGET) -> dict[str, Any]:
    """Every finding of `rows` (already in reading order) as dictionary-encoded columns.

    `{"n", "columns", "codes": {col: int array}, "values": {col: [str]}}`; a row's value of `col` is
    `values[col][codes[col][i]]` (-1: left out). A resource ARN is split at its last "/" or ":"
    into a shared head and a tail, so an account's many ARNs share their prefix. Evidence is kept
    for the first findings (failing first) until `evidence_budget` characters; findings.json has it all.
    """
    payload: dict[str, Any] = {"n": len(rows), "columns": [], "codes": {}, "values": {}}
    if not len(rows):
        return payload
    columns = [c for c in ROW_COLUMNS if c in rows.columns and c != "resource_arn"]
    optional = [*OPTIONAL_COLUMNS, *owner_tag_columns_of(rows.columns)]
    columns += [c for c in optional if c in rows.columns and rows[c].notna().any()]
    arn = pa.array(rows["resource_arn"].astype(object), type=pa.string(), from_pandas=True)
    parts = pc.extract_regex(pc.fill_null(arn, ""), r"^(?P<head>.*[/:])?(?P<tail>[^/:]*)$")
    frame: dict[str, Any] = {
        "arn_head": pc.fill_null(parts.field("head"), ""),
        "arn_tail": pc.fill_null(parts.field("tail"), ""),
        **{c: rows[c] for c in columns if c != "evidence"},
    }
    for name, column in frame.items():
        payload["codes"][name], payload["values"][name] = _dictionary(column)
    payload["codes"]["evidence"], payload["values"]["evidence"] = _evidence_column(
        rows["evidence"], evidence_budget
    )
    payload["columns"] = ["resource_arn", *columns]
    return payload


def json_text(value: Any) -> str:
    """`value` as compact JSON (NumPy arrays as lists), not yet safe inside <script>: see
    `script_safe`."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=_plain)


# Characters that could end a <script> element or a JavaScript string, as JSON escapes: one
# character each, so any slice of the text can be made safe on its own.
_SCRIPT_ESCAPES = str.maketrans(
    {c: f"\\u{ord(c):04x}" for c in ("<", ">", "&", "\u2028", "\u2029")}
)


def script_safe(text: str) -> Markup:
    """JSON text safe inside a <script> element: no "</" (nor any "<", ">" or "&") can close it."""
    return Markup(text.translate(_SCRIPT_ESCAPES))


def _plain(value: Any) -> Any:
    """What JSON writes for an object it does not know: a NumPy array as a list (one array's
    ints exist at a time, while it is written), anything else as its text."""
    return value.tolist() if isinstance(value, np.ndarray) else str(value)


def timelines_payload(results: Results, arns: list[str]) -> dict[str, Any]:
    """Each listed resource's backups in the last TIMELINE_DAYS days before as_of, from the inventory.

    Returns {"start", "end", "resources": {arn: [[iso, source, status, storage_class, size_gb], ...]},
    "restore": {arn: {"backup", "paths": [[target, where, command, doc], ...], "note"}}}: how each
    resource's newest completed backup can be restored, and a note when no backup of it can be
    restored outside its own region.
    """
    inventory = results.inventory
    end = _as_of(results)
    if inventory is None or end is None or not arns:
        return {}
    start = end - timedelta(days=TIMELINE_DAYS)
    rp = inventory.recovery_points
    rp = rp[rp["resource_arn"].isin(set(arns)) & rp["created_at"].notna()]
    rp = rp[(rp["created_at"] >= start) & (rp["created_at"] <= end)]
    payload: dict[str, Any] = {
        "start": start.isoformat(),
        "end": end.isoformat(),
        "resources": {},
        "restore": restore_payload(results, arns),
    }
    if not len(rp):
        return payload
    rp = (
        rp.sort_values(["resource_arn", "created_at"])
        .groupby("resource_arn", sort=False)
        .tail(TIMELINE_POINTS)
    )
    size = (rp["size_bytes"].astype("Float64") / 1e9).round(2)
    compact = pd.DataFrame(
        {
            "arn": rp["resource_arn"].to_numpy(),
            "t": rp["created_at"].dt.strftime("%Y-%m-%dT%H:%M:%SZ").to_numpy(),
            "source": rp["source"].astype(object).fillna("").to_numpy(),
            "status": rp["status"].astype(object).fillna("").to_numpy(),
            "cls": rp["storage_class"].astype(object).fillna("").to_numpy(),
            "gb": size.astype(object).where(size.notna(), None).to_numpy(),
        }
    )
    for arn, group in compact.groupby("arn", sort=True):
        payload["resources"][arn] = group.drop(columns="arn").to_numpy().tolist()
    return payload


def restore_payload(results: Results, arns: list[str]) -> dict[str, Any]:
    """Per listed resource with a completed backup: its newest backup's restore paths (with the AWS
    CLI call that starts each) and the note when no backup can be restored outside its region."""
    inventory = results.inventory
    if inventory is None or not arns:
        return {}
    # the region each resource lives in, as its findings name it
    homes = results.findings[["resource_arn", "region"]].dropna().drop_duplicates("resource_arn")
    homes = homes[homes["resource_arn"].isin(set(arns))]
    rp = inventory.recovery_points
    restore = newest_backup_restore(rp[rp["resource_arn"].isin(set(arns))], homes)
    out: dict[str, Any] = {}
    for arn, backup, paths, note in zip(
        restore.index,
        restore["newest_backup"],
        restore["restore_paths"],
        restore["region_note"],
        strict=True,
    ):
        listed = json.loads(paths)
        out[arn] = {
            "backup": backup,
            "paths": [[p["target"], p["where"], p["command"], p["doc"]] for p in listed],
            "note": None if pd.isna(note) else note,
        }
    return out


def collection_errors(results: Results) -> list[dict[str, Any]]:
    """The inventory's failed calls (what became NOT_ASSESSED), first 200."""
    if results.inventory is None:
        return []
    errors = results.inventory.errors.head(200)
    return errors.astype(object).where(errors.notna(), "").to_dict("records")


def _metering_info(results: Results) -> dict[str, Any]:
    """Period, totals, warnings, orphaned backups and CUR reconciliation from metering.json."""
    info = results.metering_info or {}
    orphans = [o for o in (info.get("orphans") or []) if isinstance(o, dict)]
    orphans = sorted(orphans, key=lambda o: -(o.get("monthly_cost_usd") or 0))
    recon = [r for r in (info.get("reconciliation") or []) if isinstance(r, dict)]
    return {
        "period": info.get("period") or {},
        "totals": info.get("totals") or {},
        "warnings": [str(w) for w in (info.get("warnings") or [])][:50],
        "orphans": orphans[:50],
        "orphan_count": len(orphans),
        "reconciliation": recon[:100],
        "reconciliation_columns": list(recon[0]) if recon else [],
    }


def status_matrix(findings: pd.DataFrame, max_accounts: int = MATRIX_ACCOUNTS) -> dict[str, Any]:
    """FAILs and compliance per control and per plan (rows) and per account (columns).

    Accounts with the most FAILs first, at most `max_accounts` of them (the "all" column counts
    every account). Each cell is `[fails, compliance_pct or None]`, or None where nothing was judged.
    """
    judged_statuses = ["PASS", "WAIVED", "FAIL", "NOT_ASSESSED"]
    df = findings[findings["status"].isin(judged_statuses)] if len(findings) else findings
    if not len(df):
        return {"accounts": [], "sections": []}
    # codes and bincounts: grouping 100k strings per cell would take seconds
    fail = (df["status"] == "FAIL").to_numpy(dtype=float)
    ok = df["status"].isin(["PASS", "WAIVED"]).to_numpy(dtype=float)
    acc, acc_names = _labels(df["account_id"], "(none)")
    by_account = pd.Series(np.bincount(acc, fail, len(acc_names)), index=acc_names).sort_index()
    by_account = by_account.sort_values(ascending=False, kind="stable")
    accounts = sorted(by_account.index[:max_accounts], key=lambda a: (-by_account[a], a))
    position = {name: i for i, name in enumerate(acc_names)}
    sections = []
    for column, label, none in (("control_id", "Control", "(none)"), ("plan", "Plan", "(no plan)")):
        key, names = _labels(df[column], none)
        cells = len(names) * len(acc_names)
        sums = {
            name: np.bincount(key * len(acc_names) + acc, weights, cells).reshape(
                len(names), len(acc_names)
            )
            for name, weights in (("fail", fail), ("ok", ok), ("judged", np.ones(len(df))))
        }
        overall = pd.DataFrame({k: v.sum(axis=1) for k, v in sums.items()}, index=names)
        overall = overall.sort_index().sort_values(
            ["fail", "judged"], ascending=[False, False], kind="stable"
        )
        rows = []
        for name, total in overall.iterrows():
            i = names.index(name)
            row_cells = [
                _cell(pd.Series({k: v[i, position[a]] for k, v in sums.items()})) for a in accounts
            ]
            rows.append({"label": name, "all": _cell(total), "cells": row_cells})
        sections.append({"label": label, "rows": rows})
    return {
        "accounts": accounts,
        "more_accounts": max(0, len(by_account) - len(accounts)),
        "sections": sections,
    }


def _labels(values: pd.Series, none: str) -> tuple[np.ndarray, list[str]]:
    """(code per row, label per code) of a column, null as `none` (merged with a `none` value)."""
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    labels = [str(u) for u in uniques]
    if none in labels:
        codes = np.where(codes < 0, labels.index(none), codes)
    elif (codes < 0).any():
        codes = np.where(codes < 0, len(labels), codes)
        labels.append(none)
    return codes.astype(np.int64), labels


def _cell(counts: pd.Series | None) -> list[Any] | None:
    if counts is None or not counts["judged"]:
        return None
    return [int(counts["fail"]), round(100.0 * counts["ok"] / counts["judged"], 1)]


def cost_range(results: Results) -> dict[str, Any] | None:
    """Monthly cost as a range: the estimate, the upper bound and the share of verified prices."""
    totals = (results.metering_info or {}).get("totals") or {}
    low, high = totals.get("estimated_cost_usd"), totals.get("upper_bound_cost_usd")
    if low is None and results.metering is not None:
        low = float(results.metering["estimated_cost_usd"].sum())
    if low is None:
        return None
    share = totals.get("verified_price_share")
    return {
        "low": low,
        "high": high if isinstance(high, int | float) and high > low else None,
        "verified_pct": round(100.0 * share) if isinstance(share, int | float) else None,
    }


def at_a_glance(results: Results, counts: dict[str, int]) -> dict[str, Any]:
    """What the top of the page answers: how compliant, how bad, how many resources, why unknown, cost."""
    df = results.findings
    groups = error_groups(results)
    return {
        "fails_by_severity": fails_by_severity(df),
        "failing_resources": failing_resource_count(df),
        "failing_backups": int(
            ((df["status"] == "FAIL") & df["control_id"].isin(BACKUP_CONTROLS)).sum()
        )
        if len(df)
        else 0,
        "not_assessed": counts["NOT_ASSESSED"],
        "error_causes": groups.head(3).to_dict("records"),
        "error_cause_more": max(0, len(groups) - 3),
        "cost": cost_range(results),
        "matrix": status_matrix(df),
    }


def context(results: Results) -> dict[str, Any]:
    """Everything the template shows (plain data plus pre-rendered, escaped SVG). `data_json` is
    the page's data as plain JSON text: `render_pieces` makes it safe for <script> (`script_safe`)."""
    df = results.findings
    counts = status_counts(df)
    by = {
        dim: breakdown(df, dim)
        for dim in ("plan", "control_id", "account_id", "region", "resource_type")
    }
    owner_dims = owner_tag_columns_of(df.columns)
    control_rows = [
        (row["control_id"], {s: int(row[s]) for s in STATUSES})
        for row in by["control_id"].to_dict("records")
    ]
    owner = cost_by(results.metering, "billing_owner")
    service = cost_by(results.metering, "service")
    # only the rows the page carries are copied in reading order
    order = reading_order(df)
    findings = findings_payload(df.take(order[:HTML_ROWS]).reset_index(drop=True))
    # timelines for the resources read first (failing first): one per resource of a big estate
    # would outgrow the page; findings past them say the timeline is in the inventory
    first = pd.unique(df["resource_arn"].take(order).dropna().astype(str)) if len(df) else []
    arns = sorted(first[:TIMELINE_RESOURCES])
    history = results.history or {}
    trend_points = [
        (str(p.get("as_of", "")), p.get("compliance_pct")) for p in history.get("trend", [])
    ]
    resources = resource_count(results)
    run = results.run or {}
    return {
        "title": "Backup compliance report",
        "as_of": results.as_of,
        # when the calls were made (the real clock), beside the instant judged (as_of)
        "collected_at": run.get("collected_at")
        or (run.get("collection") or {}).get("collected_at"),
        "version": __version__,
        "run": run,
        "scope": run.get("scope") or {},
        "counts": counts,
        "statuses": STATUSES,
        "colors": charts.STATUS_COLORS,
        "total": len(df),
        "shown": min(len(df), HTML_ROWS),
        "resources": resources,
        "compliance": compliance_pct(counts),
        "verdict": "NON-COMPLIANT"
        if counts["FAIL"]
        else ("INCOMPLETE" if counts["NOT_ASSESSED"] else "COMPLIANT"),
        "glance": at_a_glance(results, counts),
        "breakdowns": {k: v.to_dict("records") for k, v in by.items()},
        # compliance per owner (each owner tag's values, "(none)" for untagged resources)
        "owner_breakdowns": [
            (dim, dim[len(OWNER_COLUMN_PREFIX) :], breakdown(df, dim).to_dict("records"))
            for dim in owner_dims
        ],
        "control_chart": charts.stacked_bars(control_rows),
        "account_chart": charts.stacked_bars(
            [
                (r["account_id"], {s: int(r[s]) for s in STATUSES})
                for r in by["account_id"].to_dict("records")
            ][:30]
        ),
        "has_metering": results.metering is not None,
        "cost_owner": owner.to_dict("records"),
        "cost_service": service.to_dict("records"),
        # the --by-tag split of metering.csv: cost per tag value
        "cost_tags": cost_by_tags(results.metering),
        "cost_total": float(owner["estimated_cost_usd"].sum()) if len(owner) else 0.0,
        "gb_total": float(owner["gb_months"].sum()) if len(owner) else 0.0,
        "cost_chart": charts.bars(
            [
                (r["billing_owner"], float(r["estimated_cost_usd"]))
                for r in owner.to_dict("records")
                if r["estimated_cost_usd"] == r["estimated_cost_usd"]
            ],
            unit="USD",
        ),
        "storage_chart": charts.bars(
            [(r["billing_owner"], float(r["gb_months"])) for r in owner.to_dict("records")],
            unit="GB-mo",
        ),
        # the page's data as JSON text, made safe for <script> as it is written (render_pieces)
        "data_json": json_text(
            {
                "findings": findings,
                "timelines": timelines_payload(results, arns),
                "colors": charts.STATUS_COLORS,
            }
        ),
        "metering_info": _metering_info(results),
        "waivers": results.waivers,
        "errors": collection_errors(results),
        "error_count": len(results.inventory.errors) if results.inventory is not None else 0,
        "history": history,
        "trend_chart": charts.trend(trend_points),
        "changes": history.get("changes") or {},
        "controls": results.controls,
        "jobs": job_section(results),
        "generated_note": f"auditor {__version__}",
    }


def render(results: Results, framework_view: Any = None) -> str:
    """The HTML report as one string; with `framework_view` (auditor.report.framework), it has a
    section on that framework's requirements."""
    return "".join(render_pieces(results, framework_view))


def render_pieces(results: Results, framework_view: Any = None) -> Iterator[str]:
    """The HTML report's text in pieces of about PIECE_CHARS (report.html is written so: the
    page is never held whole, nor its bytes); `render` joins them."""
    ctx = context(results)
    if framework_view is not None:
        from auditor.report.framework import html_context

        ctx["framework"] = html_context(framework_view)
    # The embedded data is most of the page: the template writes a marker in its place, and the
    # data follows in slices, each made safe on its own, so the whole text is never copied.
    data = ctx["data_json"]
    ctx["data_json"] = Markup(_DATA_MARKER)
    pending: list[str] = []
    size = placed = 0
    for chunk in environment().get_template("report.html.j2").generate(**ctx):
        if chunk == _DATA_MARKER:
            placed += 1
            if pending:
                yield "".join(pending)
                pending, size = [], 0
            for at in range(0, len(data), PIECE_CHARS):
                yield script_safe(data[at : at + PIECE_CHARS])
            continue
        pending.append(chunk)
        size += len(chunk)
        if size >= PIECE_CHARS:
            yield "".join(pending)
            pending, size = [], 0
    if placed != 1:
        # the template must write {{ data_json }} once, as a chunk of its own (not inside a macro
        # or filter block, which Jinja buffers): else the page would go out without its data
        raise RuntimeError(f"report.html.j2 wrote its data {placed} times as a chunk of its own")
    if pending:
        yield "".join(pending)


# What the template writes where the page's data goes (no text of the page holds a NUL).
_DATA_MARKER = "\x00report-data\x00"


__all__ = ["context", "findings_payload", "json_text", "render", "render_pieces", "script_safe"]
