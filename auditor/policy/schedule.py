"""Backup schedules: how long the longest gap between two runs of a schedule can be.

Three notations are accepted, as policies and AWS Backup write them:

- durations: ``24h``, ``12h``, ``7d``, ``30m``, ``1w`` (a plain interval);
- AWS Backup ``rate(N minute|minutes|hour|hours|day|days)``;
- AWS Backup ``cron(minutes hours day-of-month month day-of-week year)``: six fields, ``?`` for
  "no specific value", day-of-week 1-7 meaning SUN-SAT (AWS's numbering), ``L``, ``#`` and a year.

Cron expressions are evaluated with croniter (after translating AWS's numbering); the longest gap is
measured over a representative window (two years from a reference date, at most 5,000 runs), which
catches month-end, leap-day and weekday irregularities. A cron that never fires raises
`ScheduleError`.

A cron runs in UTC unless a time zone is given (AWS Backup's ``ScheduleExpressionTimezone``, an IANA
name); in a zone with daylight saving time a daily cron's runs are 23 or 25 hours apart twice a
year, and the longest gap is measured in real (UTC) time. A backup rule without a schedule runs at
AWS Backup's default, `DEFAULT_SCHEDULE` (AWS Backup API reference, "BackupRuleInput":
"When no CRON expression is provided, AWS Backup will use the default expression
cron(0 5 ? * * *)"; "ScheduleExpressionTimezone: ... By default, ScheduleExpressions are in UTC").
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import croniter
from croniter.croniter import CroniterError

__all__ = [
    "DEFAULT_SCHEDULE",
    "ScheduleError",
    "aws_cron_to_croniter",
    "max_interval",
    "parse_duration",
    "zone_of",
]

# What AWS Backup runs a rule on when it has no ScheduleExpression (API reference, BackupRuleInput).
DEFAULT_SCHEDULE = "cron(0 5 ? * * *)"

_REFERENCE = datetime(2025, 1, 1, tzinfo=UTC)
_WINDOW = timedelta(days=731)
_MAX_RUNS = 5000

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(m|min|h|d|w)\s*$")
_UNITS = {"m": 60, "min": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_RATE = re.compile(r"^\s*rate\(\s*(\d+)\s+(minute|minutes|hour|hours|day|days)\s*\)\s*$", re.I)
_RATE_UNITS = {"minute": 60, "hour": 3600, "day": 86400}
_CRON = re.compile(r"^\s*cron\((.*)\)\s*$", re.I | re.S)
_DOW_NAMES = ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")


class ScheduleError(ValueError):
    """An expression that cannot be read, or a cron that never fires. The message says which."""


def parse_duration(text: str) -> timedelta:
    """Parse a plain duration such as ``24h``, ``7d``, ``30m`` or ``2w``."""
    match = _DURATION.match(str(text))
    if not match:
        raise ScheduleError(f"'{text}' is not a duration (use e.g. 2h, 24h, 7d)")
    return timedelta(seconds=float(match.group(1)) * _UNITS[match.group(2)])


def zone_of(timezone: str | None) -> ZoneInfo | None:
    """The IANA zone named `timezone` (None or empty: UTC, as AWS Backup defaults)."""
    if timezone is None or not str(timezone).strip() or str(timezone).strip().upper() == "UTC":
        return None
    try:
        return ZoneInfo(str(timezone).strip())
    except (ZoneInfoNotFoundError, ValueError):
        raise ScheduleError(
            f"'{timezone}' is not a time zone (use an IANA name such as Europe/Berlin)"
        ) from None


def max_interval(
    expr: str, start: datetime | None = None, timezone: str | None = None
) -> timedelta:
    """The longest time between two consecutive runs of `expr` (duration, rate(...) or cron(...)).

    `start` is where the representative window for a cron begins (default 2025-01-01 UTC); pass
    the audit's `as_of` to judge a cron with a year field against the present (a cron whose years
    are all past then "never fires"). `timezone` is the zone a cron runs in (default UTC).
    """
    text = str(expr).strip()
    if _CRON.match(text):
        zone = zone_of(timezone)
        begin = (start or _REFERENCE).astimezone(zone or UTC)
        begin = begin.replace(month=1, day=1, hour=0, minute=0, second=0, microsecond=0)
        gap = _cron_max_gap(text, begin)
        # A cron whose year field ends stops firing: its longest gap is unbounded.
        return timedelta.max if gap == float("inf") else timedelta(seconds=gap)
    rate = _RATE.match(text)
    if rate:
        value = int(rate.group(1))
        if value <= 0:
            raise ScheduleError(f"'{text}': a rate must be positive")
        return timedelta(seconds=value * _RATE_UNITS[rate.group(2).lower().rstrip("s")])
    if text.lower().startswith("rate("):
        raise ScheduleError(f"'{text}' is not a valid rate (use e.g. rate(12 hours))")
    try:
        interval = parse_duration(text)
    except ScheduleError:
        raise ScheduleError(
            f"'{text}' is not a schedule (use a duration like 24h, rate(12 hours) or cron(0 5 ? * * *))"
        ) from None
    if interval <= timedelta(0):
        raise ScheduleError(f"'{text}': an interval must be positive")
    return interval


def _translate_dow_token(token: str) -> str:
    """AWS day-of-week token (1=SUN..7=SAT, nL, n#k) -> croniter's (0=SUN..6=SAT, Ln, n#k)."""

    def num(value: str) -> str:
        if value.upper() in _DOW_NAMES or value == "*":
            return value
        if not value.isdigit() or not 1 <= int(value) <= 7:
            raise ScheduleError(f"day-of-week value '{value}' is not 1-7 or SUN-SAT")
        return str(int(value) - 1)

    if token in ("*", "?"):
        return token
    step = ""
    if "/" in token:
        token, step_value = token.split("/", 1)
        step = "/" + step_value
    if token.upper().endswith("L") and len(token) > 1:
        return "L" + num(token[:-1]) + step
    if "#" in token:
        day, nth = token.split("#", 1)
        return num(day) + "#" + nth + step
    if "-" in token:
        low, high = token.split("-", 1)
        return num(low) + "-" + num(high) + step
    return num(token) + step


def aws_cron_to_croniter(expr: str) -> str:
    """Translate ``cron(m h dom mon dow year)`` into croniter's 7-field form (with seconds, year)."""
    match = _CRON.match(expr)
    if not match:
        raise ScheduleError(f"'{expr}' is not a cron(...) expression")
    fields = match.group(1).split()
    if len(fields) != 6:
        raise ScheduleError(
            f"'{expr}': AWS cron needs 6 fields (minutes hours day-of-month month day-of-week year), got {len(fields)}"
        )
    minute, hour, dom, month, dow, year = fields
    if dom == "?" and dow == "?":
        raise ScheduleError(f"'{expr}': day-of-month and day-of-week cannot both be '?'")
    if dom != "?" and dow != "?" and not (dom == "*" and dow == "*"):
        # AWS requires one of the two day fields to be '?'; croniter would OR them.
        raise ScheduleError(f"'{expr}': one of day-of-month or day-of-week must be '?'")
    dow = ",".join(_translate_dow_token(tok) for tok in dow.split(","))
    return " ".join([minute, hour, dom, month, dow, "0", year])


@lru_cache(maxsize=1024)
def _cron_max_gap(expr: str, begin: datetime) -> float:
    spec = aws_cron_to_croniter(expr)
    try:
        it = croniter(spec, begin)
    except (CroniterError, ValueError, KeyError) as exc:
        raise ScheduleError(f"'{expr}' is not a valid cron expression ({exc})") from None
    end = (begin + _WINDOW).astimezone(UTC)
    previous = None
    longest = 0.0
    try:
        for _ in range(_MAX_RUNS):
            # Gaps in real time: aware datetimes of one zone subtract by wall clock, so go to UTC.
            run = it.get_next(datetime).astimezone(UTC)
            if previous is not None:
                longest = max(longest, (run - previous).total_seconds())
            if run > end:
                break
            previous = run
    except (CroniterError, ValueError) as exc:
        if previous is None:
            raise ScheduleError(f"'{expr}' never fires") from None
        if "failed to find" not in str(exc):
            raise ScheduleError(f"'{expr}' is not a valid cron expression ({exc})") from None
        # Runs stop (a year field that ends): the gap after the last run is unbounded.
        return float("inf")
    if previous is None:
        raise ScheduleError(f"'{expr}' never fires")
    if longest == 0.0:
        # Only one run in the window (e.g. a yearly cron): the gap is at least the window.
        longest = (end - begin).total_seconds()
    return longest
