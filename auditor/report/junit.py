"""JUnit XML for CI dashboards: one testsuite per control, one testcase per finding.

A finding is one resource judged by one control against one plan, so the testcase name is the
resource ARN followed by the plan (`ARN (plan gold)`); a resource two plans select gets one
testcase per plan, and CI dashboards, which key test results by (classname, name), keep each
verdict instead of merging a PASS with a SKIP.

FAIL is a `<failure>`, NOT_ASSESSED an `<error>` (the check could not run), WAIVED and
NOT_APPLICABLE are `<skipped>` with the reason; PASS is a plain testcase.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Any

from auditor import jsonsafe
from auditor.report.model import Results, ordered


def render(results: Results) -> str:
    """JUnit XML text (UTF-8, indented) of the findings in `results`."""
    df = ordered(results.findings)
    root = ET.Element("testsuites", name="auditor")
    totals = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    groups = df.groupby(df["control_id"].fillna("(none)").astype(str), sort=True) if len(df) else []
    for control_id, rows in groups:
        suite = ET.SubElement(root, "testsuite", name=control_id, timestamp=results.as_of)
        counts = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
        for row in rows.itertuples(index=False):
            case = ET.SubElement(
                suite,
                "testcase",
                classname=f"{control_id}.{row.resource_type or 'resource'}",
                name=_case_name(row),
                time="0",
            )
            detail = str(row.detail or "")
            counts["tests"] += 1
            if row.status == "FAIL":
                counts["failures"] += 1
                failure = ET.SubElement(
                    case, "failure", message=detail, type=str(row.severity or "")
                )
                failure.text = _evidence(row)
            elif row.status == "NOT_ASSESSED":
                counts["errors"] += 1
                error = ET.SubElement(case, "error", message=detail, type="NOT_ASSESSED")
                error.text = _evidence(row)
            elif row.status in ("WAIVED", "NOT_APPLICABLE"):
                counts["skipped"] += 1
                ET.SubElement(case, "skipped", message=f"{row.status}: {detail}")
        for key, value in counts.items():
            suite.set(key, str(value))
            totals[key] += value
    for key, value in totals.items():
        root.set(key, str(value))
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def _case_name(row: Any) -> str:
    arn = row.resource_arn if isinstance(row.resource_arn, str) else ""
    return f"{arn} (plan {row.plan})" if isinstance(row.plan, str) and row.plan else arn


def _evidence(row: Any) -> str:
    plan = f"plan: {row.plan}\n" if isinstance(row.plan, str) and row.plan else ""
    evidence = row.evidence if isinstance(row.evidence, dict) else {}
    facts = jsonsafe.dumps(evidence, sort_keys=True, newline=False)
    return f"{row.account_id} {row.region} {row.resource_type}\n{plan}evidence: {facts}"
