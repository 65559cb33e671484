"""Schedules: durations, rate(...) and AWS cron(...) (six fields, '?', year, L, #) via croniter."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from croniter import croniter

from auditor.policy.schedule import (
    ScheduleError,
    aws_cron_to_croniter,
    max_interval,
    parse_duration,
)


@pytest.mark.parametrize(
    "expr, hours",
    [
        ("24h", 24),
        ("12h", 12),
        ("7d", 168),
        ("30m", 0.5),
        ("1w", 168),
        ("1.5h", 1.5),
        ("rate(12 hours)", 12),
        ("rate(1 hour)", 1),
        ("rate(1 day)", 24),
        ("rate(30 minutes)", 0.5),
        ("cron(0 5 ? * * *)", 24),
        ("cron(0 5 * * ? *)", 24),
        ("cron(0 */6 * * ? *)", 6),
        ("cron(0 5,17 ? * * *)", 12),
        ("cron(0 5 ? * MON-FRI *)", 72),  # Friday 05:00 -> Monday 05:00
        ("cron(0 5 ? * 2-6 *)", 72),  # AWS numbering: 2-6 = MON-FRI
        ("cron(0 3 ? * SUN *)", 168),
        ("cron(0 3 ? * 1 *)", 168),  # AWS: 1 = Sunday
        ("cron(0 5 1 * ? *)", 31 * 24),  # monthly: longest gap is a 31-day month
        ("cron(0 5 L * ? *)", 31 * 24),
        ("cron(0 5 ? * 6#2 *)", 35 * 24),  # second Friday of the month
        ("cron(0 5 ? * 6L *)", 35 * 24),  # last Friday
        ("cron(0 5 ? * * 2025-2030)", 24),
    ],
)
def test_max_interval(expr, hours):
    assert max_interval(expr) == timedelta(hours=hours)


def test_aws_day_of_week_numbering_means_sunday_first():
    spec = aws_cron_to_croniter("cron(0 3 ? * 1 *)")
    runs = croniter(spec, datetime(2025, 1, 1, tzinfo=UTC))
    assert {runs.get_next(datetime).strftime("%a") for _ in range(5)} == {"Sun"}
    spec = aws_cron_to_croniter("cron(0 3 ? * 7 *)")
    assert (
        croniter(spec, datetime(2025, 1, 1, tzinfo=UTC)).get_next(datetime).strftime("%a") == "Sat"
    )


@pytest.mark.parametrize(
    "expr, message",
    [
        ("cron(0 5 30 2 ? *)", "never fires"),  # February 30th
        ("cron(0 5 ? * * 2020)", "never fires"),  # only in the past
        ("cron(0 5 * * *)", "6 fields"),
        ("cron(0 5 ? * ? *)", "cannot both be '?'"),
        ("cron(0 5 1 * MON *)", "must be '?'"),
        ("cron(0 5 ? * 9 *)", "1-7"),
        ("cron(0 99 ? * * *)", "not a valid cron"),
        ("rate(0 hours)", "positive"),
        ("rate(5 fortnights)", "not a valid rate"),
        ("daily", "not a schedule"),
        ("0h", "positive"),
    ],
)
def test_bad_schedules(expr, message):
    with pytest.raises(ScheduleError, match=message):
        max_interval(expr, start=datetime(2026, 11, 26, tzinfo=UTC))


def test_year_field_that_ends_is_unbounded():
    # fires during 2026 only: judged from 2026 the gap after the last run is unbounded
    assert (
        max_interval("cron(0 5 ? * * 2026)", start=datetime(2026, 3, 1, tzinfo=UTC))
        == timedelta.max
    )


def test_parse_duration():
    assert parse_duration("2h") == timedelta(hours=2)
    assert parse_duration(" 7d ") == timedelta(days=7)
    with pytest.raises(ScheduleError):
        parse_duration("two hours")
