"""Report intervals in the contact center's time zone: 15, 30 and 60 minutes, day, week
(Monday first, ISO) and month. Buckets follow the local clock, so a day is a local day
(23 or 25 hours across a daylight-saving change) and 60-minute buckets start on the local
hour even where the zone's offset is not whole hours.

Pure: no clock, no I/O. Edges are computed once per report and events are placed by
bisection, so a month of 15-minute buckets costs one zone conversion per edge, not per
event.
"""

from __future__ import annotations

import bisect
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

INTERVALS: dict[str, int | None] = {"15m": 15, "30m": 30, "60m": 60, "day": None,
                                    "week": None, "month": None}
"""Interval names and their length in minutes (None: a calendar unit)."""


def _local(t: float, zone: ZoneInfo) -> datetime:
    return datetime.fromtimestamp(t, zone)


def _midnight(day: date, zone: ZoneInfo) -> float:
    return datetime.combine(day, time.min, zone).timestamp()


def floor(t: float, interval: str, zone: ZoneInfo) -> float:
    """The start of the bucket holding ``t``."""
    local = _local(t, zone)
    minutes = INTERVALS[interval]
    if minutes is not None:
        minute = (local.hour * 60 + local.minute) // minutes * minutes
        start = local.replace(hour=minute // 60, minute=minute % 60, second=0, microsecond=0)
        return start.timestamp()
    day = local.date()
    if interval == "week":
        day -= timedelta(days=day.weekday())
    elif interval == "month":
        day = day.replace(day=1)
    return _midnight(day, zone)


def following(start: float, interval: str, zone: ZoneInfo) -> float:
    """The start of the bucket after the one starting at ``start``."""
    minutes = INTERVALS[interval]
    if minutes is not None:
        nxt = floor(start + minutes * 60, interval, zone)
        return nxt if nxt > start else floor(start + minutes * 60 + 3600, interval, zone)
    day = _local(start, zone).date()
    if interval == "day":
        day += timedelta(days=1)
    elif interval == "week":
        day += timedelta(days=7)
    else:
        day = (day.replace(day=28) + timedelta(days=4)).replace(day=1)
    return _midnight(day, zone)


def edges(t0: float, t1: float, interval: str, zone: ZoneInfo) -> list[float]:
    """Bucket starts covering ``[t0, t1)``: the first is the bucket holding ``t0`` (it may
    start before ``t0``), then one per bucket while it starts before ``t1``."""
    if interval not in INTERVALS:
        raise ValueError(f"unknown interval {interval!r}; one of {', '.join(INTERVALS)}")
    out = [floor(t0, interval, zone)]
    while True:
        nxt = following(out[-1], interval, zone)
        if nxt >= t1:
            return out
        out.append(nxt)


class Buckets:
    """The buckets of one report: which bucket a time falls in, and each one's end."""

    def __init__(self, t0: float, t1: float, interval: str, zone: ZoneInfo) -> None:
        self.t0, self.t1, self.interval, self.zone = t0, t1, interval, zone
        self.starts = edges(t0, t1, interval, zone)
        self.ends = [*self.starts[1:], following(self.starts[-1], interval, zone)]

    def index(self, t: float) -> int | None:
        """The bucket of ``t``, or None when ``t`` is outside ``[t0, t1)``."""
        if t < self.t0 or t >= self.t1:
            return None
        return bisect.bisect_right(self.starts, t) - 1

    def split(self, start: float, end: float) -> list[tuple[int, float]]:
        """``[start, end)`` clipped to the report, as (bucket, seconds) pieces."""
        start, end = max(start, self.t0), min(end, self.t1)
        out: list[tuple[int, float]] = []
        if end <= start:
            return out
        i = bisect.bisect_right(self.starts, start) - 1
        while start < end:
            stop = min(end, self.ends[i])
            out.append((i, stop - start))
            start, i = stop, i + 1
        return out

    def label(self, i: int) -> str:
        """The bucket's name in local time: ``2026-03-01 23:45``, ``2026-03-01`` (a day or
        the Monday of a week), ``2026-03``."""
        local = _local(self.starts[i], self.zone)
        if INTERVALS[self.interval] is not None:
            return local.strftime("%Y-%m-%d %H:%M")
        return local.strftime("%Y-%m" if self.interval == "month" else "%Y-%m-%d")


def parse_day(text: str, zone: ZoneInfo) -> float:
    """``YYYY-MM-DD`` (local midnight) or ``YYYY-MM-DDTHH:MM`` (local time) as epoch."""
    try:
        if "T" in text or " " in text:
            local = datetime.fromisoformat(text.replace(" ", "T"))
            if local.tzinfo is None:
                local = local.replace(tzinfo=zone)
            return local.timestamp()
        return _midnight(date.fromisoformat(text), zone)
    except ValueError:
        raise ValueError(f"{text!r} is not a date: write YYYY-MM-DD or YYYY-MM-DDTHH:MM")\
            from None
