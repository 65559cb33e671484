"""report.html's embedded data: every finding, dictionary-encoded, safe inside <script>, evidence
within its budget; the at-a-glance numbers (cost range, account matrix)."""

from __future__ import annotations

import json
import re

import pandas as pd

from auditor.report import findings_frame, render
from auditor.report.html import (
    cost_range,
    findings_payload,
    json_text,
    script_safe,
    status_matrix,
)
from auditor.report.model import ordered


def _decode(payload: dict) -> list[dict]:
    codes, values = payload["codes"], payload["values"]
    rows = []
    for i in range(payload["n"]):
        row = {
            col: (values[col][codes[col][i]] if codes[col][i] >= 0 else None)
            for col in codes
            if col not in ("arn_head", "arn_tail")
        }
        row["resource_arn"] = (
            values["arn_head"][codes["arn_head"][i]] + values["arn_tail"][codes["arn_tail"][i]]
        )
        rows.append(row)
    return rows


def test_payload_round_trips_every_finding_in_reading_order(results):
    payload = findings_payload(ordered(results.findings))
    rows = _decode(payload)
    expected = ordered(results.findings)
    assert [r["resource_arn"] for r in rows] == list(expected["resource_arn"])
    assert [r["status"] for r in rows] == list(expected["status"])
    assert [r["plan"] for r in rows] == list(expected["plan"].fillna(""))
    assert json.loads(rows[0]["evidence"]) == expected["evidence"].iloc[0]
    # ARNs of one account share their head: sent once
    assert "arn:aws:ec2:us-east-1:111122223333:volume/" in payload["values"]["arn_head"]


def test_script_safe_json_cannot_close_the_script_element():
    value = {"x": "</script><script>alert(1)</script>", "y": "a & b > c \u2028\u2029"}
    text = str(script_safe(json_text(value)))
    assert "</" not in text and "<" not in text and "&" not in text and "\u2028" not in text
    assert "\u2029" not in text
    assert json.loads(text) == value
    # made safe a slice at a time, as report.html is written, the text is the same
    whole = json_text(value)
    assert "".join(script_safe(whole[i : i + 7]) for i in range(0, len(whole), 7)) == text


def test_evidence_is_kept_failing_first_within_its_budget(results):
    rows = ordered(results.findings)
    sizes = [len(json.dumps(e, sort_keys=True)) for e in rows["evidence"]]
    budget = sizes[0] + sizes[1]
    decoded = _decode(findings_payload(rows, evidence_budget=budget))
    kept = [r["evidence"] is not None for r in decoded]
    assert kept[:2] == [True, True] and not any(kept[2:])


def test_remediation_and_owner_columns_travel_when_present(results):
    results.findings["remediation"] = "aws backup put-backup-vault-lock-configuration"
    results.findings["owner"] = None
    payload = findings_payload(ordered(results.findings))
    assert "remediation" in payload["columns"] and "owner" not in payload["columns"]


def test_cost_range_and_verified_share(results):
    results.metering_info["totals"] = {
        "estimated_cost_usd": 10.0,
        "upper_bound_cost_usd": 25.0,
        "verified_price_share": 0.8333,
    }
    assert cost_range(results) == {"low": 10.0, "high": 25.0, "verified_pct": 83}
    results.metering_info["totals"] = {"estimated_cost_usd": 10.0, "upper_bound_cost_usd": 10.0}
    assert cost_range(results) == {"low": 10.0, "high": None, "verified_pct": None}


def test_matrix_counts_fails_per_control_and_account():
    df = findings_frame(
        [
            dict(resource_arn=f"arn:{i}", account_id=acct, control_id=ctl, plan="gold", status=st)
            for i, (acct, ctl, st) in enumerate(
                [
                    ("A", "c1", "FAIL"),
                    ("A", "c1", "PASS"),
                    ("B", "c1", "FAIL"),
                    ("B", "c1", "FAIL"),
                    ("B", "c2", "PASS"),
                    ("A", "c2", "NOT_APPLICABLE"),
                ]
            )
        ]
    )
    matrix = status_matrix(df)
    assert matrix["accounts"] == ["B", "A"]  # most FAILs first
    control = {r["label"]: r for r in matrix["sections"][0]["rows"]}
    assert control["c1"]["all"] == [3, 25.0]
    assert control["c1"]["cells"] == [[2, 0.0], [1, 50.0]]
    assert control["c2"]["cells"] == [[0, 100.0], None]  # NOT_APPLICABLE is not judged
    plan = matrix["sections"][1]["rows"]
    assert plan == [{"label": "gold", "all": [3, 40.0], "cells": [[2, 33.3], [1, 50.0]]}]


def test_page_lists_every_finding_count(results):
    big = pd.concat([results.findings] * 500, ignore_index=True)
    results.findings = findings_frame(big)
    html = render(results, "html")
    data = json.loads(re.search(r'id="report-data">(.*?)</script>', html, re.S).group(1))
    assert data["findings"]["n"] == 4000 and "All 4000 findings" in html


def test_a_big_estate_carries_its_first_findings_and_says_where_the_rest_are(results, monkeypatch):
    from auditor.report import html as page

    big = pd.concat([results.findings] * 500, ignore_index=True)
    results.findings = findings_frame(big)
    monkeypatch.setattr(page, "HTML_ROWS", 1000)
    html = render(results, "html")
    data = json.loads(re.search(r'id="report-data">(.*?)</script>', html, re.S).group(1))
    assert data["findings"]["n"] == 1000
    assert "The first 1000 of 4000 findings, failing first" in html
    assert "every finding, typed, is in findings.parquet" in html
    # the page's rows are the first in reading order: every FAIL before any other status
    statuses = _decode(data["findings"])
    fails = int((results.findings["status"] == "FAIL").sum())
    assert [r["status"] for r in statuses[: min(fails, 1000)]] == ["FAIL"] * min(fails, 1000)


def test_the_page_written_in_pieces_is_the_page_rendered_whole(results, monkeypatch):
    # report.html is written in pieces, its data made safe for <script> a slice at a time
    from auditor.report import html as page
    from auditor.report.templating import environment

    monkeypatch.setattr(page, "PIECE_CHARS", 64)
    pieces = list(page.render_pieces(results))
    ctx = page.context(results)
    ctx["data_json"] = page.script_safe(ctx["data_json"])
    whole = environment().get_template("report.html.j2").render(**ctx)
    assert len(pieces) > 20 and "".join(pieces) == whole
    assert "\x00" not in "".join(pieces)  # the marker was replaced by the data


def test_reading_order_is_status_severity_arn_control_and_stable():
    # what a reader sees first: FAIL before NOT_ASSESSED, WAIVED, PASS, NOT_APPLICABLE; the
    # worst severity first (whatever its case); then ARN and control as text, a null as "";
    # rows equal on all four keep the order they came in
    rows = [
        dict(resource_arn="arn:b", control_id="c2", status="PASS", severity="low", detail="1"),
        dict(resource_arn="arn:a", control_id="c1", status="FAIL", severity="low", detail="2"),
        dict(resource_arn=None, control_id="c1", status="FAIL", severity="HIGH", detail="3"),
        dict(resource_arn="arn:a", control_id="c0", status="FAIL", severity="high", detail="4"),
        dict(resource_arn="arn:a", control_id="c1", status="FAIL", severity="low", detail="5"),
        dict(
            resource_arn="arn:c",
            control_id=None,
            status="NOT_ASSESSED",
            severity="critical",
            detail="6",
        ),
        dict(resource_arn="arn:Z", control_id="c1", status="WAIVED", severity="medium", detail="7"),
        dict(resource_arn="arn:é", control_id="c1", status="FAIL", severity="low", detail="8"),
        dict(resource_arn="arn:a", control_id="c1", status="odd", severity="bogus", detail="9"),
    ]
    got = list(ordered(findings_frame(rows))["detail"])
    assert got == ["3", "4", "2", "5", "8", "6", "7", "1", "9"]


def test_values_that_are_not_text_are_ordered_and_shown_as_their_text(results):
    # a column with a number among its texts (a hand-made findings file) still reads in text
    # order, a null as "", and the page shows the number as its text
    import numpy as np

    from auditor.report.model import reading_order

    rows = findings_frame(
        [
            dict(resource_arn=arn, control_id="c", status="FAIL", severity="low", detail=detail)
            for arn, detail in (("arn:b", "x"), (10, 7), (9, "y"), (None, 2.5))
        ]
    )
    assert list(reading_order(rows)) == [3, 1, 2, 0]  # "", "10", "9", "arn:b"
    decoded = _decode(findings_payload(rows.iloc[np.asarray(reading_order(rows))]))
    assert [r["detail"] for r in decoded] == ["2.5", "7", "y", "x"]
    results.findings = rows
    html = render(results, "html")
    data = json.loads(re.search(r'id="report-data">(.*?)</script>', html, re.S).group(1))
    shown = {r["resource_arn"]: r["detail"] for r in _decode(data["findings"])}
    assert shown == {"": "2.5", "10": "7", "9": "y", "arn:b": "x"}
