"""Per-inbox configuration: one validated TOML file, re-read when it changes on disk.

Runtime switches (autonomy set by admins, mutes) live in the database; this file holds what an
operator edits by hand. The schema is documented in ``wingman.example.toml``.
"""

from __future__ import annotations

import difflib
import functools
import json
import logging
import os
import re
import threading
import tomllib
import zoneinfo
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar

from core.hours import OpenRange, WorkingHours
from core.settings import Autonomy, Settings

log = logging.getLogger(__name__)

T = TypeVar("T")

DEFAULT_DISCLOSURE = "🤖"
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
TEMPLATE_CATEGORIES = ("MARKETING", "UTILITY", "AUTHENTICATION")

_INBOX_KEYS = (
    "name",
    "autonomy",
    "knowledge",
    "disclosure",
    "locales",
    "link_domains",
    "on_duty_agent",
    "on_duty_team",
    "whatsapp_template",
    "working_hours",
    "prices",
    "experiment",
)
# No leading zero, so "012" and "12" can't both name inbox 12.
_INBOX_ID = re.compile(r"[1-9][0-9]*")
_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")
_LOCALE = re.compile(r"([a-z]{2,3})(?:-([a-z]{4}))?(?:-([a-z]{2}|[0-9]{3}))?", re.IGNORECASE)
_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
_HOSTNAME = re.compile(rf"(?=.{{1,253}}$)(?:{_LABEL}\.)+{_LABEL}")
_CURRENCY = re.compile(r"[A-Z]{3}")
# Meta's template names and language codes ("en", "en_US"), which Chatwoot passes through.
_TEMPLATE_NAME = re.compile(r"[a-z0-9_]{1,512}")
_TEMPLATE_LANGUAGE = re.compile(r"[a-z]{2,3}(?:_[A-Z]{2})?")
_RANGE = re.compile(r"(\d\d):(\d\d)\s*-\s*(\d\d):(\d\d)")


class ConfigError(ValueError):
    """The config file is unreadable or invalid; each line names the file and the bad key."""

    def __init__(self, path: str | os.PathLike[str], problems: Sequence[str]) -> None:
        self.path = Path(path)
        self.problems = tuple(problems)
        super().__init__("\n".join(f"{path}: {problem}" for problem in self.problems))


@dataclass(frozen=True)
class Agent:
    id: int
    name: str


@dataclass(frozen=True)
class Team:
    id: int
    name: str


@dataclass(frozen=True)
class PriceItem:
    product: str
    list_price: Decimal
    min_price: Decimal


@dataclass(frozen=True)
class PriceList:
    currency: str
    items: tuple[PriceItem, ...]

    def item(self, product: str) -> PriceItem | None:
        """The item named ``product``, ignoring case and surrounding spaces."""
        wanted = product.strip().casefold()
        return next((i for i in self.items if i.product.casefold() == wanted), None)


@dataclass(frozen=True)
class WhatsAppTemplate:
    name: str
    language: str
    category: str
    params: tuple[str, ...] = ()


@dataclass(frozen=True)
class InboxConfig:
    """What the file says about one Chatwoot inbox; unlisted inboxes get only the autonomy."""

    inbox_id: int
    autonomy: Autonomy
    name: str | None = None
    knowledge_path: Path | None = None
    disclosure: str = DEFAULT_DISCLOSURE
    locales: tuple[str, ...] = ()
    link_domains: tuple[str, ...] = ()
    on_duty_agent: Agent | None = None
    on_duty_team: Team | None = None
    whatsapp_template: WhatsAppTemplate | None = None
    working_hours: WorkingHours | None = None
    prices: PriceList | None = None
    experiment: str | None = None


@dataclass(frozen=True)
class WingmanConfig:
    default_autonomy: Autonomy
    inboxes: dict[int, InboxConfig] = field(default_factory=dict)

    def inbox(self, inbox_id: int) -> InboxConfig:
        """The inbox's config, or the defaults if the file doesn't list it."""
        if inbox_id in self.inboxes:
            return self.inboxes[inbox_id]
        return InboxConfig(inbox_id=inbox_id, autonomy=self.default_autonomy)


def load_config(path: str | os.PathLike[str], default_autonomy: Autonomy) -> WingmanConfig:
    """Read and validate the config file; raises ConfigError listing every problem."""
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
        data = tomllib.loads(text, parse_float=Decimal)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(path, [f"invalid TOML: {exc}"]) from None
    reader = _Reader(file.parent, default_autonomy)
    inboxes = reader.document(data)
    if reader.problems:
        raise ConfigError(path, reader.problems)
    return WingmanConfig(default_autonomy=default_autonomy, inboxes=inboxes)


class ConfigStore:
    """The current config, re-read whenever the file changes so edits need no restart.

    The first load raises ConfigError. After that a bad edit is logged at ERROR and the last
    good config stays in force: a running bot must not die from a typo.
    """

    def __init__(
        self, path: str | os.PathLike[str], default_autonomy: Autonomy, *, required: bool
    ) -> None:
        self.path = Path(path)
        self.default_autonomy = default_autonomy
        self.required = required
        self._lock = threading.Lock()
        self._stamp = _stamp(self.path)
        self._config = self._load(self._stamp)
        if self._stamp is None:
            log.info(
                "%s not found; every inbox uses the defaults (autonomy %s)",
                self.path,
                default_autonomy,
            )
        else:
            log.info("loaded %s (%d inboxes)", self.path, len(self._config.inboxes))

    @classmethod
    def from_settings(cls, settings: Settings) -> ConfigStore:
        return cls(
            settings.wingman_config,
            settings.default_autonomy,
            required=settings.wingman_config_explicit,
        )

    def current(self) -> WingmanConfig:
        with self._lock:
            self._reload_if_changed()
            return self._config

    def inbox(self, inbox_id: int) -> InboxConfig:
        return self.current().inbox(inbox_id)

    def _reload_if_changed(self) -> None:
        stamp = _stamp(self.path)
        if stamp == self._stamp:
            return
        # Remember the stamp even if loading fails, so one bad edit is logged once.
        self._stamp = stamp
        try:
            self._config = self._load(stamp)
        except ConfigError as exc:
            log.error("%s\n(still using the last valid configuration)", exc)
            return
        if stamp is None:
            log.warning("%s was removed; every inbox now uses the defaults", self.path)
        else:
            log.info("reloaded %s (%d inboxes)", self.path, len(self._config.inboxes))

    def _load(self, stamp: _Stamp) -> WingmanConfig:
        if isinstance(stamp, str):
            raise ConfigError(self.path, [stamp])
        if stamp is not None:
            return load_config(self.path, self.default_autonomy)
        if self.required:
            raise ConfigError(self.path, ["file not found (WINGMAN_CONFIG names it)"])
        return WingmanConfig(default_autonomy=self.default_autonomy)


# One version of the file: (mtime, size, inode); None if there is no file; the problem if it
# can't be examined. The inode catches a file replaced by rename with its mtime kept (cp -p,
# Kubernetes ConfigMap symlink swaps); size catches edits within the mtime granularity.
_Stamp = tuple[int, int, int] | str | None


def _stamp(path: Path) -> _Stamp:
    try:
        st = path.stat()
    except FileNotFoundError:
        return None
    except OSError as exc:
        return f"cannot read the file ({exc.strerror})"
    return (st.st_mtime_ns, st.st_size, st.st_ino)


class _Invalid(Exception):
    """One problem at one key path; the reader collects them into a single ConfigError."""


class _Reader:
    """Turns the parsed TOML into config objects, collecting every problem on the way.

    Where a value is bad a stand-in takes its place so reading can go on; the result is
    thrown away whenever ``problems`` is not empty.
    """

    def __init__(self, base_dir: Path, default_autonomy: Autonomy) -> None:
        self.base_dir = base_dir
        self.default_autonomy = default_autonomy
        self.problems: list[str] = []

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
        where = _join(path, key)
        if key not in table:
            if required:
                self.problems.append(f"{where}: missing (required)")
            return None
        return self.attempt(parse, table[key], where)

    def attempt(self, parse: Callable[[Any, str], T], value: Any, path: str) -> T | None:
        try:
            return parse(value, path)
        except _Invalid as exc:
            self.problems.append(str(exc))
            return None

    def table(self, value: Any, path: str, valid: Sequence[str]) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise _Invalid(f"{path}: expected a table, got {_describe(value)}")
        for key in value:
            if key not in valid:
                close = difflib.get_close_matches(key, valid, n=1)
                hint = f"did you mean {close[0]!r}? " if close else ""
                self.problems.append(
                    f"{_join(path, key)}: unknown key; {hint}valid keys: {', '.join(valid)}"
                )
        return value

    def document(self, data: dict[str, Any]) -> dict[int, InboxConfig]:
        self.table(data, "", ("inboxes",))
        raw = data.get("inboxes", {})
        if not isinstance(raw, dict):
            self.problems.append(f"inboxes: expected a table, got {_describe(raw)}")
            return {}
        inboxes: dict[int, InboxConfig] = {}
        for key, value in raw.items():
            path = _join("inboxes", key)
            if not _INBOX_ID.fullmatch(key):
                self.problems.append(
                    f"{path}: inbox keys are Chatwoot inbox ids (positive whole numbers)"
                )
                continue
            inbox = self.attempt(functools.partial(self.inbox, int(key)), value, path)
            if inbox is not None:
                inboxes[inbox.inbox_id] = inbox
        return inboxes

    def inbox(self, inbox_id: int, value: Any, path: str) -> InboxConfig:
        t = self.table(value, path, _INBOX_KEYS)
        return InboxConfig(
            inbox_id=inbox_id,
            autonomy=self.get(_autonomy, t, "autonomy", path) or self.default_autonomy,
            name=self.get(_text, t, "name", path),
            knowledge_path=self.get(self.knowledge, t, "knowledge", path),
            disclosure=self.get(_text, t, "disclosure", path) or DEFAULT_DISCLOSURE,
            locales=self.get(_list_of(_locale), t, "locales", path) or (),
            link_domains=self.get(_list_of(_hostname), t, "link_domains", path) or (),
            on_duty_agent=self.get(self.agent, t, "on_duty_agent", path),
            on_duty_team=self.get(self.team, t, "on_duty_team", path),
            whatsapp_template=self.get(self.template, t, "whatsapp_template", path),
            working_hours=self.get(self.working_hours, t, "working_hours", path),
            prices=self.get(self.prices, t, "prices", path),
            experiment=self.get(_text, t, "experiment", path),
        )

    def knowledge(self, value: Any, path: str) -> Path:
        resolved = (self.base_dir / _text(value, path)).resolve()
        if not resolved.is_file():
            raise _Invalid(f"{path}: knowledge file not found: {resolved}")
        return resolved

    def agent(self, value: Any, path: str) -> Agent:
        t = self.table(value, path, ("id", "name"))
        agent_id = self.get(_positive_int, t, "id", path, required=True)
        name = self.get(_text, t, "name", path, required=True)
        return Agent(id=agent_id or 0, name=name or "")

    def team(self, value: Any, path: str) -> Team:
        agent = self.agent(value, path)
        return Team(id=agent.id, name=agent.name)

    def template(self, value: Any, path: str) -> WhatsAppTemplate:
        t = self.table(value, path, ("name", "language", "category", "params"))
        name = self.get(_template_name, t, "name", path, required=True)
        language = self.get(_template_language, t, "language", path, required=True)
        category = self.get(_category, t, "category", path, required=True)
        params = self.get(_list_of(_text), t, "params", path)
        return WhatsAppTemplate(
            name=name or "", language=language or "", category=category or "", params=params or ()
        )

    def prices(self, value: Any, path: str) -> PriceList:
        t = self.table(value, path, ("currency", "items"))
        currency = self.get(_currency, t, "currency", path, required=True)
        items: list[PriceItem] = []
        first_seen: dict[str, int] = {}
        for index, raw in enumerate(self.get(_array, t, "items", path, required=True) or []):
            where = f"{path}.items[{index}]"
            item = self.attempt(self.price_item, raw, where)
            if item is None:
                continue
            # Case-insensitive, so a lookup by product name can't match two items.
            first = first_seen.setdefault(item.product.casefold(), index)
            if first != index:
                self.problems.append(
                    f"{where}.product: duplicate product {item.product!r} (also items[{first}])"
                )
            items.append(item)
        return PriceList(currency=currency or "", items=tuple(items))

    def price_item(self, value: Any, path: str) -> PriceItem | None:
        t = self.table(value, path, ("product", "list", "min"))
        product = self.get(_text, t, "product", path, required=True)
        list_price = self.get(_money, t, "list", path, required=True)
        min_price = self.get(_money, t, "min", path, required=True)
        if product is None or list_price is None or min_price is None:
            return None
        if min_price > list_price:
            raise _Invalid(f"{path}.min ({min_price}) is above list ({list_price})")
        return PriceItem(product=product, list_price=list_price, min_price=min_price)

    def working_hours(self, value: Any, path: str) -> WorkingHours:
        before = len(self.problems)
        t = self.table(value, path, ("timezone", *WEEKDAYS))
        zone = self.get(_zone, t, "timezone", path, required=True)
        week = tuple(self.get(_day, t, day, path) or () for day in WEEKDAYS)
        # Only when nothing else is wrong: with `monday = […]` the typo is the news.
        if not any(week) and len(self.problems) == before:
            self.problems.append(
                f"{path}: no day has opening hours; remove the table if the inbox keeps none"
            )
        return WorkingHours(timezone=zone or zoneinfo.ZoneInfo("UTC"), week=week)


# --- Values ------------------------------------------------------------------------------


def _join(path: str, key: str) -> str:
    if not _BARE_KEY.fullmatch(key):
        key = json.dumps(key, ensure_ascii=False)
    return f"{path}.{key}" if path else key


def _describe(value: Any) -> str:
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


def _text(value: Any, path: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise _Invalid(f"{path}: expected a non-empty string, got {_describe(value)}")
    return value.strip()


def _array(value: Any, path: str) -> list[Any]:
    if not isinstance(value, list):
        raise _Invalid(f"{path}: expected an array, got {_describe(value)}")
    return value


def _list_of(parse: Callable[[Any, str], T]) -> Callable[[Any, str], tuple[T, ...]]:
    def parse_all(value: Any, path: str) -> tuple[T, ...]:
        return tuple(parse(item, f"{path}[{i}]") for i, item in enumerate(_array(value, path)))

    return parse_all


def _matching(pattern: re.Pattern[str], expected: str) -> Callable[[Any, str], str]:
    def parse(value: Any, path: str) -> str:
        if not isinstance(value, str) or not pattern.fullmatch(value):
            raise _Invalid(f"{path}: expected {expected}, got {_describe(value)}")
        return value

    return parse


_template_name = _matching(_TEMPLATE_NAME, "a template name of lowercase letters, digits and _")
_template_language = _matching(_TEMPLATE_LANGUAGE, "a language code such as 'en' or 'pt_BR'")


def _positive_int(value: Any, path: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise _Invalid(f"{path}: expected a positive whole number, got {_describe(value)}")
    return value


def _autonomy(value: Any, path: str) -> Autonomy:
    choices = [a.value for a in Autonomy]
    if not isinstance(value, str) or value.lower() not in choices:
        raise _Invalid(f"{path}: expected one of {', '.join(choices)}, got {_describe(value)}")
    return Autonomy(value.lower())


def _category(value: Any, path: str) -> str:
    if not isinstance(value, str) or value.upper() not in TEMPLATE_CATEGORIES:
        raise _Invalid(
            f"{path}: expected one of {', '.join(TEMPLATE_CATEGORIES)}, got {_describe(value)}"
        )
    return value.upper()


def _currency(value: Any, path: str) -> str:
    code = _text(value, path).upper()
    if not _CURRENCY.fullmatch(code):
        raise _Invalid(f"{path}: expected an ISO 4217 code such as 'EUR', got {value!r}")
    return code


def _money(value: Any, path: str) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, int | Decimal):
        raise _Invalid(f"{path}: expected a number, got {_describe(value)}")
    amount = Decimal(value)
    if not amount.is_finite() or amount <= 0:
        raise _Invalid(f"{path}: expected an amount above 0, got {value}")
    return amount


def _locale(value: Any, path: str) -> str:
    match = _LOCALE.fullmatch(value) if isinstance(value, str) else None
    if match is None:
        raise _Invalid(f"{path}: expected a locale such as 'en' or 'de-DE', got {_describe(value)}")
    language, script, region = match.groups()
    return "-".join(
        part
        for part in (language.lower(), script and script.title(), region and region.upper())
        if part
    )


def _hostname(value: Any, path: str) -> str:
    host = _text(value, path).lower().rstrip(".")
    try:
        host = host.encode("idna").decode("ascii")  # münchen.example -> xn--mnchen-3ya.example
    except UnicodeError:
        pass  # the pattern below rejects it with the message an operator needs
    if not _HOSTNAME.fullmatch(host):
        raise _Invalid(f"{path}: expected a host name such as 'acme.example', got {value!r}")
    return host


@functools.cache
def _iana_zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def _zone(value: Any, path: str) -> zoneinfo.ZoneInfo:
    # Checked against the list, not by trying ZoneInfo(name): on a case-insensitive
    # filesystem (macOS) 'europe/berlin' would load there and fail on the server.
    name = _text(value, path)
    if name not in _iana_zones():
        close = difflib.get_close_matches(name, _iana_zones(), n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise _Invalid(f"{path}: unknown IANA time zone {name!r}{hint}")
    return zoneinfo.ZoneInfo(name)


def _day(value: Any, path: str) -> tuple[OpenRange, ...]:
    ranges = sorted(_list_of(_open_range)(value, path), key=lambda r: r.start)
    for earlier, later in zip(ranges, ranges[1:], strict=False):
        if later.start < earlier.end:
            raise _Invalid(f"{path}: {earlier} overlaps {later}")
    return tuple(ranges)


def _open_range(value: Any, path: str) -> OpenRange:
    match = _RANGE.fullmatch(value.strip()) if isinstance(value, str) else None
    if match is None:
        raise _Invalid(f'{path}: expected "HH:MM-HH:MM", got {_describe(value)}')
    start_h, start_m, end_h, end_m = (int(g) for g in match.groups())
    start, end = start_h * 60 + start_m, end_h * 60 + end_m
    if start_h > 23 or start_m > 59 or end_m > 59 or end > 24 * 60:
        raise _Invalid(f"{path}: {value!r} is not a time of day (00:00 to 24:00)")
    if start >= end:
        raise _Invalid(
            f"{path}: {value!r} ends before it starts; split a range that crosses midnight "
            'over two days, e.g. "20:00-24:00" and "00:00-02:00" the next day'
        )
    return OpenRange(start=start, end=end)
