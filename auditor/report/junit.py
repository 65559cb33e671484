"""JUnit XML for CI dashboards: one testsuite per control, one testcase per resource × control.

FAIL is a `<failure>`, NOT_ASSESSED an `<error>` (the check could not run), WAIVED and
NOT_APPLICABLE are `<skipped>` with the reason; PASS is a plain testcase.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

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
                name=str(row.resource_arn or ""),
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


def _evidence(row) -> str:
    plan = f"plan: {row.plan}\n" if row.plan else ""
    facts = json.dumps(row.evidence or {}, indent=2, sort_keys=True, default=str)
    return f"{row.account_id} {row.region} {row.resource_type}\n{plan}evidence: {facts}"
