"""The framework view: compliance per requirement of a chosen framework (auditor.frameworks).

`build_view(results, framework)` computes it once; `render_json`, `render_csv` and `render_md`
write `framework-NAME.json/.csv/.md`, and `html_context` feeds the "Framework" section of
report.html. WAIVED findings count as passing for a requirement but are listed with the failing
ones, so a reader sees what was waived.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from typing import Any

import pandas as pd

from auditor import jsonsafe
from auditor.frameworks import (
    FINDING_STATUSES,
    REQUIREMENT_STATUSES,
    Framework,
    requirement_findings,
    requirement_status,
)
from auditor.report.model import Results
from auditor.report.templating import environment

# Findings listed per requirement in Markdown and HTML (the JSON lists them all).
TOP = 10
FINDING_FIELDS = (
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
STATUS_COLORS = {
    "not met": "#c62828",
    "unknown": "#ef6c00",
    "no evidence": "#6a1b9a",
    "met": "#2e7d32",
    "not applicable": "#757575",
}


@dataclass
class FrameworkView:
    """A framework judged on one set of results."""

    framework: Framework
    as_of: str
    table: pd.DataFrame  # auditor.frameworks.requirement_status
    findings: pd.DataFrame  # auditor.frameworks.requirement_findings

    @property
    def summary(self) -> dict[str, int]:
        """Requirements per status, every status present."""
        counts = self.table["status"].value_counts()
        return {s: int(counts.get(s, 0)) for s in REQUIREMENT_STATUSES}

    @property
    def stem(self) -> str:
        """The file name of this view without its suffix: framework-NAME."""
        return f"framework-{self.framework.key}"


def build_view(results: Results, framework: Framework) -> FrameworkView:
    """Judge every requirement of `framework` on `results.findings`."""
    return FrameworkView(
        framework=framework,
        as_of=results.as_of,
        table=requirement_status(framework, results.findings),
        findings=requirement_findings(framework, results.findings),
    )


def _findings_by_requirement(view: FrameworkView, limit: int | None) -> dict[str, Any]:
    """requirement id -> (its listed findings as records, how many there are)."""
    out: dict[str, Any] = {}
    if not len(view.findings):
        return out
    cols = [c for c in FINDING_FIELDS if c in view.findings.columns]
    for rid, group in view.findings.groupby("requirement_id", sort=False):
        shown = group if limit is None else group.head(limit)
        out[str(rid)] = (jsonsafe.records(shown[cols]), len(group))
    return out


def requirement_records(view: FrameworkView, limit: int | None = None) -> list[dict[str, Any]]:
    """One dict per requirement, in file order: what every format shows."""
    listed = _findings_by_requirement(view, limit)
    rows = view.table.to_dict("records")
    out = []
    for req, row in zip(view.framework.requirements, rows):
        findings, total = listed.get(req.id, ([], 0))
        out.append(
            {
                "id": req.id,
                "title": req.title,
                "description": req.description,
                "status": row["status"],
                "coverage": row["coverage"],
                "controls": [{"id": c.id, "partial": c.partial} for c in req.controls],
                "gap": req.gap,
                "counts": {s: int(row[s]) for s in FINDING_STATUSES},
                "findings_total": total,
                "findings": findings,
            }
        )
    return out


def _framework_info(framework: Framework) -> dict[str, str]:
    return {
        "key": framework.key,
        "name": framework.name,
        "title": framework.title,
        "version": framework.version,
        "source": framework.source,
    }


def render_json(view: FrameworkView) -> str:
    """framework-NAME.json: the framework, a summary, and every requirement with its counts and
    all its FAIL, NOT_ASSESSED and WAIVED findings."""
    doc = {
        "schema_version": 1,
        "as_of": view.as_of,
        "framework": _framework_info(view.framework),
        "status_rules": {
            "not met": "a finding of its controls FAILs",
            "unknown": "no FAIL, but a finding is NOT_ASSESSED",
            "met": "its controls' findings all PASS or are WAIVED",
            "not applicable": "its controls produced no judged finding",
            "no evidence": "no control gives evidence for it yet",
        },
        "summary": view.summary,
        "requirements": requirement_records(view),
    }
    # Every value is JSON-ready already (jsonsafe.records made the findings so): skip a second
    # walk over what can be a large document; allow_nan=False still refuses NaN.
    return json.dumps(doc, indent=2, ensure_ascii=False, allow_nan=False) + "\n"


def render_csv(view: FrameworkView) -> str:
    """framework-NAME.csv: one row per requirement (status, coverage, controls, counts)."""
    table = view.table.copy()
    table["controls"] = [
        ";".join(c.id + (" (partial)" if c.partial else "") for c in r.controls)
        for r in view.framework.requirements
    ]
    table.insert(0, "framework", view.framework.key)
    table["gap"] = [r.gap or "" for r in view.framework.requirements]
    buffer = io.StringIO()
    table.to_csv(buffer, index=False, lineterminator="\n")
    return buffer.getvalue()


def render_md(view: FrameworkView, top: int = TOP) -> str:
    """framework-NAME.md: summary, one table row per requirement, then each requirement's
    failing, unknown and waived findings (the first `top`)."""
    return (
        environment()
        .get_template("framework.md.j2")
        .render(
            fw=_framework_info(view.framework),
            as_of=view.as_of,
            summary=view.summary,
            statuses=REQUIREMENT_STATUSES,
            requirements=requirement_records(view, limit=top),
            top=top,
            stem=view.stem,
        )
    )


def html_context(view: FrameworkView, top: int = 2 * TOP) -> dict[str, Any]:
    """What the Framework section of report.html shows."""
    return {
        "info": _framework_info(view.framework),
        "summary": view.summary,
        "statuses": REQUIREMENT_STATUSES,
        "colors": STATUS_COLORS,
        "requirements": requirement_records(view, limit=top),
        "top": top,
        "stem": view.stem,
    }


RENDERERS = {"json": render_json, "csv": render_csv, "md": render_md}

__all__ = [
    "RENDERERS",
    "FrameworkView",
    "build_view",
    "html_context",
    "render_csv",
    "render_json",
    "render_md",
    "requirement_records",
]
