"""The results a report is rendered from, and the aggregates every renderer shares.

A *results folder* is what `auditor audit` (or `check` + `meter`) writes::

    findings.json  findings.csv        the verdicts (schema_version 1)
    metering.json  metering.csv        storage and cost per billing owner (docs/metering.md)
    run.json                           how the run was made: command, as_of, scope, statistics
    history.json                       trend and changes since the previous run (when recorded)
    inventory/                         what collection gathered (Parquet, optional)
    policies/                          the policy files as evaluated (optional)

`load_results` reads such a folder into `Results`; renderers are pure functions of `Results`.
Only the findings are required (findings.json, else findings.parquet, which `check` always writes):
every other part is optional and its section is left out.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from auditor.errors import InputError, UsageError
from auditor.findings import COLUMNS
from auditor.jsonsafe import JsonText

# The findings columns every report row has (their one list is auditor.findings.COLUMNS); the
# optional ones are kept after them only when the findings carry them (older findings do not).
_OPTIONAL_COLUMNS = ("remediation", "resource_name")
FINDING_COLUMNS = tuple(c for c in COLUMNS if c not in _OPTIONAL_COLUMNS)
STATUSES = ("FAIL", "NOT_ASSESSED", "WAIVED", "PASS", "NOT_APPLICABLE")
# Failing first, then what could not be judged, then the rest (the order a reader wants).
STATUS_RANK = {s: i for i, s in enumerate(STATUSES)}
SEVERITY_RANK = {"critical": 0, "high": 1, "medium": 2, "low": 3, "info": 4, "informational": 4}
METERING_COLUMNS = (
    "account_id",
    "region",
    "service",
    "billing_owner",
    "storage_class",
    "gb_months",
    "estimated_cost_usd",
)


@dataclass(frozen=True)
class ControlInfo:
    """What a report says about one control: id, title, severity and description (its docstring)."""

    control_id: str
    title: str
    severity: str
    description: str


@dataclass
class Results:
    """Everything a renderer may show. Only `findings` and `as_of` are required."""

    as_of: str
    findings: pd.DataFrame
    summary: dict[str, Any] = field(default_factory=dict)
    metering: pd.DataFrame | None = None
    metering_info: dict[str, Any] = field(
        default_factory=dict
    )  # metering.json besides its rows: totals, warnings, orphans...
    inventory: Any = None  # auditor.inventory.Inventory, when the folder holds one
    # auditor.jobs.JobReport of that inventory at as_of, when the caller has made it already
    jobs: Any = None
    run: dict[str, Any] = field(default_factory=dict)
    history: dict[str, Any] | None = None
    waivers: list[dict[str, Any]] = field(default_factory=list)
    controls: list[ControlInfo] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)  # other top-level keys of findings.json


def findings_frame(records: list[dict[str, Any]] | pd.DataFrame) -> pd.DataFrame:
    """Findings as a DataFrame with the finding columns first (others kept after them).

    `evidence` holds dicts (JSON objects), or JSON object text (`JsonText`, as findings.parquet
    is read) that `evidence_of` parses when a report shows it; missing columns become null.
    """
    # a shallow copy: columns are only added or replaced below, never changed in place
    df = (
        records.copy(deep=False)
        if isinstance(records, pd.DataFrame)
        else pd.DataFrame.from_records(records)
    )
    for col in FINDING_COLUMNS:
        if col not in df.columns:
            df[col] = None
    others = [c for c in df.columns if c not in FINDING_COLUMNS]
    df = df[list(FINDING_COLUMNS) + others]
    for col in FINDING_COLUMNS:
        values = df[col]
        if col != "evidence" and _infer(values) not in ("string", "empty", "categorical"):
            # a hand-made file's number where text belongs is read as its text
            df[col] = values.astype(object).where(values.isna(), values.astype(str))
    if len(df):
        # kept as objects: as text, pandas would copy the JSON into a string column
        df["evidence"] = pd.Series(
            [v if isinstance(v, dict | JsonText) else _as_dict(v) for v in df["evidence"]],
            index=df.index,
            dtype=object,
        )
    return df.reset_index(drop=True)


def evidence_of(value: Any) -> dict[str, Any]:
    """A finding's evidence as a dict, whether held as one or as JSON object text."""
    if isinstance(value, dict):
        return value
    return _as_dict(value) if value != "" else {}


def _as_dict(value: Any) -> dict[str, Any]:
    if isinstance(value, str) and value.startswith("{"):
        try:
            parsed = json.loads(value)
            return parsed if isinstance(parsed, dict) else {"value": parsed}
        except json.JSONDecodeError:
            return {"value": value}
    if value is None or (isinstance(value, float) and value != value):
        return {}
    return {"value": value}


def ordered(findings: pd.DataFrame) -> pd.DataFrame:
    """Findings in reading order: FAIL, NOT_ASSESSED, WAIVED, PASS, NOT_APPLICABLE; worst severity first."""
    if not len(findings):
        return findings
    return findings.take(reading_order(findings)).reset_index(drop=True)


def reading_order(findings: pd.DataFrame) -> np.ndarray:
    """The positions of `findings` in reading order (`ordered`): status, severity (worst first),
    resource ARN, control; ties keep their order.

    The keys are integer ranks (each distinct text ranked once), so the rows are sorted on
    integers, and only the positions are made, not a sorted copy of the findings."""
    if not len(findings):
        return np.empty(0, dtype=np.int64)
    keys = (
        _ranks(findings["status"], STATUS_RANK, len(STATUSES)),
        _ranks(findings["severity"], SEVERITY_RANK, 9, lower=True),
        _text_ranks(findings["resource_arn"]),
        _text_ranks(findings["control_id"]),
    )
    return np.lexsort(keys[::-1])  # stable; the last key given is the first sorted on


def text_of(value: Any) -> str:
    """A cell as text, "" when missing (None, or the NaN pandas puts in text columns)."""
    return value if isinstance(value, str) else ""


def _infer(values: pd.Series) -> str:
    """What pandas finds `values` hold ("string", "integer", "mixed", ...), nulls skipped."""
    return pd.api.types.infer_dtype(values, skipna=True)


def _text_ranks(values: pd.Series) -> np.ndarray:
    """Each value's rank in text order, a null ranked as ""."""
    codes, _ = pd.factorize(values.astype(object).fillna(""), sort=True)
    return codes


def _ranks(
    values: pd.Series, rank: dict[str, int], missing: int, lower: bool = False
) -> np.ndarray:
    """Each value's rank (`missing` for others), looked up once per distinct value."""
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    table = np.array(
        [rank.get(str(u).lower() if lower else str(u), missing) for u in uniques] + [missing],
        dtype=np.int64,
    )
    return table[np.where(codes < 0, len(uniques), codes)]


def status_counts(findings: pd.DataFrame) -> dict[str, int]:
    """Count of findings per status, every status present (zero when absent)."""
    counts = findings["status"].value_counts() if len(findings) else pd.Series(dtype=int)
    return {s: int(counts.get(s, 0)) for s in STATUSES}


def compliance_pct(counts: dict[str, int]) -> float | None:
    """Share of judged findings that comply: (PASS + WAIVED) / (PASS + WAIVED + FAIL + NOT_ASSESSED).

    NOT_ASSESSED counts against compliance (never shown as compliant); NOT_APPLICABLE is left out.
    None when nothing was judged.
    """
    judged = counts["PASS"] + counts["WAIVED"] + counts["FAIL"] + counts["NOT_ASSESSED"]
    if not judged:
        return None
    return round(100.0 * (counts["PASS"] + counts["WAIVED"]) / judged, 1)


# Findings that judge a backup rather than a resource (they name the backup's ARN).
BACKUP_CONTROLS = frozenset({"orphaned-backup"})


def _scope_arns(results: Results) -> pd.Series:
    """The ARN column `resource_arns` and `resource_count` read (duplicates and nulls kept)."""
    if results.inventory is not None and len(results.inventory.resources):
        return results.inventory.resources["resource_arn"]
    df = results.findings
    return (
        df.loc[~df["control_id"].isin(BACKUP_CONTROLS), "resource_arn"]
        if len(df)
        else pd.Series(dtype=object)
    )


def resource_arns(results: Results) -> list[str]:
    """The resources in scope, sorted: what collection found (the inventory's resources table);
    without one (or an empty one), the resources the findings name (findings about a backup
    excluded)."""
    return sorted(set(_scope_arns(results).dropna().astype(str)))


def _distinct(values: pd.Series) -> int:
    """How many distinct non-null values: a hash count, no strings sorted or copied."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if not len(values):
        return 0
    try:  # Arrow-backed strings convert without a Python object per value
        array = pa.array(values, from_pandas=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        array = pa.array(values.astype(object), from_pandas=True)
    return int(pc.count_distinct(array, mode="only_valid").as_py())


def resource_count(results: Results) -> int:
    """Resources in scope (see `resource_arns`): the number the trend records for each run too.

    From the run's collection statistics (the same count, recorded when the inventory was
    collected), else the inventory or the findings."""
    collected = (
        (results.run.get("collection") or {}).get("resources")
        if isinstance(results.run, dict)
        else None
    )
    if isinstance(collected, int):
        return collected
    return _distinct(_scope_arns(results))


def fails_by_severity(findings: pd.DataFrame) -> dict[str, int]:
    """FAIL findings per severity, worst first (only severities that occur)."""
    if not len(findings):
        return {}
    fails = findings.loc[findings["status"] == "FAIL", "severity"].astype(object)
    counts = fails.fillna("unknown").str.lower().value_counts()
    order = sorted(counts.index, key=lambda s: (SEVERITY_RANK.get(s, 9), s))
    return {s: int(counts[s]) for s in order}


def failing_resource_count(findings: pd.DataFrame) -> int:
    """Resources with at least one FAIL (findings about a backup, which name the backup, left out)."""
    if not len(findings):
        return 0
    fails = findings[(findings["status"] == "FAIL") & ~findings["control_id"].isin(BACKUP_CONTROLS)]
    return int(fails["resource_arn"].dropna().nunique())


def breakdown(findings: pd.DataFrame, by: str) -> pd.DataFrame:
    """Status counts and compliance per value of column `by` (null shown as "(none)"), worst first."""
    columns = [by, *STATUSES, "total", "compliance_pct"]
    if not len(findings):
        return pd.DataFrame(columns=columns)
    # counted with codes and one bincount (a crosstab of 100k strings takes seconds)
    codes, uniques = pd.factorize(findings[by], use_na_sentinel=True)
    labels = [str(u) for u in uniques] + ["(none)"]
    codes = np.where(codes < 0, len(uniques), codes)
    status = _ranks(findings["status"], STATUS_RANK, -1)
    known = status >= 0
    k = len(STATUSES)
    counts = np.bincount(codes[known] * k + status[known], minlength=len(labels) * k).reshape(
        len(labels), k
    )
    table = pd.DataFrame(counts, index=pd.Index(labels, name=by), columns=list(STATUSES))
    table = table[table.sum(axis=1) > 0].groupby(level=0).sum()  # "(none)" may also be a value
    table["total"] = table.sum(axis=1)
    judged = table["PASS"] + table["WAIVED"] + table["FAIL"] + table["NOT_ASSESSED"]
    pct = (100.0 * (table["PASS"] + table["WAIVED"]) / judged.where(judged > 0)).round(1)
    table["compliance_pct"] = pct.astype("object").where(pct.notna(), None)
    table.index.name = by
    table = table.reset_index()
    table["_sort"] = pct.fillna(101.0).to_numpy()
    return (
        table.sort_values(["_sort", by], kind="stable")
        .drop(columns="_sort")
        .reset_index(drop=True)[columns]
    )


def metering_frame(rows: list[dict[str, Any]] | pd.DataFrame | None) -> pd.DataFrame:
    """Metering rows with the metering columns (numbers as floats)."""
    df = (
        pd.DataFrame(columns=list(METERING_COLUMNS))
        if rows is None
        else (rows.copy() if isinstance(rows, pd.DataFrame) else pd.DataFrame.from_records(rows))
    )
    for col in METERING_COLUMNS:
        if col not in df.columns:
            df[col] = None
    df["gb_months"] = pd.to_numeric(df["gb_months"], errors="coerce").fillna(0.0).astype(float)
    # a null cost is unpriced storage (no price for its usage type), never $0: keep it null
    df["estimated_cost_usd"] = pd.to_numeric(df["estimated_cost_usd"], errors="coerce").astype(
        float
    )
    others = [c for c in df.columns if c not in METERING_COLUMNS]
    return df[list(METERING_COLUMNS) + others].reset_index(drop=True)


def cost_by(metering: pd.DataFrame | None, by: str = "billing_owner") -> pd.DataFrame:
    """GB-months and estimated cost summed per value of `by`, largest cost first."""
    if metering is None or not len(metering):
        return pd.DataFrame(columns=[by, "gb_months", "estimated_cost_usd"])
    keys = metering[by].astype("object").where(metering[by].notna(), "(none)").astype(str)
    # null where the group holds only unpriced storage (as metering.json's allocations do)
    grouped = metering.groupby(keys).agg(
        gb_months=("gb_months", "sum"),
        estimated_cost_usd=("estimated_cost_usd", lambda s: s.sum(min_count=1)),
    )
    grouped.index.name = by
    grouped = grouped.reset_index()
    return grouped.sort_values(
        ["estimated_cost_usd", by], ascending=[False, True], kind="stable"
    ).reset_index(drop=True)


def cost_by_tags(metering: pd.DataFrame | None, limit: int | None = None) -> list[dict[str, Any]]:
    """Cost per value of each `--by-tag` key the metering rows were split by (`tag:KEY` columns):
    `[{"key", "column", "rows": [{column, gb_months, estimated_cost_usd}], "more"}]`."""
    if metering is None:
        return []
    out = []
    for column in [c for c in metering.columns if str(c).startswith("tag:")]:
        table = cost_by(metering, column)
        shown = table if limit is None else table.head(limit)
        out.append(
            {
                "key": column[len("tag:") :],
                "column": column,
                "rows": shown.to_dict("records"),
                "more": len(table) - len(shown),
            }
        )
    return out


# ---------------------------------------------------------------------------------------------
# Loading a results folder


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"{path}: not valid JSON ({exc})") from None


def _metering_rows(doc: Any, path: Path) -> list[dict[str, Any]]:
    """Rows of metering.json, whether written as a list or as an object holding the list."""
    if isinstance(doc, list):
        return doc
    if isinstance(doc, dict):
        for key in ("rows", "metering", "storage", "items", "estimate"):
            if isinstance(doc.get(key), list):
                return doc[key]
    raise InputError(f"{path}: no metering rows found (expected a list of rows)")


def _parquet_document(path: Path) -> dict[str, Any]:
    """findings.parquet as the findings.json document it stands for: its head, and its rows."""
    from auditor.findings import read_findings, read_parquet_head

    # The evidence stays JSON text: reports parse only what they show (evidence_of).
    frame = read_findings(path, parse_evidence=False).frame
    return {**read_parquet_head(path), "findings": frame}


def load_results(
    folder: str | Path,
    *,
    with_inventory: bool = True,
    owner_tags: Sequence[str] | None = None,
    prefer_parquet: bool = False,
) -> Results:
    """Read a results folder (see module doc). Raises InputError (exit 2) naming the bad file.

    With `prefer_parquet`, the findings are read from findings.parquet when the folder has it: the
    same rows as findings.json, typed and compact, for a fraction of the memory of parsing the JSON.

    With `owner_tags`, the findings' owner columns become those keys' (auditor.owners), looked up
    in the folder's inventory; without an inventory, the findings must already carry them.
    """
    folder = Path(folder)
    path = folder / "findings.json"
    if not folder.is_dir():
        raise InputError(f"{folder}: not a results folder (it does not exist)")
    if (prefer_parquet or not path.is_file()) and (folder / "findings.parquet").is_file():
        path = folder / "findings.parquet"
    if not path.is_file():
        raise InputError(
            f"{folder}: not a results folder (no findings.json or findings.parquet); run `auditor audit` or `auditor check` first"
        )
    doc = _read_json(path) if path.suffix == ".json" else _parquet_document(path)
    if not isinstance(doc, dict) or not isinstance(doc.get("findings"), list | pd.DataFrame):
        raise InputError(f"{path}: not a findings file (expected an object with a 'findings' list)")
    if doc.get("schema_version", 1) != 1:
        raise InputError(
            f"{path}: findings schema version {doc.get('schema_version')!r}, this program reads 1"
        )
    extra = {
        k: v for k, v in doc.items() if k not in ("schema_version", "as_of", "summary", "findings")
    }
    results = Results(
        as_of=str(doc.get("as_of") or ""),
        findings=findings_frame(doc["findings"]),
        summary=doc.get("summary") or {},
        extra=extra,
    )
    if (folder / "metering.json").is_file():
        mdoc = _read_json(folder / "metering.json")
        results.metering = metering_frame(_metering_rows(mdoc, folder / "metering.json"))
        if isinstance(mdoc, dict):
            results.metering_info = {
                k: v for k, v in mdoc.items() if k not in ("rows", "allocations")
            }
    if (folder / "run.json").is_file():
        results.run = _read_json(folder / "run.json")
    if (folder / "history.json").is_file():
        results.history = _read_json(folder / "history.json")
    if with_inventory and (folder / "inventory" / "manifest.json").is_file():
        from auditor.inventory import read_inventory

        results.inventory = read_inventory(folder / "inventory")
    if (folder / "policies").is_dir():
        results.waivers = waivers_from_policies(folder / "policies", results.as_of)
    results.controls = controls_from_document(extra.get("controls")) or registry_controls()
    if owner_tags is not None:
        results.findings = _owner_columns(results, folder, owner_tags)
    return results


def _owner_columns(results: Results, folder: Path, keys: Sequence[str]) -> pd.DataFrame:
    """The findings with the owner columns of `keys` (UsageError when they cannot be had)."""
    from auditor.owners import owner_columns, owner_tag_columns_of, with_owner_tags

    df = results.findings
    if results.inventory is not None:
        return with_owner_tags(df, results.inventory, keys)
    missing = [c for c in owner_columns(keys) if c not in df.columns]
    if missing:
        raise UsageError(
            f"--owner-tags: {folder} has no inventory/ to look tags up in and its findings"
            f" have no {', '.join(missing)} column"
        )
    wanted = set(owner_columns(keys))
    return df.drop(columns=[c for c in owner_tag_columns_of(df.columns) if c not in wanted])


def controls_from_document(items: Any) -> list[ControlInfo]:
    """Controls listed in findings.json (`[{"id", "title", "severity", "description"}]`), sorted by id."""
    if not isinstance(items, list):
        return []
    out = []
    for item in items:
        if isinstance(item, dict) and (item.get("id") or item.get("control_id")):
            cid = str(item.get("id") or item.get("control_id"))
            out.append(
                ControlInfo(
                    control_id=cid,
                    title=str(item.get("title") or cid),
                    severity=str(item.get("severity") or "medium"),
                    description=" ".join(str(item.get("description") or "").split()),
                )
            )
    return sorted(out, key=lambda c: c.control_id)


def waivers_from_policies(folder: str | Path, as_of: str) -> list[dict[str, Any]]:
    """Waivers declared in the policy files of `folder`, each marked active or expired."""
    import yaml

    waivers: list[dict[str, Any]] = []
    files = sorted(
        p for p in Path(folder).rglob("*") if p.suffix in (".yaml", ".yml") and p.is_file()
    )
    for path in files:
        try:
            doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except (OSError, yaml.YAMLError):
            continue  # the policy loader reports invalid files; the report only shows what it can read
        for waiver in (doc.get("waivers") or []) if isinstance(doc, dict) else []:
            if not isinstance(waiver, dict):
                continue
            expires = str(waiver.get("expires") or "")
            active = _waiver_active(expires, as_of)
            waivers.append(
                {
                    "resource": str(waiver.get("resource") or ""),
                    "controls": [str(c) for c in (waiver.get("controls") or [])],
                    "reason": str(waiver.get("reason") or ""),
                    "owner": str(waiver.get("owner") or ""),
                    "expires": expires,
                    "active": active,
                    "file": path.name,
                }
            )
    return waivers


def _waiver_active(expires: str, as_of: str) -> bool:
    """The policy loader's rule (`Waiver.active`): a date applies through that day, UTC."""
    from datetime import UTC, datetime

    from auditor.policy.loader import expiry_instant

    if not expires or not as_of:
        return True
    try:
        moment = datetime.fromisoformat(as_of.replace("Z", "+00:00"))
        return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)) < expiry_instant(expires)
    except ValueError:
        return expires >= as_of[:10]  # unreadable dates: compare the text as before


def registry_controls() -> list[ControlInfo]:
    """Controls from `auditor.controls.REGISTRY` (id, title, severity, docstring), whatever its shape."""
    try:
        from auditor.controls import REGISTRY
    except Exception:  # controls not importable: SARIF falls back to the control ids it sees
        return []
    items = REGISTRY.items() if isinstance(REGISTRY, dict) else ((None, c) for c in REGISTRY)
    controls = []
    for key, ctl in items:
        get = (
            ctl.get
            if isinstance(ctl, dict)
            else (lambda name, default=None, _c=ctl: getattr(_c, name, default))
        )
        cid = get("control_id") or get("id") or key
        if not cid:
            continue
        func = get("func") or get("function") or get("check")
        doc = (
            get("description")
            or get("doc")
            or get("docstring")
            or (getattr(func, "__doc__", None) if func else None)
            or ""
        )
        controls.append(
            ControlInfo(
                control_id=str(cid),
                title=str(get("title") or cid),
                severity=str(get("severity") or "medium"),
                description=" ".join(str(doc).split()),
            )
        )
    return sorted(controls, key=lambda c: c.control_id)
