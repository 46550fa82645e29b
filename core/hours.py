"""Working hours on an inbox's wall clock, through daylight-saving changes."""

from __future__ import annotations

import math
import zoneinfo
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta


@dataclass(frozen=True)
class OpenRange:
    """Open from ``start`` up to (not including) ``end``, in minutes after local midnight.

    ``end`` may be 1440 (24:00), so an evening can run into the next day's ``00:00-…``.
    """

    start: int
    end: int

    def __str__(self) -> str:
        return f"{_hhmm(self.start)}-{_hhmm(self.end)}"


@dataclass(frozen=True)
class WorkingHours:
    """Opening hours on the wall clock of ``timezone``. ``week[0]`` is Monday; () is closed."""

    timezone: zoneinfo.ZoneInfo
    week: tuple[tuple[OpenRange, ...], ...]

    def is_open(self, at: datetime) -> bool:
        local = _aware(at).astimezone(self.timezone)
        minute = local.hour * 60 + local.minute
        return any(r.start <= minute < r.end for r in self.week[local.weekday()])

    def next_open(self, at: datetime) -> datetime:
        """The first instant at or after ``at`` when the inbox is open (``at`` if open now).

        Hours follow the wall clock through daylight-saving changes: a range that starts in a
        skipped hour opens at the jump. The result is in UTC, because a local time in the
        repeated autumn hour compares unequal to every time in another zone (PEP 495).
        Raises ValueError if no day has any hours.
        """
        instant = _aware(at).astimezone(UTC)
        # Between offset changes the wall clock is instant + offset, so the opening is found
        # by wall-clock arithmetic; if the offset changes before then, start again from there.
        while True:
            offset = _utcoffset(self.timezone, instant)
            wall = (instant + offset).replace(tzinfo=None)
            opening = (self._first_open_wall(wall) - offset).replace(tzinfo=UTC)
            change = _offset_change(self.timezone, instant, opening)
            if change is None:
                return opening
            instant = change

    def _first_open_wall(self, wall: datetime) -> datetime:
        for days_ahead in range(8):
            midnight = datetime.combine(wall.date() + timedelta(days=days_ahead), time())
            for r in self.week[midnight.weekday()]:
                if midnight + timedelta(minutes=r.end) > wall:
                    return max(wall, midnight + timedelta(minutes=r.start))
        raise ValueError("these working hours are never open")


def _hhmm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def _aware(at: datetime) -> datetime:
    if at.utcoffset() is None:
        raise ValueError(f"working hours need a timezone-aware datetime, got {at!r}")
    return at


def _utcoffset(zone: zoneinfo.ZoneInfo, instant: datetime) -> timedelta:
    return instant.astimezone(zone).utcoffset() or timedelta()


def _offset_change(zone: zoneinfo.ZoneInfo, start: datetime, end: datetime) -> datetime | None:
    """The first instant in (start, end] whose UTC offset in ``zone`` differs from start's."""
    offset = _utcoffset(zone, start)
    low = start
    while low < end:
        high = min(low + timedelta(hours=1), end)
        if _utcoffset(zone, high) != offset:
            # tzdata changes offsets on whole seconds, so bisect over whole seconds.
            lo, hi = math.floor(low.timestamp()), math.ceil(high.timestamp())
            while hi - lo > 1:
                mid = (lo + hi) // 2
                if _utcoffset(zone, datetime.fromtimestamp(mid, UTC)) == offset:
                    lo = mid
                else:
                    hi = mid
            return datetime.fromtimestamp(hi, UTC)
        low = high
    return None
