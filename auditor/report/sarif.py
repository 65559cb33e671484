"""SARIF 2.1.0 log: one rule per control (from the control registry), one result per finding that
needs attention.

FAIL is a result of kind `fail` whose level follows the severity; NOT_ASSESSED is kind `open`
(the check could not be made); WAIVED is a `fail` carrying an external suppression with the
waiver's justification, so code-scanning tools show it as dismissed. PASS and NOT_APPLICABLE are
left out: SARIF consumers list problems, and the pass counts are in the run's properties.
Each result names its resource as a logical location (the ARN). When the finding is judged
against a plan whose declaration findings.json records (`plans`: file and line, as the policy
loader read them), the result also carries a physical location: the policy file as given on the
command line, at the plan's line, which code-scanning UIs open in the repository, and, as a
related location, the copy of that file in the results folder (`policies/...`).
At most MAX_RESULTS results are written, worst first (GitHub code scanning rejects a run with more
than 25,000); the run's properties then say how many were left out — every finding is in findings.csv.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import PurePosixPath
from typing import Any

from auditor import __version__, jsonsafe
from auditor.owners import OWNER_COLUMN_PREFIX, owner_tag_columns_of
from auditor.report.model import (
    ControlInfo,
    Results,
    evidence_of,
    reading_order,
    status_counts,
    text_of,
)

SCHEMA_URI = (
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
)
MAX_RESULTS = 25_000
_LEVEL = {"critical": "error", "high": "error", "medium": "warning", "low": "note", "info": "note"}
# The results folder holding report.sarif: the base of the policy copies' URIs.
RESULTS_BASE = "RESULTS"
# The folder the audit ran from (usually the repository root): the base of the policies as given.
SOURCE_BASE = "%SRCROOT%"
_SECURITY_SEVERITY = {
    "critical": "9.0",
    "high": "7.0",
    "medium": "5.0",
    "low": "3.0",
    "info": "1.0",
}


# The rule of a finding that names no control (a hand-made findings file), as JUnit's suite.
_NO_CONTROL = "(none)"


def _rules(results: Results) -> list[ControlInfo]:
    known = {c.control_id: c for c in results.controls}
    seen = (
        results.findings["control_id"].fillna(_NO_CONTROL).astype(str).unique()
        if len(results.findings)
        else []
    )
    for cid in seen:
        known.setdefault(cid, ControlInfo(cid, cid, "medium", f"auditor control {cid}."))
    return [known[k] for k in sorted(known)]


def render(results: Results) -> str:
    """SARIF 2.1.0 JSON text of `results`."""
    return "".join(render_pieces(results))


def render_pieces(results: Results) -> Iterator[str]:
    """SARIF 2.1.0 JSON text of `results` in pieces, one result at a time (report.sarif is
    written so: its results, evidence included, are never all in memory at once)."""
    findings = results.findings
    order = reading_order(findings)
    if len(order):  # only the rows reported are copied, in reading order
        reported = findings["status"].isin(["FAIL", "NOT_ASSESSED", "WAIVED"]).to_numpy()
        order = order[reported[order]]
    total = len(order)
    df = findings.take(order[:MAX_RESULTS])
    rules = _rules(results)
    # The log with a marker for its results, cut there: the results go between the halves,
    # each indented as json.dumps indents the items of that list.
    text = jsonsafe.dumps(_log(results, rules, len(df), total))
    head, tail = text.split(_RESULTS_MARK, 1)
    if not len(df):
        yield head + '"results": []' + tail
        return
    pad = head[head.rfind("\n") + 1 :]  # the indentation of the "results" key
    inner = "\n" + pad + "  "
    yield head + '"results": ['
    for i, result in enumerate(_results(results, rules, df)):
        piece = jsonsafe.dumps(result, newline=False).replace("\n", inner)
        yield ("," if i else "") + inner + piece
    yield "\n" + pad + "]" + tail


# Where the results go in the log's text: a string no finding holds, as JSON writes it.
_RESULTS_MARK = '"results": "\\u0000results"'


def _results(results: Results, rules: list[ControlInfo], df: Any) -> Iterator[dict[str, Any]]:
    """One SARIF result per row of `df` (the findings to report, worst first), each naming its
    rule's position in `rules`."""
    index = {rule.control_id: i for i, rule in enumerate(rules)}
    plans = _plans(results)
    owner_columns = owner_tag_columns_of(df.columns)
    for row in df.itertuples(index=False):
        cid = text_of(row.control_id) or _NO_CONTROL
        severity = (text_of(row.severity) or "medium").lower()
        result = {
            "ruleId": cid,
            "ruleIndex": index[cid],
            # SARIF §3.27.10: a result whose kind is not "fail" must have level "none".
            "kind": "open" if row.status == "NOT_ASSESSED" else "fail",
            "level": "none" if row.status == "NOT_ASSESSED" else _LEVEL.get(severity, "warning"),
            "message": {"text": text_of(row.detail) or cid},
            "locations": [_location(row, plans)],
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
                "evidence": evidence_of(row.evidence),
                **_owner_properties(row, owner_columns),
            },
        }
        related = _policy_copy(row, plans)
        if related:
            result["relatedLocations"] = [related]
        if row.status == "WAIVED":
            result["suppressions"] = [
                {
                    "kind": "external",
                    "status": "accepted",
                    "justification": text_of(row.detail) or "waived",
                }
            ]
        yield result


def _log(results: Results, rules: list[ControlInfo], shown: int, total: int) -> dict[str, Any]:
    """The SARIF log of `results` (its `rules`) with `_RESULTS_MARK` for its `shown` results
    (of `total`)."""
    return {
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
                "originalUriBaseIds": {
                    RESULTS_BASE: {
                        "description": {"text": "The results folder that holds this log."}
                    }
                },
                "results": "\u0000results",
                "properties": {
                    "as_of": results.as_of,
                    "counts": status_counts(results.findings),
                    **(
                        {
                            "results_left_out": total - shown,
                            "note": "every finding is in findings.csv",
                        }
                        if total > shown
                        else {}
                    ),
                },
            }
        ],
    }


def _owner_properties(row: Any, columns: list[str]) -> dict[str, Any]:
    """`ownerTags`: the finding's owner tags that have a value, by key (its `tag_` column's name
    without the prefix), so a code-scanning UI can show or filter who owns the resource."""
    tags = {
        c[len(OWNER_COLUMN_PREFIX) :]: getattr(row, c)
        for c in columns
        if isinstance(getattr(row, c, None), str)
    }
    return {"ownerTags": tags} if tags else {}


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


def _plans(results: Results) -> dict[str, dict[str, Any]]:
    """Declared plans by name, from findings.json's `plans` list (empty when it has none)."""
    items = results.extra.get("plans")
    if not isinstance(items, list):
        return {}
    return {
        str(item["name"]): item
        for item in items
        if isinstance(item, dict) and item.get("name") and isinstance(item.get("line"), int)
    }


def _artifact(path: str, base: str) -> dict[str, str]:
    """An artifactLocation: a relative path against `base`, an absolute one as a file URI."""
    posix = PurePosixPath(path)
    if posix.is_absolute():
        return {"uri": posix.as_uri()}
    return {"uri": posix.as_posix(), "uriBaseId": base}


def _location(row: Any, plans: dict[str, dict[str, Any]]) -> dict[str, Any]:
    location: dict[str, Any] = {
        "logicalLocations": [{"fullyQualifiedName": str(row.resource_arn), "kind": "resource"}]
    }
    plan = plans.get(text_of(row.plan))
    if plan and plan.get("source"):
        location["physicalLocation"] = {
            "artifactLocation": _artifact(str(plan["source"]), SOURCE_BASE),
            "region": {"startLine": plan["line"]},
        }
    return location


def _policy_copy(row: Any, plans: dict[str, dict[str, Any]]) -> dict[str, Any] | None:
    plan = plans.get(text_of(row.plan))
    if not plan or not plan.get("file"):
        return None
    return {
        "id": 0,
        "message": {"text": f"Plan {row.plan} as evaluated (the copy kept in the results folder)"},
        "physicalLocation": {
            "artifactLocation": _artifact(str(plan["file"]), RESULTS_BASE),
            "region": {"startLine": plan["line"]},
        },
    }
