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
from collections.abc import Iterator
from typing import Any

from auditor import jsonsafe
from auditor.report.model import Results, evidence_of, ordered


def render(results: Results) -> str:
    """JUnit XML text (UTF-8, indented) of the findings in `results`."""
    return "".join(render_pieces(results))


def render_pieces(results: Results) -> Iterator[str]:
    """JUnit XML text of `results` in pieces, one testsuite at a time (junit.xml is written so:
    the elements of every finding are never all in memory at once). The text is the one
    ElementTree writes for the whole tree, indented by `ET.indent`."""
    df = ordered(results.findings)
    root = ET.Element("testsuites", name="auditor")
    status = df["status"] if len(df) else None
    totals = {
        "tests": len(df),
        "failures": int((status == "FAIL").sum()) if status is not None else 0,
        "errors": int((status == "NOT_ASSESSED").sum()) if status is not None else 0,
        "skipped": int(status.isin(["WAIVED", "NOT_APPLICABLE"]).sum())
        if status is not None
        else 0,
    }
    for key, value in totals.items():
        root.set(key, str(value))
    if not len(df):
        yield _XML_DECLARATION + ET.tostring(root, encoding="unicode") + "\n"
        return
    # The root's start tag as ElementTree writes it when the root has children.
    yield _XML_DECLARATION + ET.tostring(root, encoding="unicode").removesuffix(" />") + ">\n  "
    groups = list(df.groupby(df["control_id"].fillna("(none)").astype(str), sort=True))
    for n, (control_id, rows) in enumerate(groups):
        suite = _suite(str(control_id), rows, results.as_of)
        ET.indent(suite, level=1)
        # each suite on its own line, as ET.indent(root) places the root's children
        suite.tail = "\n" if n == len(groups) - 1 else "\n  "
        yield ET.tostring(suite, encoding="unicode")
    yield "</testsuites>\n"


_XML_DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>\n'


def _suite(control_id: str, rows: Any, as_of: str) -> ET.Element:
    """The testsuite of one control: a testcase per finding, and its counts."""
    suite = ET.Element("testsuite", name=control_id, timestamp=as_of)
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
            failure = ET.SubElement(case, "failure", message=detail, type=str(row.severity or ""))
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
    return suite


def _case_name(row: Any) -> str:
    arn = row.resource_arn if isinstance(row.resource_arn, str) else ""
    return f"{arn} (plan {row.plan})" if isinstance(row.plan, str) and row.plan else arn


def _evidence(row: Any) -> str:
    plan = f"plan: {row.plan}\n" if isinstance(row.plan, str) and row.plan else ""
    facts = jsonsafe.dumps(evidence_of(row.evidence), sort_keys=True, newline=False)
    return f"{row.account_id} {row.region} {row.resource_type}\n{plan}evidence: {facts}"
