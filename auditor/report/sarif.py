"""SARIF 2.1.0 log: one rule per control (from the control registry), one result per finding that
needs attention.

FAIL is a result of kind `fail` whose level follows the severity; NOT_ASSESSED is kind `open`
(the check could not be made); WAIVED is a `fail` carrying an external suppression with the
waiver's justification, so code-scanning tools show it as dismissed. PASS and NOT_APPLICABLE are
left out: SARIF consumers list problems, and the pass counts are in the run's properties.
Resources are not files, so each result names its resource as a logical location (the ARN).
At most MAX_RESULTS results are written, worst first (GitHub code scanning rejects a run with more
than 25,000); the run's properties then say how many were left out — every finding is in findings.csv.
"""

from __future__ import annotations

import hashlib
import json

from auditor import __version__
from auditor.report.model import ControlInfo, Results, ordered, status_counts

SCHEMA_URI = (
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
)
MAX_RESULTS = 25_000
_LEVEL = {"critical": "error", "high": "error", "medium": "warning", "low": "note", "info": "note"}
_SECURITY_SEVERITY = {
    "critical": "9.0",
    "high": "7.0",
    "medium": "5.0",
    "low": "3.0",
    "info": "1.0",
}


def _rules(results: Results) -> list[ControlInfo]:
    known = {c.control_id: c for c in results.controls}
    seen = (
        results.findings["control_id"].dropna().astype(str).unique()
        if len(results.findings)
        else []
    )
    for cid in seen:
        known.setdefault(cid, ControlInfo(cid, cid, "medium", f"auditor control {cid}."))
    return [known[k] for k in sorted(known)]


def render(results: Results) -> str:
    """SARIF 2.1.0 JSON text of `results`."""
    rules = _rules(results)
    index = {rule.control_id: i for i, rule in enumerate(rules)}
    df = ordered(results.findings)
    if len(df):
        df = df[df["status"].isin(["FAIL", "NOT_ASSESSED", "WAIVED"])]
    total = len(df)
    df = df.head(MAX_RESULTS)
    out = []
    for row in df.itertuples(index=False):
        cid = str(row.control_id)
        severity = str(row.severity or "medium").lower()
        result = {
            "ruleId": cid,
            "ruleIndex": index[cid],
            # SARIF §3.27.10: a result whose kind is not "fail" must have level "none".
            "kind": "open" if row.status == "NOT_ASSESSED" else "fail",
            "level": "none" if row.status == "NOT_ASSESSED" else _LEVEL.get(severity, "warning"),
            "message": {"text": str(row.detail or cid)},
            "locations": [
                {
                    "logicalLocations": [
                        {"fullyQualifiedName": str(row.resource_arn), "kind": "resource"}
                    ]
                }
            ],
            "partialFingerprints": {
                "auditorFinding/v1": hashlib.sha256(
                    f"{row.resource_arn}|{cid}".encode()
                ).hexdigest()
            },
            "properties": {
                "status": row.status,
                "severity": severity,
                "resourceType": row.resource_type,
                "accountId": row.account_id,
                "region": row.region,
                "plan": row.plan,
                "evidence": row.evidence or {},
            },
        }
        if row.status == "WAIVED":
            result["suppressions"] = [
                {
                    "kind": "external",
                    "status": "accepted",
                    "justification": str(row.detail or "waived"),
                }
            ]
        out.append(result)
    log = {
        "$schema": SCHEMA_URI,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "auditor",
                        "version": __version__,
                        "rules": [_rule(rule) for rule in rules],
                    }
                },
                "automationDetails": {"id": f"auditor/{results.as_of}"},
                "results": out,
                "properties": {
                    "as_of": results.as_of,
                    "counts": status_counts(results.findings),
                    **(
                        {
                            "results_left_out": total - len(out),
                            "note": "every finding is in findings.csv",
                        }
                        if total > len(out)
                        else {}
                    ),
                },
            }
        ],
    }
    return json.dumps(log, indent=2, ensure_ascii=False, default=str) + "\n"


def _rule(rule: ControlInfo) -> dict:
    severity = rule.severity.lower()
    return {
        "id": rule.control_id,
        "name": "".join(part.capitalize() for part in rule.control_id.replace("_", "-").split("-")),
        "shortDescription": {"text": rule.title},
        "fullDescription": {"text": rule.description or rule.title},
        "defaultConfiguration": {"level": _LEVEL.get(severity, "warning")},
        "properties": {
            "severity": severity,
            "security-severity": _SECURITY_SEVERITY.get(severity, "5.0"),
        },
    }
