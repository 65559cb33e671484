"""Renderers for plan-check results: pure functions `render(result) -> str`, chosen by format name.

- `text`: one line per finding that needs attention (FAIL, NOT_ASSESSED, WAIVED), `FILE:LINE`
  first so editors and CI logs link to it, then a summary line;
- `json`: the findings document of `auditor check` plus `file`/`line`/`resource` per finding;
- `junit`: one test suite per template, one test case per finding (FAIL -> failure,
  NOT_ASSESSED/NOT_APPLICABLE -> skipped, WAIVED -> passed with the waiver in system-out);
- `sarif`: SARIF 2.1.0, one rule per control, one result per FAIL/NOT_ASSESSED/WAIVED finding located
  at the template file and line (a CloudFormation resource's logical id line; for a Terraform plan,
  the line of the resource's `"address"` in the plan JSON, since plans carry no source lines);
- `md`: a Markdown summary and table (for a pull-request comment).
"""

from __future__ import annotations

import hashlib
import json
import os
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path, PurePosixPath
from urllib.parse import quote

from auditor import __version__
from auditor.plancheck.evaluate import (
    FAIL,
    NOT_APPLICABLE,
    NOT_ASSESSED,
    PASS,
    WAIVED,
    control_info,
)

SARIF_SCHEMA = (
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
)
_ATTENTION = (FAIL, NOT_ASSESSED, WAIVED)
_LEVEL = {"critical": "error", "high": "error", "medium": "warning", "low": "note", "info": "note"}
_SECURITY_SEVERITY = {
    "critical": "9.0",
    "high": "7.0",
    "medium": "5.0",
    "low": "3.0",
    "info": "1.0",
}


def _where(finding: dict) -> str:
    return f"{finding['file']}:{finding['line']}"


def _plain_evidence(value):
    if isinstance(value, dict):
        return {str(k): _plain_evidence(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [_plain_evidence(v) for v in value]
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return str(value)


def render_text(result) -> str:
    """Terminal text: findings needing attention, then counts."""
    lines = []
    for finding in result.findings:
        if finding["status"] not in _ATTENTION:
            continue
        plan = f" [{finding['plan']}]" if finding.get("plan") else ""
        lines.append(
            f"{_where(finding)}: {finding['status']} {finding['control_id']}{plan} "
            f"{finding['resource']}: {finding['detail']}"
        )
    s = result.summary
    lines.append(
        f"plan-check: {len(result.templates)} template(s), {s['total']} finding(s): {s[FAIL]} FAIL, "
        f"{s[NOT_ASSESSED]} NOT_ASSESSED, {s[WAIVED]} WAIVED, {s[PASS]} PASS, {s[NOT_APPLICABLE]} NOT_APPLICABLE"
    )
    return "\n".join(lines) + "\n"


def to_document(result) -> dict:
    """The JSON document (the shape of findings.json)."""
    return {
        "schema_version": 1,
        "as_of": result.as_of.isoformat().replace("+00:00", "Z"),
        "policies": result.policies,
        "templates": [
            {
                "file": t.path,
                "kind": t.kind,
                "resources": len(t.resources),
                "backup_plans": len(t.plans),
                "backup_selections": len(t.selections),
                "backup_vaults": len(t.vaults),
            }
            for t in result.templates
        ],
        "summary": result.summary,
        "findings": [
            {k: _plain_evidence(v) for k, v in f.items() if k != "template_file"}
            for f in result.findings
        ],
    }


def render_json(result) -> str:
    """Findings as JSON."""
    return json.dumps(to_document(result), indent=2, sort_keys=False) + "\n"


def render_junit(result) -> str:
    """JUnit XML: a suite per template, a case per finding."""
    suites = ET.Element("testsuites", name="auditor plan-check")
    by_file: dict[str, list[dict]] = {t.path: [] for t in result.templates}
    for finding in result.findings:
        by_file.setdefault(finding["template_file"], []).append(finding)
    total = failures = skipped = 0
    for path, findings in by_file.items():
        suite = ET.SubElement(suites, "testsuite", name=path)
        n_fail = n_skip = 0
        for finding in findings:
            plan = f" [{finding['plan']}]" if finding.get("plan") else ""
            case = ET.SubElement(
                suite,
                "testcase",
                classname=path,
                name=f"{finding['control_id']}{plan} {finding['resource']}",
                file=finding["file"],
                line=str(finding["line"]),
            )
            if finding["status"] == FAIL:
                n_fail += 1
                failure = ET.SubElement(
                    case,
                    "failure",
                    message=finding["detail"],
                    type=str(finding.get("severity") or ""),
                )
                failure.text = f"{_where(finding)}: {finding['detail']}"
            elif finding["status"] in (NOT_ASSESSED, NOT_APPLICABLE):
                n_skip += 1
                ET.SubElement(case, "skipped", message=f"{finding['status']}: {finding['detail']}")
            elif finding["status"] == WAIVED:
                ET.SubElement(case, "system-out").text = finding["detail"]
        suite.set("tests", str(len(findings)))
        suite.set("failures", str(n_fail))
        suite.set("errors", "0")
        suite.set("skipped", str(n_skip))
        total, failures, skipped = total + len(findings), failures + n_fail, skipped + n_skip
    suites.set("tests", str(total))
    suites.set("failures", str(failures))
    suites.set("errors", "0")
    suites.set("skipped", str(skipped))
    ET.indent(suites)
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(suites, encoding="unicode") + "\n"
    )


def _uri(path: str) -> str:
    """A relative POSIX URI for `path` (relative to the current folder when under it)."""
    candidate = Path(path)
    if candidate.is_absolute():
        try:
            candidate = candidate.resolve().relative_to(Path(os.getcwd()).resolve())
        except ValueError:
            return candidate.resolve().as_uri()
    return (
        quote(str(PurePosixPath(*candidate.parts)), safe="/")
        if candidate.parts
        else quote(path, safe="/")
    )


def render_sarif(result) -> str:
    """SARIF 2.1.0 log with physical locations (template file + line)."""
    info = control_info()
    rule_ids = sorted(set(info) | {f["control_id"] for f in result.findings})
    index = {cid: i for i, cid in enumerate(rule_ids)}
    rules = []
    for cid in rule_ids:
        severity, short, full = info.get(
            cid, ("medium", f"auditor control {cid}.", f"auditor control {cid}.")
        )
        rules.append(
            {
                "id": cid,
                "name": "".join(part.capitalize() for part in cid.split("-")),
                "shortDescription": {"text": short},
                "fullDescription": {"text": full},
                "defaultConfiguration": {"level": _LEVEL.get(severity.lower(), "warning")},
                "properties": {
                    "severity": severity.lower(),
                    "security-severity": _SECURITY_SEVERITY.get(severity.lower(), "5.0"),
                    "tags": ["backup", "policy-as-code"],
                },
            }
        )
    results = []
    for finding in result.findings:
        if finding["status"] not in _ATTENTION:
            continue
        severity = str(finding.get("severity") or "medium").lower()
        cid = finding["control_id"]
        item = {
            "ruleId": cid,
            "ruleIndex": index[cid],
            # SARIF 3.27.9/3.27.10: only kind "fail" takes a level other than "none".
            "kind": "open" if finding["status"] == NOT_ASSESSED else "fail",
            "level": "none"
            if finding["status"] == NOT_ASSESSED
            else _LEVEL.get(severity, "warning"),
            "message": {"text": f"{finding['resource']}: {finding['detail']}"},
            "locations": [
                {
                    "physicalLocation": {
                        "artifactLocation": {"uri": _uri(finding["file"])},
                        "region": {"startLine": max(1, int(finding["line"]))},
                    },
                    "logicalLocations": [
                        {"fullyQualifiedName": finding["resource"], "kind": "resource"}
                    ],
                }
            ],
            "partialFingerprints": {
                "auditorPlanCheck/v1": hashlib.sha256(
                    f"{finding['template_file']}|{finding['resource']}|{cid}|{finding.get('plan') or ''}".encode()
                ).hexdigest()
            },
            "properties": {
                "status": finding["status"],
                "plan": finding.get("plan"),
                "severity": severity,
                "resource_type": finding.get("resource_type"),
                "template_type": finding.get("template_type"),
            },
        }
        if finding["status"] == WAIVED:
            waiver = (finding.get("evidence") or {}).get("waiver") or {}
            item["suppressions"] = [
                {
                    "kind": "external",
                    "status": "accepted",
                    "justification": str(waiver.get("reason") or "waived"),
                }
            ]
        results.append(item)
    log = {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "auditor",
                        "semanticVersion": __version__,
                        "version": __version__,
                        "informationUri": "https://docs.aws.amazon.com/aws-backup/latest/devguide/",
                        "rules": rules,
                    }
                },
                "artifacts": [
                    {
                        "location": {"uri": _uri(t.path)},
                        "sourceLanguage": "yaml" if t.path.endswith((".yaml", ".yml")) else "json",
                    }
                    for t in result.templates
                ],
                "results": results,
                "invocations": [{"executionSuccessful": True}],
                "properties": {"summary": result.summary, "as_of": result.as_of.isoformat()},
            }
        ],
    }
    return json.dumps(log, indent=2) + "\n"


def _md(text: object) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def render_md(result) -> str:
    """Markdown: summary counts and a table of findings needing attention."""
    s = result.summary
    lines = [
        "## auditor plan-check",
        "",
        f"{len(result.templates)} template(s) checked against `{_md(result.policies)}`: "
        f"**{s[FAIL]} FAIL**, {s[NOT_ASSESSED]} NOT_ASSESSED, {s[WAIVED]} WAIVED, {s[PASS]} PASS, {s[NOT_APPLICABLE]} NOT_APPLICABLE.",
        "",
    ]
    attention = [f for f in result.findings if f["status"] in _ATTENTION]
    if attention:
        lines += [
            "| status | control | plan | where | resource | detail |",
            "|---|---|---|---|---|---|",
        ]
        for f in attention:
            lines.append(
                f"| {f['status']} | {_md(f['control_id'])} | {_md(f.get('plan') or '')} | `{_md(_where(f))}` | "
                f"`{_md(f['resource'])}` | {_md(f['detail'])} |"
            )
    else:
        lines.append("Every checked resource meets its declared plans.")
    return "\n".join(lines) + "\n"


RENDERERS: dict[str, Callable] = {
    "text": render_text,
    "json": render_json,
    "junit": render_junit,
    "sarif": render_sarif,
    "md": render_md,
}
