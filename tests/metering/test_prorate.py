"""GB-months for the month of as_of, pro-rated by how long each backup existed in it."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from auditor.metering import meter, month_bounds

NOV = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


def _gbm(mk, prices, as_of=NOV, **kw):
    rec = mk.backup("ebs-snapshot", 30, **kw)
    result = meter(mk.inventory([rec]), prices, as_of)
    return result.frame.groupby("storage_class")["gb_months"].sum().to_dict()


@pytest.mark.parametrize(
    ("created_at", "delete_at", "expected"),
    [
        ("2026-01-01T00:00:00Z", None, 30.0),  # whole month
        ("2026-11-01T00:00:00Z", None, 30.0),  # exactly at the month's start
        ("2026-11-16T00:00:00Z", None, 15.0),  # second half
        ("2026-11-30T23:00:00Z", None, 30 / 720),  # last hour of the month
        ("2026-10-01T00:00:00Z", "2026-11-28T00:00:00Z", 27.0),  # lifecycle ends it after as_of
        (
            "2026-10-01T00:00:00Z",
            "2026-11-10T00:00:00Z",
            25.5,
        ),  # overdue delete_at: it still exists at as_of
        ("2026-10-01T00:00:00Z", "2027-03-01T00:00:00Z", 30.0),  # deleted after the month
        ("2026-12-01T00:00:00Z", None, 0.0),  # created after the month (clock skew): nothing
    ],
)
def test_pro_rating_at_month_edges(mk, prices, created_at, delete_at, expected):
    got = _gbm(mk, prices, created_at=created_at, delete_at=delete_at)
    assert sum(got.values()) == pytest.approx(expected, abs=1e-6)


def test_month_bounds_across_year_end_and_leap_february():
    assert month_bounds(datetime(2026, 12, 31, 23, 59, tzinfo=UTC)) == (
        datetime(2026, 12, 1, tzinfo=UTC),
        datetime(2027, 1, 1, tzinfo=UTC),
    )
    assert month_bounds(datetime(2028, 2, 29, tzinfo=UTC)) == (
        datetime(2028, 2, 1, tzinfo=UTC),
        datetime(2028, 3, 1, tzinfo=UTC),
    )


def test_leap_february_half_month(mk, prices):
    # 29-day month: created at noon on the 15th leaves 14.5 of 29 days.
    got = _gbm(
        mk,
        prices,
        as_of=datetime(2028, 2, 20, tzinfo=UTC),
        created_at="2028-02-15T12:00:00Z",
    )
    assert got["warm"] == pytest.approx(30 * 14.5 / 29)


def test_naive_as_of_is_utc(mk, prices):
    assert _gbm(mk, prices, as_of=datetime(2026, 11, 26), created_at="2026-11-16T00:00:00Z")[
        "warm"
    ] == pytest.approx(15)


def test_warm_backup_moving_to_cold_mid_month_is_split(mk, prices):
    rec = mk.backup(
        "efs-backup",
        30,
        created_at="2026-09-01T00:00:00Z",
        storage_class="warm",
        move_to_cold_at="2026-11-28T00:00:00Z",
    )
    result = meter(mk.inventory([rec]), prices, NOV)
    split = result.frame.set_index("storage_class")
    assert split.loc["warm", "gb_months"] == pytest.approx(27.0)
    assert split.loc["cold", "gb_months"] == pytest.approx(3.0)
    assert split.loc["warm", "backups"] == 1  # counted once, in its class at as_of
    assert split.loc["cold", "backups"] == 0


def test_cold_backup_that_moved_this_month_was_warm_before(mk, prices):
    rec = mk.backup(
        "efs-backup",
        30,
        created_at="2026-09-01T00:00:00Z",
        storage_class="cold",
        move_to_cold_at="2026-11-11T00:00:00Z",
    )
    split = meter(mk.inventory([rec]), prices, NOV).frame.set_index("storage_class")["gb_months"]
    assert split["warm"] == pytest.approx(10.0)
    assert split["cold"] == pytest.approx(20.0)


def test_still_warm_after_its_planned_transition_stays_warm_until_as_of(mk, prices):
    # Transition date passed but the collector saw it warm: warm at least until as_of (26.5 days).
    rec = mk.backup(
        "efs-backup",
        30,
        created_at="2026-09-01T00:00:00Z",
        storage_class="warm",
        move_to_cold_at="2026-11-05T00:00:00Z",
    )
    split = meter(mk.inventory([rec]), prices, NOV).frame.set_index("storage_class")["gb_months"]
    assert split["warm"] == pytest.approx(25.5)
    assert split["cold"] == pytest.approx(4.5)


def test_vectorised_result_matches_a_plain_loop(mk, prices):
    import random

    rnd = random.Random(7)
    recs = []
    expected = 0.0
    start, end = (
        datetime(2026, 11, 1, tzinfo=UTC),
        datetime(2026, 12, 1, tzinfo=UTC),
    )
    for _ in range(300):
        created = datetime(
            2026, rnd.randint(9, 12), rnd.randint(1, 28), rnd.randint(0, 23), tzinfo=UTC
        )
        delete = (
            None
            if rnd.random() < 0.3
            else datetime(2026, rnd.randint(10, 12), rnd.randint(1, 28), tzinfo=UTC)
        )
        size = rnd.randint(1, 500)
        recs.append(
            mk.backup(
                "ebs-snapshot",
                size,
                created_at=created.isoformat(),
                delete_at=delete and delete.isoformat(),
            )
        )
        lo = max(created, start)
        hi = end if delete is None else min(max(delete, NOV), end)
        expected += size * max((hi - lo).total_seconds(), 0) / (end - start).total_seconds()
    result = meter(mk.inventory(recs), prices, NOV)
    assert result.totals["gb_months"] == pytest.approx(expected, abs=1e-5)
