"""Unpriced storage reaches the report as null and reads "unpriced", never $0."""

from __future__ import annotations

import math

from auditor.report import html, markdown
from auditor.report.model import cost_by, metering_frame
from auditor.report.sample import make_results

ROWS = [
    dict(
        account_id="111122223333",
        region="us-east-1",
        service="EBS",
        billing_owner="AmazonEC2",
        storage_class="warm",
        gb_months=100.0,
        estimated_cost_usd=5.0,
    ),
    dict(
        account_id="111122223333",
        region="xx-new-1",
        service="EBS",
        billing_owner="AmazonEC2",
        storage_class="warm",
        gb_months=10.0,
        estimated_cost_usd=None,
    ),
    dict(
        account_id="111122223333",
        region="us-east-1",
        service="fsx",
        billing_owner="(unknown)",
        storage_class="warm",
        gb_months=7.0,
        estimated_cost_usd=None,
    ),
]


def test_null_cost_stays_null_in_the_model():
    frame = metering_frame(ROWS)
    assert math.isnan(frame.loc[1, "estimated_cost_usd"])
    owners = cost_by(frame).set_index("billing_owner")
    assert owners.loc["AmazonEC2", "estimated_cost_usd"] == 5.0  # the priced part
    assert math.isnan(
        owners.loc["(unknown)", "estimated_cost_usd"]
    )  # only unpriced storage: null, not 0


def test_reports_say_unpriced_where_the_cost_would_be():
    results = make_results(with_inventory=False)
    results.metering = metering_frame(ROWS)
    md = markdown.render(results)
    assert "| (unknown) | 7.00 | unpriced |" in md
    page = html.render(results)
    assert '<td>(unknown)</td><td class="num">7.00</td><td class="num">unpriced</td>' in page
    assert "NaN" not in page and ">nan" not in page and '"nan"' not in page
