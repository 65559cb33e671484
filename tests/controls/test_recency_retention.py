"""backup-recency, backup-retention and backup-max-retention on hand-built frames (table-driven)."""

from __future__ import annotations

import pytest

HOUR = 1.0
ALLOWED = 26.0  # frequency 24h + grace 2h


# --- backup-recency ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "backups, accept, expected",
    [
        ([dict(age_hours=25)], None, "PASS"),
        ([dict(age_hours=ALLOWED)], None, "PASS"),  # exactly at the limit
        ([dict(age_hours=ALLOWED + 1 / 3600)], None, "FAIL"),  # one second past it
        ([dict(age_hours=2, status="FAILED"), dict(age_hours=50)], None, "FAIL"),
        ([dict(age_hours=2, status="PARTIAL")], None, "FAIL"),
        ([dict(age_hours=2, status="CREATING")], None, "FAIL"),
        ([dict(age_hours=2, source="native")], "[aws-backup]", "FAIL"),
        ([dict(age_hours=2, source="native")], "[aws-backup, native]", "PASS"),
        ([dict(age_hours=2, source="native")], "[native]", "PASS"),
        ([dict(age_hours=2)], "[native]", "FAIL"),
        # a native snapshot that AWS Backup created counts as aws-backup
        ([dict(age_hours=2, source="native", created_by="aws-backup")], "[aws-backup]", "PASS"),
        # a recent copy does not make up for an old primary backup
        (
            [dict(age_hours=2, region="us-west-2", copy_of="arn:src"), dict(age_hours=40)],
            None,
            "FAIL",
        ),
        # a backup made after as_of is not evidence at as_of
        ([dict(age_hours=-5), dict(age_hours=30)], None, "FAIL"),
        ([], None, "FAIL"),
    ],
)
def test_recency_table(estate, plan_policy, check, h, backups, accept, expected):
    arn = estate.resource("vol-1", tags=h.GOLD)
    for b in backups:
        estate.backup(arn, **b)
    findings = check(estate, plan_policy(accept=accept), ["backup-recency"])
    row = h.one(findings, "backup-recency", arn)
    assert row["status"] == expected, row["detail"]
    assert row["evidence"]["allowed_hours"] == ALLOWED


@pytest.mark.parametrize("age_hours, expected", [(10, "PASS"), (ALLOWED, "PASS"), (30, "FAIL")])
def test_recency_new_resource_without_backup(estate, plan_policy, check, h, age_hours, expected):
    arn = estate.resource("vol-new", tags=h.GOLD, age_days=age_hours / 24)
    findings = check(estate, plan_policy(), ["backup-recency"])
    assert h.one(findings, "backup-recency", arn)["status"] == expected


def test_recency_evidence_and_detail(estate, plan_policy, check, h):
    arn = estate.resource("vol-1", tags=h.GOLD)
    estate.backup(arn, age_hours=30)
    row = h.one(check(estate, plan_policy(), ["backup-recency"]), "backup-recency", arn)
    assert row["status"] == "FAIL"
    assert row["evidence"]["age_hours"] == 30.0
    assert row["evidence"]["last_backup"] == "2026-11-25T06:00:00Z"
    assert "30 hours old" in row["detail"] and "26 hours" in row["detail"]


def test_recency_uses_cron_longest_gap(estate, policy, check, h):
    # Weekdays only: the longest gap is Friday -> Monday, 72 hours.
    arn = estate.resource("vol-1", tags=h.GOLD)
    estate.backup(arn, age_hours=70)
    pol = policy(h.plan_text(frequency="cron(0 5 ? * MON-FRI *)", grace="0h"))
    assert h.one(check(estate, pol, ["backup-recency"]), "backup-recency", arn)["status"] == "PASS"


# --- backup-retention ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "setup, expected",
    [
        # daily backups kept 35 days, history 40 days: fine
        (dict(days=40, keep=35), "PASS"),
        # kept forever (no lifecycle)
        (dict(days=40, keep=None), "PASS"),
        # one backup set to expire after 34 days
        (dict(days=40, keep=35, extra=dict(age_hours=5, keep_days=34)), "FAIL"),
        # exactly 35 days is enough
        (dict(days=40, keep=35, extra=dict(age_hours=5, keep_days=35)), "PASS"),
        # history too short for a resource older than the window: oldest is 20 days old
        (dict(days=20, keep=35), "FAIL"),
        # oldest must be at most 35 - 1 (one interval) = 34 days old: 34 days exactly passes
        (
            dict(days=0, keep=None, extra=dict(age_hours=34 * 24, keep_days=None), recent=True),
            "PASS",
        ),
        (
            dict(days=0, keep=None, extra=dict(age_hours=34 * 24 - 1, keep_days=None), recent=True),
            "FAIL",
        ),
        # expired/failed backups are not history
        (
            dict(days=0, keep=None, extra=dict(age_hours=40 * 24, status="EXPIRED"), recent=True),
            "FAIL",
        ),
    ],
)
def test_retention_table(estate, plan_policy, check, h, setup, expected):
    arn = estate.resource("vol-1", tags=h.GOLD, age_days=400)
    estate.daily(arn, setup["days"], keep_days=setup["keep"])
    if setup.get("recent"):
        estate.backup(arn, age_hours=1)
    if setup.get("extra"):
        estate.backup(arn, **setup["extra"])
    findings = check(estate, plan_policy(), ["backup-retention"])
    row = h.one(findings, "backup-retention", arn)
    assert row["status"] == expected, row["detail"]


def test_retention_accept_filter(estate, plan_policy, check, h):
    arn = estate.resource("vol-1", tags=h.GOLD)
    estate.daily(arn, 40, keep_days=35)
    estate.backup(arn, age_hours=5, keep_days=3, source="native")
    assert (
        h.one(
            check(estate, plan_policy(accept="[aws-backup]"), ["backup-retention"]),
            "backup-retention",
            arn,
        )["status"]
        == "PASS"
    )
    assert (
        h.one(
            check(estate, plan_policy(accept="[aws-backup, native]"), ["backup-retention"]),
            "backup-retention",
            arn,
        )["status"]
        == "FAIL"
    )


@pytest.mark.parametrize(
    "age_days, days, expected",
    [(10, 10, "PASS"), (10, 0, "PASS"), (35, 30, "PASS"), (36, 30, "FAIL")],
)
def test_retention_young_resources(estate, plan_policy, check, h, age_days, days, expected):
    # Younger than the 35-day window: only the lifecycle is judged, not the depth of history.
    arn = estate.resource("vol-young", tags=h.GOLD, age_days=age_days)
    estate.daily(arn, days, keep_days=35)
    row = h.one(check(estate, plan_policy(), ["backup-retention"]), "backup-retention", arn)
    assert row["status"] == expected, row["detail"]


def test_retention_no_history_detail(estate, plan_policy, check, h):
    arn = estate.resource("vol-1", tags=h.GOLD)
    row = h.one(check(estate, plan_policy(), ["backup-retention"]), "backup-retention", arn)
    assert row["status"] == "FAIL"
    assert "No backup history" in row["detail"]
    assert row["evidence"]["history_too_short"] is True


# --- backup-max-retention -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "max_days, backup, expected",
    [
        (None, dict(age_hours=2, keep_days=35), "NOT_APPLICABLE"),
        # exactly at the limit, kept no longer: passes
        ("400", dict(age_hours=400 * 24, keep_days=400), "PASS"),
        ("400", dict(age_hours=400 * 24 + 1, keep_days=400), "FAIL"),
        # no planned deletion is kept forever, past any maximum, however young (judged like a
        # backup with a lifecycle: AWS Backup API reference, "Lifecycle", -1 = indefinitely)
        ("400", dict(age_hours=2, keep_days=None), "FAIL"),
        ("400", dict(age_hours=400 * 24 + 1, keep_days=None), "FAIL"),
        ("400", dict(age_hours=2, keep_days=400), "PASS"),
        ("400", dict(age_hours=2, keep_days=401), "FAIL"),
        # copies count too: a copy kept too long is still a backup kept too long
        ("400", dict(age_hours=2, keep_days=500, region="us-west-2", copy_of="arn:x"), "FAIL"),
    ],
)
def test_max_retention_table(estate, plan_policy, check, h, max_days, backup, expected):
    arn = estate.resource("vol-1", tags=h.GOLD)
    estate.backup(arn, age_hours=1, keep_days=35)
    estate.backup(arn, **backup)
    pol = plan_policy(max_retention_days=max_days)
    row = h.one(check(estate, pol, ["backup-max-retention"]), "backup-max-retention", arn)
    assert row["status"] == expected, row["detail"]


def test_recency_evidence_names_the_last_failed_job(estate, plan_policy, check, h):
    arn = estate.resource("vol-1", tags=h.GOLD)
    estate.backup(arn, age_hours=50)
    for hours, state in ((30, "FAILED"), (6, "EXPIRED"), (3, "COMPLETED")):
        estate.add(
            "backup_jobs",
            account_id=h.ACCOUNT,
            region=h.REGION,
            job_id=f"j{hours}",
            job_type="backup",
            state=state,
            resource_arn=arn,
            created_at=h.AS_OF - h.timedelta(hours=hours),
        )
    row = h.one(check(estate, plan_policy(), ["backup-recency"]), "backup-recency", arn)
    assert row["status"] == "FAIL"
    assert row["evidence"]["last_failed_job"] == {"state": "EXPIRED", "at": "2026-11-26T06:00:00Z"}
