"""The CLI's time types: every --since and --until reads dates the same way, and every
duration option reads "72h" or "14d" as wingman.toml does."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import click

from core import tomlfile


class When(click.ParamType[datetime]):
    """YYYY-MM-DD or an ISO 8601 datetime, read as UTC unless it names an offset.

    A bare date for an exclusive upper bound means the end of that day, so
    ``--since 2026-06-01 --until 2026-06-30`` covers all of June.
    """

    name = "date"

    def __init__(self, *, end_of_day: bool = False) -> None:
        self.end_of_day = end_of_day

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> datetime:
        if isinstance(value, datetime):
            return value
        text = str(value).strip()
        try:
            day = date.fromisoformat(text)
        except ValueError:
            pass
        else:
            start = datetime(day.year, day.month, day.day, tzinfo=UTC)
            return start + timedelta(days=1) if self.end_of_day else start
        try:
            parsed = datetime.fromisoformat(text)
        except ValueError:
            self.fail(
                f"{text!r} is not a date: use YYYY-MM-DD or an ISO 8601 datetime such as "
                "2026-06-18T09:30:00Z (UTC unless an offset is given)",
                param,
                ctx,
            )
        return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).astimezone(UTC)


class Duration(click.ParamType[timedelta]):
    """A duration such as "72h", "14d" or "1d 12h", read as wingman.toml reads them."""

    name = "duration"

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> timedelta:
        if isinstance(value, timedelta):
            return value
        try:
            return tomlfile.duration(value, "duration")
        except tomlfile.Invalid as exc:
            self.fail(str(exc).removeprefix("duration: "), param, ctx)
