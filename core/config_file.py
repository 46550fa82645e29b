"""Reading wingman.toml: every inbox's settings validated, each problem named by its key
path (the validator is ``core.tomlfile``, shared with experiments.toml)."""

from __future__ import annotations

import difflib
import functools
import os
import re
import zoneinfo
from pathlib import Path
from typing import Any

from core import tomlfile
from core.autonomy_levels import Autonomy
from core.config import (
    DEFAULT_DISCLOSURE,
    Agent,
    FollowUpConfig,
    InboxConfig,
    PriceItem,
    PriceList,
    Team,
    WhatsAppTemplate,
    WingmanConfig,
)
from core.hours import OpenRange, WorkingHours
from core.tomlfile import (
    Invalid,
    array,
    boolean,
    describe,
    duration,
    join,
    list_of,
    matching,
    money,
    one_of,
    positive_int,
    share,
    text,
)

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
    "follow_ups",
)
_FOLLOW_UP_KEYS = (
    "enabled",
    "steps",
    "late_step",
    "holdout",
    "max_per_contact",
    "cap_period",
    "human_owned",
)
# No leading zero, so "012" and "12" can't both name inbox 12.
_INBOX_ID = re.compile(r"[1-9][0-9]*")
_LOCALE = re.compile(r"([a-z]{2,3})(?:-([a-z]{4}))?(?:-([a-z]{2}|[0-9]{3}))?", re.IGNORECASE)
_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
_HOSTNAME = re.compile(rf"(?=.{{1,253}}$)(?:{_LABEL}\.)+{_LABEL}")
_CURRENCY = re.compile(r"[A-Z]{3}")
# Meta's template names and language codes ("en", "en_US"), which Chatwoot passes through.
_TEMPLATE_NAME = re.compile(r"[a-z0-9_]{1,512}")
_TEMPLATE_LANGUAGE = re.compile(r"[a-z]{2,3}(?:_[A-Z]{2})?")
_RANGE = re.compile(r"(\d\d):(\d\d)\s*-\s*(\d\d):(\d\d)")


def load_config(path: str | os.PathLike[str], default_autonomy: Autonomy) -> WingmanConfig:
    """Read and validate the config file; raises ConfigError listing every problem."""
    reader = _InboxReader(Path(path).parent, default_autonomy)
    inboxes = reader.document(tomlfile.read(path))
    reader.check(path)
    return WingmanConfig(default_autonomy=default_autonomy, inboxes=inboxes)


class _InboxReader(tomlfile.Reader):
    """Turns the parsed TOML into config objects, collecting every problem on the way.

    Where a value is bad a stand-in takes its place so reading can go on; the result is
    thrown away whenever ``problems`` is not empty.
    """

    def __init__(self, base_dir: Path, default_autonomy: Autonomy) -> None:
        super().__init__()
        self.base_dir = base_dir
        self.default_autonomy = default_autonomy

    def document(self, data: dict[str, Any]) -> dict[int, InboxConfig]:
        self.table(data, "", ("inboxes",))
        raw = self.tables(data.get("inboxes", {}), "inboxes")
        inboxes: dict[int, InboxConfig] = {}
        for key, value in raw.items():
            path = join("inboxes", key)
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
            name=self.get(text, t, "name", path),
            knowledge_path=self.get(self.knowledge, t, "knowledge", path),
            disclosure=self.get(text, t, "disclosure", path) or DEFAULT_DISCLOSURE,
            locales=self.get(list_of(_locale), t, "locales", path) or (),
            link_domains=self.get(list_of(_hostname), t, "link_domains", path) or (),
            on_duty_agent=self.get(self.agent, t, "on_duty_agent", path),
            on_duty_team=self.get(self.team, t, "on_duty_team", path),
            whatsapp_template=self.get(self.template, t, "whatsapp_template", path),
            working_hours=self.get(self.working_hours, t, "working_hours", path),
            prices=self.get(self.prices, t, "prices", path),
            experiment=self.get(text, t, "experiment", path),
            follow_ups=self.get(self.follow_ups, t, "follow_ups", path) or FollowUpConfig(),
        )

    def follow_ups(self, value: Any, path: str) -> FollowUpConfig:
        t = self.table(value, path, _FOLLOW_UP_KEYS)
        default = FollowUpConfig()
        steps = self.get(list_of(duration), t, "steps", path)
        if steps is not None and not steps:
            self.problems.append(f"{path}.steps: give at least one step, or set enabled = false")
        elif steps is not None and list(steps) != sorted(set(steps)):
            self.problems.append(f"{path}.steps: each step must come later than the one before")
        steps = steps or default.steps
        late = self.get(duration, t, "late_step", path)
        if late is not None and late <= max(steps):
            self.problems.append(f"{path}.late_step: must come after the last step")
        holdout = self.get(share, t, "holdout", path)
        return FollowUpConfig(
            enabled=bool(self.get(boolean, t, "enabled", path)),
            steps=steps,
            late_step=late,
            holdout_share=default.holdout_share if holdout is None else holdout,
            max_per_contact=self.get(positive_int, t, "max_per_contact", path)
            or default.max_per_contact,
            cap_period=self.get(duration, t, "cap_period", path) or default.cap_period,
            human_owned=bool(self.get(boolean, t, "human_owned", path)),
        )

    def knowledge(self, value: Any, path: str) -> Path:
        resolved = (self.base_dir / text(value, path)).resolve()
        if not resolved.is_file():
            raise Invalid(f"{path}: knowledge file not found: {resolved}")
        return resolved

    def agent(self, value: Any, path: str) -> Agent:
        t = self.table(value, path, ("id", "name"))
        agent_id = self.get(positive_int, t, "id", path, required=True)
        name = self.get(text, t, "name", path, required=True)
        return Agent(id=agent_id or 0, name=name or "")

    def team(self, value: Any, path: str) -> Team:
        agent = self.agent(value, path)
        return Team(id=agent.id, name=agent.name)

    def template(self, value: Any, path: str) -> WhatsAppTemplate:
        t = self.table(value, path, ("name", "language", "category", "params"))
        name = self.get(_template_name, t, "name", path, required=True)
        language = self.get(_template_language, t, "language", path, required=True)
        category = self.get(_category, t, "category", path, required=True)
        params = self.get(list_of(text), t, "params", path)
        return WhatsAppTemplate(
            name=name or "", language=language or "", category=category or "", params=params or ()
        )

    def prices(self, value: Any, path: str) -> PriceList:
        t = self.table(value, path, ("currency", "items"))
        currency = self.get(_currency, t, "currency", path, required=True)
        items: list[PriceItem] = []
        first_seen: dict[str, int] = {}
        for index, raw in enumerate(self.get(array, t, "items", path, required=True) or []):
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
        product = self.get(text, t, "product", path, required=True)
        list_price = self.get(money, t, "list", path, required=True)
        min_price = self.get(money, t, "min", path, required=True)
        if product is None or list_price is None or min_price is None:
            return None
        if min_price > list_price:
            raise Invalid(f"{path}.min ({min_price}) is above list ({list_price})")
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


_template_name = matching(_TEMPLATE_NAME, "a template name of lowercase letters, digits and _")
_template_language = matching(_TEMPLATE_LANGUAGE, "a language code such as 'en' or 'pt_BR'")


_autonomy_name = one_of([a.value for a in Autonomy], fold=str.lower)


def _autonomy(value: Any, path: str) -> Autonomy:
    return Autonomy(_autonomy_name(value, path))


_category = one_of(TEMPLATE_CATEGORIES, fold=str.upper)


def _currency(value: Any, path: str) -> str:
    code = text(value, path).upper()
    if not _CURRENCY.fullmatch(code):
        raise Invalid(f"{path}: expected an ISO 4217 code such as 'EUR', got {value!r}")
    return code


def _locale(value: Any, path: str) -> str:
    match = _LOCALE.fullmatch(value) if isinstance(value, str) else None
    if match is None:
        raise Invalid(f"{path}: expected a locale such as 'en' or 'de-DE', got {describe(value)}")
    language, script, region = match.groups()
    return "-".join(
        part
        for part in (language.lower(), script and script.title(), region and region.upper())
        if part
    )


def _hostname(value: Any, path: str) -> str:
    host = text(value, path).lower().rstrip(".")
    try:
        host = host.encode("idna").decode("ascii")  # münchen.example -> xn--mnchen-3ya.example
    except UnicodeError:
        pass  # the pattern below rejects it with the message an operator needs
    if not _HOSTNAME.fullmatch(host):
        raise Invalid(f"{path}: expected a host name such as 'acme.example', got {value!r}")
    return host


@functools.cache
def _iana_zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def _zone(value: Any, path: str) -> zoneinfo.ZoneInfo:
    # Checked against the list, not by trying ZoneInfo(name): on a case-insensitive
    # filesystem (macOS) 'europe/berlin' would load there and fail on the server.
    name = text(value, path)
    if name not in _iana_zones():
        close = difflib.get_close_matches(name, _iana_zones(), n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise Invalid(f"{path}: unknown IANA time zone {name!r}{hint}")
    return zoneinfo.ZoneInfo(name)


def _day(value: Any, path: str) -> tuple[OpenRange, ...]:
    ranges = sorted(list_of(_open_range)(value, path), key=lambda r: r.start)
    for earlier, later in zip(ranges, ranges[1:], strict=False):
        if later.start < earlier.end:
            raise Invalid(f"{path}: {earlier} overlaps {later}")
    return tuple(ranges)


def _open_range(value: Any, path: str) -> OpenRange:
    match = _RANGE.fullmatch(value.strip()) if isinstance(value, str) else None
    if match is None:
        raise Invalid(f'{path}: expected "HH:MM-HH:MM", got {describe(value)}')
    start_h, start_m, end_h, end_m = (int(g) for g in match.groups())
    start, end = start_h * 60 + start_m, end_h * 60 + end_m
    if start_h > 23 or start_m > 59 or end_m > 59 or end > 24 * 60:
        raise Invalid(f"{path}: {value!r} is not a time of day (00:00 to 24:00)")
    if start >= end:
        raise Invalid(
            f"{path}: {value!r} ends before it starts; split a range that crosses midnight "
            'over two days, e.g. "20:00-24:00" and "00:00-02:00" the next day'
        )
    return OpenRange(start=start, end=end)
