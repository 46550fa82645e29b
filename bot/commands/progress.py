"""The one progress bar of the CLI, for long commands (export, the history import).

On a terminal it redraws one line in place, at most every ``interval`` seconds; written to
a log file it prints a line each time another ``every`` items are done, so logs stay
readable. Either way ``finish`` leaves the final figures on a line of their own.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TextIO

WIDTH = 30


class ProgressBar:
    """``[#########.....................]  30% 1,234/4,000 messages  410/s``, plus a detail."""

    def __init__(
        self,
        stream: TextIO,
        total: int,
        *,
        unit: str,
        in_place: bool | None = None,
        interval: float = 0.2,
        every: int = 1000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.stream, self.total, self.unit = stream, total, unit
        self.in_place = stream.isatty() if in_place is None else in_place
        self.interval, self.every, self.clock = interval, every, clock
        self.started = self.drawn = clock()
        self.done, self.detail = 0, ""
        self._lines = -1

    def update(self, done: int, *, total: int | None = None, detail: str = "") -> None:
        self.done, self.detail = done, detail
        self.total = self.total if total is None else total
        now = self.clock()
        if self.in_place:
            if now - self.drawn >= self.interval:
                self.drawn = now
                self.stream.write("\r" + self._line(now))
                self.stream.flush()
        elif done // self.every > self._lines:
            self._lines = done // self.every
            self.stream.write(self._line(now) + "\n")

    def finish(self, done: int | None = None) -> None:
        if done is not None:
            self.done = done
        line = self._line(self.clock())
        self.stream.write(("\r" + line if self.in_place else line) + "\n")
        self.stream.flush()

    def _line(self, now: float) -> str:
        share = min(self.done / self.total, 1.0) if self.total else 1.0
        filled = int(share * WIDTH)
        rate = self.done / (now - self.started) if now > self.started else 0.0
        return (
            f"[{'#' * filled}{'.' * (WIDTH - filled)}] {share:4.0%} "
            f"{self.done:,}/{self.total:,} {self.unit}  {rate:,.0f}/s{self.detail}"
        )
