"""report.html: one self-contained page (inline CSS, SVG and script; no network, autoescaped).

Big estates stay fast because the page carries aggregates for everything but rows only for the
first `max_rows` findings in reading order (failing first); the page says so and points at
findings.csv, which has every row. The inline script filters, sorts and pages those rows and shows
each resource's backups timeline; it marks `<html data-report-ready="1">` when it has run and
records any script error in `#script-error`, which the browser test reads.
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pandas as pd

from auditor import __version__
from auditor.report import charts
from auditor.report.model import (
    STATUSES,
    Results,
    breakdown,
    compliance_pct,
    cost_by,
    ordered,
    resource_count,
    status_counts,
)
from auditor.report.templating import environment
from auditor.restore import newest_backup_restore

MAX_ROWS = 2000
TIMELINE_DAYS = 90
TIMELINE_POINTS = 120
_ROW_COLUMNS = (
    "status",
    "severity",
    "control_id",
    "resource_arn",
    "resource_type",
    "account_id",
    "region",
    "plan",
    "detail",
)


def _as_of(results: Results) -> pd.Timestamp | None:
    try:
        ts = pd.Timestamp(results.as_of)
    except (ValueError, TypeError):
        return None
    return ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")


def rows_payload(findings: pd.DataFrame, max_rows: int) -> list[list[Any]]:
    """The first `max_rows` findings in reading order as compact lists (columns: _ROW_COLUMNS + evidence)."""
    head = ordered(findings).head(max_rows)
    if not len(head):
        return []
    cols = head[list(_ROW_COLUMNS)].astype(object)
    cols = cols.where(cols.notna(), "")
    evidence = head["evidence"].map(
        lambda e: json.dumps(e or {}, sort_keys=True, default=str)[:4000]
    )
    cols = cols.assign(evidence=evidence.to_numpy())
    return cols.to_numpy().tolist()


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


def context(results: Results, max_rows: int = MAX_ROWS) -> dict[str, Any]:
    """Everything the template shows (plain data plus pre-rendered, escaped SVG)."""
    df = results.findings
    counts = status_counts(df)
    by = {
        dim: breakdown(df, dim)
        for dim in ("plan", "control_id", "account_id", "region", "resource_type")
    }
    control_rows = [
        (row["control_id"], {s: int(row[s]) for s in STATUSES})
        for row in by["control_id"].to_dict("records")
    ]
    owner = cost_by(results.metering, "billing_owner")
    service = cost_by(results.metering, "service")
    rows = rows_payload(df, max_rows)
    arns = sorted({r[3] for r in rows if r[3]})
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
        "resources": resources,
        "compliance": compliance_pct(counts),
        "verdict": "NON-COMPLIANT"
        if counts["FAIL"]
        else ("INCOMPLETE" if counts["NOT_ASSESSED"] else "COMPLIANT"),
        "breakdowns": {k: v.to_dict("records") for k, v in by.items()},
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
        "shown": len(rows),
        "max_rows": max_rows,
        "data": {
            "columns": list(_ROW_COLUMNS) + ["evidence"],
            "rows": rows,
            "timelines": timelines_payload(results, arns),
            "colors": charts.STATUS_COLORS,
        },
        "metering_info": _metering_info(results),
        "waivers": results.waivers,
        "errors": collection_errors(results),
        "error_count": len(results.inventory.errors) if results.inventory is not None else 0,
        "history": history,
        "trend_chart": charts.trend(trend_points),
        "changes": history.get("changes") or {},
        "controls": results.controls,
        "generated_note": f"auditor {__version__}",
    }


def render(results: Results, max_rows: int = MAX_ROWS) -> str:
    """The HTML report as one string."""
    return environment().get_template("report.html.j2").render(**context(results, max_rows))


__all__ = ["MAX_ROWS", "context", "render"]
