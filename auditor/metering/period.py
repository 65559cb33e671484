"""The metered period (the calendar month, UTC, that contains `as_of`) and timestamps in microseconds."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd

NAT = np.iinfo(np.int64).min  # a null timestamp, as `micros` returns it
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def utc(value: datetime) -> datetime:
    """`value` in UTC (a naive time is taken to be UTC already)."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def month_bounds(as_of: datetime) -> tuple[datetime, datetime]:
    """The calendar month (UTC) containing `as_of`: [start, end)."""
    as_of = utc(as_of)
    start = as_of.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    end = (
        start.replace(year=start.year + 1, month=1)
        if start.month == 12
        else start.replace(month=start.month + 1)
    )
    return start, end


def micros(value: datetime) -> int:
    """Microseconds since the epoch (UTC)."""
    return (utc(value) - _EPOCH) // timedelta(microseconds=1)


def micros_of(series: pd.Series) -> np.ndarray:
    """Microseconds since the epoch (UTC) of a timestamp column; null is `NAT`.

    Returns a view when it can: callers must not write into it.
    """
    s = series
    if not isinstance(s.dtype, pd.DatetimeTZDtype):
        s = pd.to_datetime(s, utc=True, format="ISO8601")
    if s.dt.unit != "us":
        s = s.dt.as_unit("us")
    return np.asarray(s.array.asi8, dtype=np.int64)


class Clock:
    """Seconds spent per phase, wall and CPU; `lap(name)` closes the previous phase, opens `name`."""

    def __init__(self) -> None:
        self.laps: dict[str, float] = {}
        self.cpu: dict[str, float] = {}
        self._name = "start"
        self._t = time.perf_counter()
        self._c = time.process_time()

    def lap(self, name: str) -> None:
        """Close the running phase and start `name`."""
        now, cpu = time.perf_counter(), time.process_time()
        self.laps[self._name] = self.laps.get(self._name, 0.0) + now - self._t
        self.cpu[self._name] = self.cpu.get(self._name, 0.0) + cpu - self._c
        self._name, self._t, self._c = name, now, cpu

    def timings(self) -> dict[str, float]:
        """Wall seconds per phase, then CPU seconds as `<phase> (cpu)`."""
        return {**self.laps, **{f"{k} (cpu)": v for k, v in self.cpu.items()}}
