"""Throttling: with ~20 % of requests answered `RequestLimitExceeded` / `Throttling` /
`ThrottlingException`, retries recover every call and the inventory equals an unthrottled run."""

from __future__ import annotations

from datetime import UTC

import pandas as pd
import pytest

from auditor.aws import CollectOptions, collect_inventory
from auditor.inventory import TABLES


def _collect(h, factory, **kwargs):
    return collect_inventory(
        CollectOptions(
            regions=list(h.REGIONS), as_of=h.AS_OF, session_factory=factory, page_size=5, **kwargs
        )
    )


@pytest.fixture(scope="module")
def baseline(estate):
    """The unthrottled inventory (small pages, so throttles land in the middle of listings).

    Collected twice: moto moves a new database from `creating` to `available` when it is first
    described, so only the second look is the settled state every later run sees.
    """
    from datetime import datetime

    options = CollectOptions(
        regions=["us-east-1", "eu-west-1"],
        page_size=5,
        services=("rds", "efs"),
        as_of=datetime(2026, 11, 26, 12, 0, tzinfo=UTC),
    )
    collect_inventory(options)
    options.services = CollectOptions(regions=[]).services
    return collect_inventory(options)


def test_throttled_run_collects_the_same_inventory(estate, baseline, injector, h):
    injector.throttle(rate=0.2, seed=8)
    throttled = _collect(h, injector)

    # the injection really happened, in every wire protocol the collectors use
    sent = len(injector.sent)
    throttles = sum(injector.injected.values())
    assert 0.1 < throttles / sent < 0.3, (throttles, sent)
    assert injector.injected.get("RequestLimitExceeded", 0) > 0  # EC2
    assert injector.injected.get("Throttling", 0) > 0  # RDS (query protocol)
    assert (
        injector.injected.get("ThrottlingException", 0) > 0
    )  # DynamoDB, Backup, EFS, tagging (JSON)
    assert len(injector.calls) < sent  # retries were sent again

    assert throttled.errors.empty, throttled.errors
    assert baseline.errors.empty
    assert len(baseline.resources) > 10 and len(baseline.recovery_points) > 50
    for table in TABLES:
        pd.testing.assert_frame_equal(
            h.sorted_frame(throttled.tables[table]),
            h.sorted_frame(baseline.tables[table]),
            obj=table,
        )
    # the manifest counts logical calls, not retries
    assert throttled.manifest["api_calls"] == baseline.manifest["api_calls"]


def test_throttling_beyond_the_retry_budget_is_an_error_not_a_gap(estate, injector, h, monkeypatch):
    """When retries run out, the listing is an `errors` row (NOT_ASSESSED later), never silently empty."""
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "2")
    injector.fail(
        "ec2", "DescribeSnapshots", "RequestLimitExceeded", status=503, region="eu-west-1"
    )
    inv = _collect(h, injector)
    errors = inv.errors
    assert list(errors["operation"]) == ["DescribeSnapshots"]
    assert (
        errors.iloc[0]["error_code"] == "RequestLimitExceeded"
        and errors.iloc[0]["region"] == "eu-west-1"
    )
    # retried once (2 attempts) for every request of that listing, then given up
    attempts = [s for s in injector.sent if s == ("ec2", "DescribeSnapshots", "eu-west-1")]
    assert len(attempts) == 2
    eu_snaps = inv.recovery_points[
        (inv.recovery_points["region"] == "eu-west-1")
        & (inv.recovery_points["backup_type"] == "ebs-snapshot")
        & (inv.recovery_points["source"] == "native")
    ]
    assert eu_snaps.empty


@pytest.mark.parametrize("rate", [0.2, 0.5])
def test_sustained_throttling_collects_the_same_inventory(
    estate, baseline, injector, h, monkeypatch, rate
):
    """Throttling that does not let up (any attempt, however often in a row) at 20 % and 50 %.

    botocore's per-client retry quota runs dry under sustained 50 % throttling; the collectors
    then ask again after a back-off (waiting patched out here), so nothing is lost. While the
    quota lasts, a request throttled on all of its AWS_MAX_ATTEMPTS (10) attempts is an error row
    by design (about 1 in 1,024 requests at 50 %; see the retry-budget test above): the injector decides
    each attempt from the seed and the request alone, so this seed throttles no request that often
    in any run.
    """
    import auditor.aws.context

    monkeypatch.setattr(auditor.aws.context, "_sleep", lambda seconds: None)
    injector.throttle(rate=rate, seed=21, sustained=True)
    throttled = _collect(h, injector)
    sent = len(injector.sent)
    throttles = sum(injector.injected.values())
    assert rate - 0.1 < throttles / sent < rate + 0.1, (throttles, sent)
    assert throttled.errors.empty, throttled.errors[["service", "operation", "error_code"]]
    for table in TABLES:
        pd.testing.assert_frame_equal(
            h.sorted_frame(throttled.tables[table]),
            h.sorted_frame(baseline.tables[table]),
            obj=table,
        )


def test_sustained_throttling_outlasts_the_clients_retry_quota(estate, injector, monkeypatch):
    """One client making ~700 calls under sustained 50 % throttling: botocore's per-client retry
    quota (500 units; a throttled retry costs 5, a call gives back 1 or 5) runs dry part-way, after
    which botocore stops retrying; the collector's own back-off rounds still get every page."""
    from datetime import datetime

    import auditor.aws.context
    from auditor.sandbox.moto_ext import native

    monkeypatch.setattr(auditor.aws.context, "_sleep", lambda seconds: None)
    region, count = "us-west-2", 3500
    created = datetime(2026, 11, 1)
    for i in range(count):
        native.add_ebs_snapshot(
            "123456789012",
            region,
            volume_id=f"vol-{i:017x}",
            volume_size_gib=1,
            created=created,
            snapshot_id=f"snap-{i:017x}",
        )
    injector.throttle(rate=0.5, seed=5, sustained=True)
    inv = collect_inventory(
        CollectOptions(
            regions=[region],
            services=("ebs",),
            page_size=5,
            as_of=datetime(2026, 11, 26, 12, 0, tzinfo=UTC),
            session_factory=injector,
        )
    )
    assert inv.errors.empty, inv.errors[["operation", "error_code"]]
    assert len(inv.recovery_points) == count
    assert inv.manifest["api_calls"]["ec2:DescribeSnapshots"] >= count // 5
