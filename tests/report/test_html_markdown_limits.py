"""report.md for pull requests: the top failing findings with their remediation, always within
GitHub's 65,536-character comment limit, saying how many more there are and where."""

from __future__ import annotations

import re

from auditor.report import findings_frame, markdown, render
from auditor.report.markdown import COMMENT_LIMIT
from auditor.report.sample import FINDINGS, make_results


def test_remediation_is_shown_with_each_failing_finding(results):
    fix = "Deploy the selection: aws backup create-backup-selection --backup-plan-id <id> | jq"
    results.findings["remediation"] = [
        fix if s == "FAIL" else None for s in results.findings["status"]
    ]
    md = render(results, "md")
    # raw HTML cannot leak from the text; the command's pipe stays readable outside a table
    assert md.count("**Fix:** Deploy the selection: aws backup create-backup-selection") == 3
    assert "--backup-plan-id &lt;id&gt; | jq" in md and "<id>" not in md


def test_summary_answers_at_a_glance(results):
    results.metering_info["totals"] = {
        "estimated_cost_usd": 11.33,
        "upper_bound_cost_usd": 40.5,
        "verified_price_share": 0.25,
    }
    md = render(results, "md")
    assert "- **3 FAIL**: 1 critical, 1 high, 1 medium" in md
    assert "- **3 of 5** resource(s) in scope have at least one FAIL" in md
    assert "- **1 NOT_ASSESSED**: 1 call(s) failed" in md
    assert "**$11.33 – $40.50/month** (estimate – upper bound), 25 % of prices verified" in md


def test_many_long_findings_fit_a_github_comment():
    results = make_results()
    rows = [
        dict(
            FINDINGS[0],
            resource_arn=f"arn:aws:ec2:us-east-1:111122223333:volume/vol-{i:05d}",
            detail="d" * 2000,
            remediation="r" * 5000,
        )
        for i in range(3000)
    ]
    results.findings = findings_frame(rows)
    assert "First 25 of 3000" in render(results, "md")
    # asked for 200 long findings (about 1,300 characters each): as many as fit are kept
    md = markdown.render(results, top=200)
    assert len(md) <= COMMENT_LIMIT
    shown = int(re.search(r"### First (\d+) of 3000 finding", md).group(1))
    assert 40 <= shown < 200
    assert md.count("**Fix:**") == shown
    assert f"…and {3000 - shown} more: every finding is in `findings.csv` and `report.html`." in md
