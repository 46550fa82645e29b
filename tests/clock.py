"""The one fake clock of the tests: time moves only when a test (or a sleep) moves it."""

from __future__ import annotations

from datetime import UTC, datetime


class FakeClock:
    """Unix seconds in ``now``. Code under test reads it as a clock (``clock()``, or the
    object itself) or as an aware UTC datetime (``dt``); its ``sleep`` moves time on and
    records how long each sleep was."""

    def __init__(self, now: float = 0.0) -> None:
        self.now = now
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def clock(self) -> float:
        return self.now

    def dt(self) -> datetime:
        return datetime.fromtimestamp(self.now, UTC)

    def advance(self, seconds: float) -> None:
        self.now += seconds

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds
