"""Reading an operator's TOML file: one validator for wingman.toml and experiments.toml.

Every problem is reported, not just the first, each with its key path
(``inboxes.12.working_hours.mon[0]``) and, for a mistyped key, the key that was probably
meant. Readers subclass ``Reader`` and describe their tables with ``get`` and the value
parsers below; a parser takes ``(value, path)`` and raises ``Invalid`` naming the path.
"""

from __future__ import annotations

import difflib
import json
import os
import re
import tomllib
from collections.abc import Callable, Mapping, Sequence
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")

_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")


class ConfigError(ValueError):
    """A config file is unreadable or invalid; each line names the file and the bad key."""

    def __init__(self, path: str | os.PathLike[str], problems: Sequence[str]) -> None:
        self.path = Path(path)
        self.problems = tuple(problems)
        super().__init__("\n".join(f"{path}: {problem}" for problem in self.problems))


class Invalid(Exception):
    """One problem at one key path; the reader collects them into a single ConfigError."""


def read(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The TOML document in ``path``, floats as Decimal; ConfigError if it can't be read."""
    file = Path(path)
    try:
        # utf-8-sig: tolerate the byte-order mark some Windows editors write.
        text = file.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise ConfigError(path, ["file not found"]) from None
    except UnicodeDecodeError as exc:
        raise ConfigError(path, [f"not UTF-8 text (byte {exc.start})"]) from None
    except OSError as exc:
        raise ConfigError(path, [f"cannot read the file ({exc.strerror})"]) from None
    try:
        # Decimal keeps prices exact: 249.10 must not become 249.09999…
        return tomllib.loads(text, parse_float=Decimal)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(path, [f"invalid TOML: {exc}"]) from None


class Reader:
    """Turns a parsed document into typed objects, collecting every problem on the way.

    Where a value is bad a stand-in takes its place so reading can go on; ``check`` then
    raises, so the result is thrown away whenever ``problems`` is not empty.
    """

    def __init__(self) -> None:
        self.problems: list[str] = []

    def check(self, path: str | os.PathLike[str]) -> None:
        if self.problems:
            raise ConfigError(path, self.problems)

    def get(
        self,
        parse: Callable[[Any, str], T],
        table: Mapping[str, Any],
        key: str,
        path: str,
        *,
        required: bool = False,
    ) -> T | None:
        """``parse(table[key])``, or None (with the problem recorded) if missing or invalid."""
        where = join(path, key)
        if key not in table:
            if required:
                self.problems.append(f"{where}: missing (required)")
            return None
        return self.attempt(parse, table[key], where)

    def attempt(self, parse: Callable[[Any, str], T], value: Any, path: str) -> T | None:
        try:
            return parse(value, path)
        except Invalid as exc:
            self.problems.append(str(exc))
            return None

    def table(self, value: Any, path: str, valid: Sequence[str]) -> dict[str, Any]:
        """``value`` as a table; each key not in ``valid`` is a problem, with a suggestion."""
        if not isinstance(value, dict):
            raise Invalid(f"{path}: expected a table, got {describe(value)}")
        for key in value:
            if key not in valid:
                close = difflib.get_close_matches(key, valid, n=1)
                hint = f"did you mean {close[0]!r}? " if close else ""
                self.problems.append(
                    f"{join(path, key)}: unknown key; {hint}valid keys: {', '.join(valid)}"
                )
        return value

    def tables(self, value: Any, path: str) -> dict[str, Any]:
        """A table of tables keyed by name (``[experiments.<name>]``); {} when it isn't one."""
        if not isinstance(value, dict):
            self.problems.append(f"{path}: expected a table, got {describe(value)}")
            return {}
        return value


# --- Values ------------------------------------------------------------------------------


def join(path: str, key: str) -> str:
    if not _BARE_KEY.fullmatch(key):
        key = json.dumps(key, ensure_ascii=False)
    return f"{path}.{key}" if path else key


def describe(value: Any) -> str:
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if isinstance(value, str):
        return f"the string {value!r}"
    if isinstance(value, int | Decimal):
        return f"the number {value}"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "a table"
    return f"a TOML {type(value).__name__}"


def text(value: Any, path: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise Invalid(f"{path}: expected a non-empty string, got {describe(value)}")
    return value.strip()


def any_text(value: Any, path: str) -> str:
    """A string, empty allowed."""
    if not isinstance(value, str):
        raise Invalid(f"{path}: expected a string, got {describe(value)}")
    return value


def array(value: Any, path: str) -> list[Any]:
    if not isinstance(value, list):
        raise Invalid(f"{path}: expected an array, got {describe(value)}")
    return value


def list_of(parse: Callable[[Any, str], T]) -> Callable[[Any, str], tuple[T, ...]]:
    def parse_all(value: Any, path: str) -> tuple[T, ...]:
        return tuple(parse(item, f"{path}[{i}]") for i, item in enumerate(array(value, path)))

    return parse_all


def matching(pattern: re.Pattern[str], expected: str) -> Callable[[Any, str], str]:
    def parse(value: Any, path: str) -> str:
        if not isinstance(value, str) or not pattern.fullmatch(value):
            raise Invalid(f"{path}: expected {expected}, got {describe(value)}")
        return value

    return parse


def one_of(
    choices: Sequence[str], *, fold: Callable[[str], str] = str
) -> Callable[[Any, str], str]:
    """One of ``choices``, compared after ``fold`` (``str.lower`` to ignore case)."""

    def parse(value: Any, path: str) -> str:
        if not isinstance(value, str) or fold(value) not in choices:
            raise Invalid(f"{path}: expected one of {', '.join(choices)}, got {describe(value)}")
        return fold(value)

    return parse


def positive_int(value: Any, path: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise Invalid(f"{path}: expected a positive whole number, got {describe(value)}")
    return value


def number(value: Any, path: str) -> Decimal:
    """A TOML number (an integer, or a float read as Decimal), never a boolean."""
    if isinstance(value, bool) or not isinstance(value, int | Decimal):
        raise Invalid(f"{path}: expected a number, got {describe(value)}")
    return Decimal(value)


def positive_number(value: Any, path: str) -> Decimal:
    amount = number(value, path)
    if not amount.is_finite() or amount <= 0:
        raise Invalid(f"{path}: expected a number above 0, got {value}")
    return amount


def money(value: Any, path: str) -> Decimal:
    amount = number(value, path)
    if not amount.is_finite() or amount <= 0:
        raise Invalid(f"{path}: expected an amount above 0, got {value}")
    return amount


_DURATION = re.compile(r"(?:(\d+)d)?\s*(?:(\d+)h)?\s*(?:(\d+)m)?")


def duration(value: Any, path: str) -> timedelta:
    """A duration above zero written as days, hours and minutes: "20m", "3h", "1d 12h"."""
    match = _DURATION.fullmatch(value.strip().lower()) if isinstance(value, str) else None
    if match is None or not any(match.groups()):
        raise Invalid(
            f'{path}: expected a duration such as "20m", "3h" or "1d", got {describe(value)}'
        )
    days, hours, minutes = (int(g or 0) for g in match.groups())
    length = timedelta(days=days, hours=hours, minutes=minutes)
    if length <= timedelta(0):
        raise Invalid(f"{path}: expected a duration above zero, got {value!r}")
    return length


def boolean(value: Any, path: str) -> bool:
    if not isinstance(value, bool):
        raise Invalid(f"{path}: expected true or false, got {describe(value)}")
    return value


def share(value: Any, path: str) -> float:
    """A fraction from 0 up to (not including) 1, such as 0.2."""
    amount = number(value, path)
    if not amount.is_finite() or not 0 <= amount < 1:
        raise Invalid(f"{path}: expected a share from 0 up to (not including) 1, got {value}")
    return float(amount)
