"""Parsers for the settings' environment values: each turns the text of one variable into
its value, or raises ValueError saying what it expected (Settings adds the variable's name)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import fields, replace
from decimal import Decimal
from urllib.parse import urlsplit

from core.autonomy_levels import Autonomy
from core.logs import mask_url_passwords
from core.pricing import Prices


def positive_float(raw: str) -> float:
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(f"expected a number of seconds, got {raw!r}") from None
    if not value > 0 or value != value or value == float("inf"):
        raise ValueError(f"expected a positive number, got {raw!r}")
    return value


def int_in(low: int, high: int) -> Callable[[str], int]:
    def parse(raw: str) -> int:
        try:
            value = int(raw)
        except ValueError:
            raise ValueError(f"expected a whole number, got {raw!r}") from None
        if not low <= value <= high:
            raise ValueError(f"expected a number from {low} to {high}, got {value}")
        return value

    return parse


def http_url(name: str, *, secret: bool = False) -> Callable[[str], str]:
    def parse(raw: str) -> str:
        parts = urlsplit(raw)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            # A secret URL may hold a token anywhere, so it is not shown at all.
            got = "the value is not shown" if secret else f"got {mask_url_passwords(raw)!r}"
            raise ValueError(f"expected an http(s) URL such as https://host, {got}")
        check_port(raw)
        return raw

    return parse


def database_url(raw: str) -> str:
    scheme = raw.split(":", 1)[0]
    if not (scheme.startswith("sqlite") or scheme.startswith("postgresql")):
        raise ValueError(
            "expected sqlite:///path or postgresql+psycopg://user@host/db, "
            f"got a URL with scheme {scheme!r}"
        )
    check_port(raw)
    return raw


def redis_url(raw: str) -> str:
    if urlsplit(raw).scheme not in ("redis", "rediss", "unix"):
        raise ValueError("expected redis://host:port/db, rediss://… or unix:///path")
    check_port(raw)
    return raw


def check_port(raw: str) -> None:
    """Fail here on a URL whose port can't be read: the URL parser's own message quotes
    the text it took for the port, which is part of the password when the password holds
    an unencoded "/", "?" or "#"."""
    try:
        _ = urlsplit(raw).port
    except ValueError:
        raise ValueError(
            "its port is not a number; if the password holds / ? # @ or :, percent-encode "
            "them (/ is %2F, ? is %3F, # is %23, @ is %40, : is %3A)"
        ) from None


def autonomy(raw: str) -> Autonomy:
    try:
        return Autonomy(raw.lower())
    except ValueError:
        raise ValueError(f"expected off, draft or autopilot, got {raw!r}") from None


def account_ids(raw: str) -> tuple[int, ...]:
    parse = int_in(1, 2**63 - 1)
    try:
        return tuple(dict.fromkeys(parse(part.strip()) for part in raw.split(",")))
    except ValueError:
        raise ValueError(f"expected account ids separated by commas, got {raw!r}") from None


def one_of(choices: tuple[str, ...]) -> Callable[[str], str]:
    def parse(raw: str) -> str:
        if raw.lower() not in choices:
            raise ValueError(f"expected {', '.join(choices[:-1])} or {choices[-1]}, got {raw!r}")
        return raw.lower()

    return parse


def seconds_list(raw: str) -> tuple[float, ...]:
    try:
        values = tuple(positive_float(part.strip()) for part in raw.split(","))
    except ValueError:
        raise ValueError(f"expected positive seconds separated by commas, got {raw!r}") from None
    return values


def fraction(raw: str) -> float:
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(f"expected a number from 0 to 1, got {raw!r}") from None
    if not 0 <= value <= 1:
        raise ValueError(f"expected a number from 0 to 1, got {raw!r}")
    return value


def dollars(raw: str) -> Decimal:
    try:
        value = Decimal(raw)
    except ArithmeticError:
        raise ValueError(f"expected an amount in dollars such as 25 or 7.50, got {raw!r}") from None
    if not value.is_finite() or value <= 0:
        raise ValueError(f"expected a positive amount in dollars, got {raw!r}")
    return value


def prices(raw: str) -> Prices:
    """ "input=3,output=15,cache_write_5m=3.75,cache_write_1h=6,cache_read=0.3"; any subset."""
    names = {f.name for f in fields(Prices)}
    values: dict[str, Decimal] = {}
    for part in raw.split(","):
        name, sep, amount = part.partition("=")
        name = name.strip()
        if not sep or name not in names:
            raise ValueError(f"expected name=dollars with names {sorted(names)}, got {part!r}")
        values[name] = dollars(amount.strip())
    return replace(Prices(), **values)


def cache_ttl(raw: str) -> str:
    if raw not in ("5m", "1h"):
        raise ValueError(f"expected 5m or 1h (Anthropic's two cache lifetimes), got {raw!r}")
    return raw


def log_level(raw: str) -> str:
    level = raw.upper()
    if level not in ("DEBUG", "INFO", "WARNING", "ERROR"):
        raise ValueError(f"expected DEBUG, INFO, WARNING or ERROR, got {raw!r}")
    return level
