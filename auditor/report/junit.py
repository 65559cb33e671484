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

import pandas as pd

from auditor import jsonsafe
from auditor.report.model import Results, evidence_of, ordered, text_of


def render(results: Results) -> str:
    """JUnit XML text (UTF-8, indented) of the findings in `results`."""
    return "".join(render_pieces(results))


def render_pieces(results: Results) -> Iterator[str]:
    """JUnit XML text of `results` in pieces of at most CASES_PER_PIECE testcases (junit.xml is
    written so: the elements of a suite are never all in memory at once). The text is the one
    ElementTree writes for the whole tree, indented by `ET.indent`."""
    df = ordered(results.findings)
    root = ET.Element("testsuites", name="auditor")
    status = df["status"] if "status" in df.columns else pd.Series(dtype=object)
    for key, value in _counts(status).items():
        root.set(key, str(value))
    if not len(df):
        yield _XML_DECLARATION + ET.tostring(root, encoding="unicode") + "\n"
        return
    # The root's start tag as ElementTree writes it when the root has children.
    yield _XML_DECLARATION + ET.tostring(root, encoding="unicode").removesuffix(" />") + ">\n  "
    groups = df.groupby(df["control_id"].fillna("(none)").astype(str), sort=True)
    for n, (control_id, rows) in enumerate(groups):
        yield from _suite(str(control_id), rows, results.as_of)
        # each suite on its own line, as ET.indent(root) places the root's children
        yield "\n" if n == groups.ngroups - 1 else "\n  "
    yield "</testsuites>\n"


_XML_DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>\n'
# Testcases serialised into one piece of junit.xml.
CASES_PER_PIECE = 2000
# ET.indent's whitespace before a suite's testcases (level 2) and before its end tag (level 1).
_CASE_INDENT, _SUITE_END_INDENT = "\n    ", "\n  "


def _counts(status: Any) -> dict[str, int]:
    """The counts a testsuite (or the testsuites root) carries, from its findings' statuses."""
    return {
        "tests": len(status),
        "failures": int((status == "FAIL").sum()),
        "errors": int((status == "NOT_ASSESSED").sum()),
        "skipped": int(status.isin(["WAIVED", "NOT_APPLICABLE"]).sum()),
    }


def _suite(control_id: str, rows: Any, as_of: str) -> Iterator[str]:
    """The testsuite of one control, in pieces: its start tag with its counts, its testcases
    (a testcase per finding), its end tag."""
    suite = ET.Element("testsuite", name=control_id, timestamp=as_of)
    for key, value in _counts(rows["status"]).items():
        suite.set(key, str(value))
    yield ET.tostring(suite, encoding="unicode").removesuffix(" />") + ">" + _CASE_INDENT
    cases = []
    for i, row in enumerate(rows.itertuples(index=False)):
        case = _case(control_id, row)
        ET.indent(case, level=2)
        case.tail = _CASE_INDENT if i < len(rows) - 1 else _SUITE_END_INDENT
        cases.append(ET.tostring(case, encoding="unicode"))
        if len(cases) == CASES_PER_PIECE:
            yield "".join(cases)
            cases = []
    yield "".join(cases) + "</testsuite>"


def _case(control_id: str, row: Any) -> ET.Element:
    """The testcase of one finding: FAIL a failure, NOT_ASSESSED an error, WAIVED and
    NOT_APPLICABLE skipped, PASS plain."""
    case = ET.Element(
        "testcase",
        classname=f"{control_id}.{row.resource_type or 'resource'}",
        name=_case_name(row),
        time="0",
    )
    detail = text_of(row.detail)
    if row.status == "FAIL":
        failure = ET.SubElement(case, "failure", message=detail, type=text_of(row.severity))
        failure.text = _evidence(row)
    elif row.status == "NOT_ASSESSED":
        error = ET.SubElement(case, "error", message=detail, type="NOT_ASSESSED")
        error.text = _evidence(row)
    elif row.status in ("WAIVED", "NOT_APPLICABLE"):
        ET.SubElement(case, "skipped", message=f"{row.status}: {detail}")
    return case


def _case_name(row: Any) -> str:
    arn = row.resource_arn if isinstance(row.resource_arn, str) else ""
    return f"{arn} (plan {row.plan})" if isinstance(row.plan, str) and row.plan else arn


def _evidence(row: Any) -> str:
    plan = f"plan: {row.plan}\n" if isinstance(row.plan, str) and row.plan else ""
    facts = jsonsafe.dumps(evidence_of(row.evidence), sort_keys=True, newline=False)
    return f"{row.account_id} {row.region} {row.resource_type}\n{plan}evidence: {facts}"
