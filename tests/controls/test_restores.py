"""restore-tested and restore-time-target on hand-built inventories (edge cases of the window).

The API path (StartRestoreJob on the sandbox, collect, check) is tests/e2e/test_restores.py.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from auditor.controls import check_inventory

ID_TESTED, ID_TIME = "restore-tested", "restore-time-target"


def _restore(estate, h, arn, age_days, minutes, **fields):
    start = h.AS_OF - timedelta(days=age_days)
    estate.add(
        "restore_jobs",
        account_id=h.ACCOUNT,
        region=h.REGION,
        restore_job_id=f"job-{len(estate.rows['restore_jobs'])}",
        status=fields.pop("status", "COMPLETED"),
        resource_arn=arn,
        created_at=start,
        completed_at=start + timedelta(minutes=minutes),
        **fields,
    )


def test_window_edges_and_target(estate, plan_policy, check, h):
    policies = plan_policy(restore_test_days="10", restore_time_target="2h")
    edge = estate.resource("edge", tags=h.GOLD)
    _restore(estate, h, edge, 10 + 120 / 1440, 120)  # completed exactly 10 days before as_of
    late = estate.resource("late", tags=h.GOLD)
    _restore(estate, h, late, 11, 121)
    validating = estate.resource("validating", tags=h.GOLD)
    _restore(estate, h, validating, 1, 30, validation_status="VALIDATING")
    timed_out = estate.resource("timed-out", tags=h.GOLD)
    _restore(estate, h, timed_out, 1, 30, validation_status="TIMED_OUT")
    aborted = estate.resource("aborted", tags=h.GOLD)
    _restore(estate, h, aborted, 1, 30, status="ABORTED")
    untagged = estate.resource("untagged")
    findings = check(estate, policies)
    tested = h.verdicts(findings, ID_TESTED)
    assert tested[(edge, "p")] == "PASS"  # exactly at the limit passes
    assert tested[(late, "p")] == "FAIL"
    assert tested[(validating, "p")] == "PASS"  # a validation still running has not failed
    assert tested[(timed_out, "p")] == "FAIL"
    assert tested[(aborted, "p")] == "FAIL"
    assert (untagged, "p") not in tested  # not selected by the plan
    timing = h.verdicts(findings, ID_TIME)
    assert timing[(edge, "p")] == "PASS"  # 120 minutes, the target exactly
    assert timing[(late, "p")] == "FAIL"  # 121 minutes
    assert timing[(timed_out, "p")] == "FAIL"  # no successful restore: unproven


def test_not_applicable_without_the_fields(estate, plan_policy, check, h):
    arn = estate.resource("v", tags=h.GOLD)
    findings = check(estate, plan_policy())
    assert h.verdicts(findings, ID_TESTED)[(arn, "p")] == "NOT_APPLICABLE"
    assert h.verdicts(findings, ID_TIME)[(arn, "p")] == "NOT_APPLICABLE"


def test_short_collection_window_is_not_assessed(estate, plan_policy, h):
    """Restore jobs collected for 30 days cannot show there was none in the last 90."""
    policies = plan_policy(restore_test_days="90")
    never = estate.resource("never", tags=h.GOLD)
    recent = estate.resource("recent", tags=h.GOLD)
    _restore(estate, h, recent, 5, 10)
    inventory = estate.inventory()
    inventory.manifest["jobs_since"] = (h.AS_OF - timedelta(days=30)).isoformat()
    findings = check_inventory(inventory, policies, h.AS_OF)
    tested = h.verdicts(findings, ID_TESTED)
    assert tested[(never, "p")] == "NOT_ASSESSED"
    assert tested[(recent, "p")] == "PASS"
    row = h.one(findings, ID_TESTED, never)
    assert "--jobs-since" in row["detail"]


def test_denied_listing_makes_them_not_assessed(estate, plan_policy, check, h):
    arn = estate.resource("v", tags=h.GOLD)
    _restore(estate, h, arn, 1, 10)
    estate.error(service="backup", operation="ListRestoreJobs")
    findings = check(estate, plan_policy(restore_test_days="7", restore_time_target="1h"))
    assert h.verdicts(findings, ID_TESTED)[(arn, "p")] == "NOT_ASSESSED"
    assert h.verdicts(findings, ID_TIME)[(arn, "p")] == "NOT_ASSESSED"
    # a failed snapshot listing does not touch them
    estate.rows["errors"].clear()
    estate.error(service="ec2", operation="DescribeSnapshots")
    findings = check(estate, plan_policy(restore_test_days="7", restore_time_target="1h"))
    assert h.verdicts(findings, ID_TESTED)[(arn, "p")] == "PASS"


# A restore job restores a recovery point of the account and Region it runs in (StartRestoreJob
# RecoveryPointArn), and ListRestoreJobs lists the jobs of one account and Region, each naming the
# resource the backup was made of (SourceResourceArn): AWS Backup API reference. The restore of a
# copy kept in another Region is listed there only.


def _copy_region_restore(estate, h, arn, age_days, minutes):
    """A restore of `arn`'s copy, run (and listed) in us-west-2."""
    _restore(estate, h, arn, age_days, minutes)
    estate.rows["restore_jobs"][-1]["region"] = "us-west-2"


def test_restore_jobs_not_listed_in_another_region_leave_a_missing_restore_not_assessed(
    estate, plan_policy, check, h
):
    never = estate.resource("never", tags=h.GOLD)
    stale = estate.resource("stale", tags=h.GOLD)
    _restore(estate, h, stale, 20, 10)  # older than the 7 days asked
    recent = estate.resource("recent", tags=h.GOLD)
    _copy_region_restore(estate, h, recent, 2, 10)  # seen: still proves the test
    estate.regions.add("us-west-2")
    estate.error(region="us-west-2", service="backup", operation="ListRestoreJobs")
    findings = check(estate, plan_policy(restore_test_days="7"), [ID_TESTED])
    tested = h.verdicts(findings, ID_TESTED)
    assert tested[(never, "p")] == "NOT_ASSESSED"
    assert tested[(stale, "p")] == "NOT_ASSESSED"
    assert tested[(recent, "p")] == "PASS"
    row = h.one(findings, ID_TESTED, never)
    assert row["detail"].startswith("Not assessed: ") and "ListRestoreJobs" in row["detail"]
    assert "us-west-2" in row["evidence"]["not_collected"]


def test_restore_controls_judge_one_account_at_a_time(estate, plan_policy, h):
    # Their scope is "account" (a distributed run judges each account on its own inventory):
    # what another account could not show, or an account not entered, leaves the verdict alone.
    never = estate.resource("never", tags=h.GOLD)
    estate.accounts.add(h.OTHER_ACCOUNT)
    estate.error(account=h.OTHER_ACCOUNT, service="backup", operation="ListRestoreJobs")
    inventory = estate.inventory()
    inventory.manifest["accounts_failed"] = ["777788889999"]
    policies = plan_policy(restore_test_days="7")
    findings = check_inventory(inventory, policies, h.AS_OF, controls=[ID_TESTED])
    assert h.one(findings, ID_TESTED, never)["status"] == "FAIL"


def test_a_failed_restore_testing_plan_listing_elsewhere_hides_no_restore(
    estate, plan_policy, check, h
):
    # ListRestoreTestingPlans lists plans, not jobs: whether a restore ran is still known.
    never = estate.resource("never", tags=h.GOLD)
    estate.regions.add("us-west-2")
    estate.error(region="us-west-2", service="backup", operation="ListRestoreTestingPlans")
    findings = check(estate, plan_policy(restore_test_days="7"), [ID_TESTED])
    assert h.verdicts(findings, ID_TESTED)[(never, "p")] == "FAIL"


@pytest.mark.parametrize("minutes", [30, 300])  # within and over the 1h target
def test_restore_time_unknown_when_restore_jobs_were_not_listed_elsewhere(
    estate, plan_policy, check, h, minutes
):
    # Its latest restore is the one judged: a later one may have run where jobs were not listed.
    arn = estate.resource("v", tags=h.GOLD)
    _restore(estate, h, arn, 3, minutes)
    estate.regions.add("us-west-2")
    estate.error(region="us-west-2", service="backup", operation="ListRestoreJobs")
    findings = check(estate, plan_policy(restore_time_target="1h"), [ID_TIME])
    row = h.one(findings, ID_TIME, arn)
    assert row["status"] == "NOT_ASSESSED", row["detail"]
    assert "ListRestoreJobs" in row["detail"] and "us-west-2" in row["detail"]


def test_restore_time_keeps_its_verdict_when_no_restore_job_listing_failed(
    estate, plan_policy, check, h
):
    arn = estate.resource("v", tags=h.GOLD)
    _restore(estate, h, arn, 3, 300)
    estate.regions.add("us-west-2")
    estate.error(region="us-west-2", service="backup", operation="ListBackupJobs")
    findings = check(estate, plan_policy(restore_time_target="1h"), [ID_TIME])
    assert h.one(findings, ID_TIME, arn)["status"] == "FAIL"
