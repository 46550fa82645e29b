from __future__ import annotations

import logging
import os
import shutil
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from core.autonomy_levels import Autonomy
from core.config import (
    DEFAULT_FOLLOW_UP_STEPS,
    Agent,
    FollowUpConfig,
    InboxConfig,
    PriceItem,
    Team,
    WhatsAppTemplate,
    WingmanConfig,
)
from core.config_file import load_config
from core.config_store import ConfigStore
from core.hours import OpenRange, WorkingHours
from core.settings import Settings
from core.tomlfile import ConfigError

ROOT = Path(__file__).resolve().parent.parent
BERLIN = ZoneInfo("Europe/Berlin")


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    """Where tests write wingman.toml, next to a knowledge file it may point at."""
    (tmp_path / "knowledge").mkdir()
    (tmp_path / "knowledge" / "website.md").write_text("# Acme\n")
    return tmp_path / "wingman.toml"


def load(path: Path, text: str, default: Autonomy = Autonomy.DRAFT) -> WingmanConfig:
    path.write_text(text, encoding="utf-8")
    return load_config(path, default)


def problems(path: Path, text: str) -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        load(path, text)
    return caught.value


def berlin(year: int, month: int, day: int, hour: int, minute: int, second: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=BERLIN)


# --- The shipped example ------------------------------------------------------------------


def test_the_shipped_example_loads_in_place() -> None:
    config = load_config(ROOT / "wingman.example.toml", Autonomy.DRAFT)

    website = config.inbox(12)
    assert website.knowledge_path == ROOT / "knowledge" / "website.example.md"
    assert website.on_duty_agent == Agent(id=21, name="Daniel Ortiz")
    assert website.on_duty_team == Team(id=2, name="Sales")
    assert website.prices is not None
    assert website.prices.item("trail tent 2p") == PriceItem(
        "Trail Tent 2P", Decimal("249.00"), Decimal("219.00")
    )
    assert website.prices.item("Trail Tent 3P") is None
    assert website.working_hours is not None
    assert website.working_hours.is_open(berlin(2024, 6, 3, 9, 0))
    whatsapp = config.inbox(15)
    assert whatsapp.autonomy is Autonomy.OFF
    assert whatsapp.whatsapp_template == WhatsAppTemplate(
        name="follow_up", language="de", category="MARKETING", params=("Acme Outdoor",)
    )


def test_the_shipped_example_loads_when_copied(tmp_path: Path) -> None:
    shutil.copy(ROOT / "wingman.example.toml", tmp_path / "wingman.toml")
    shutil.copytree(ROOT / "knowledge", tmp_path / "knowledge")

    config = load_config(tmp_path / "wingman.toml", Autonomy.OFF)

    assert sorted(config.inboxes) == [12, 15]
    assert config.inbox(12).knowledge_path == tmp_path / "knowledge" / "website.example.md"


def test_the_example_knowledge_file_has_an_internal_section() -> None:
    text = (ROOT / "knowledge" / "website.example.md").read_text(encoding="utf-8")
    assert "\n## Internal\n" in text


# --- Values and defaults ------------------------------------------------------------------


@pytest.mark.parametrize("default", list(Autonomy))
def test_an_unlisted_inbox_gets_the_defaults(config_file: Path, default: Autonomy) -> None:
    config = load(config_file, '[inboxes.12]\nautonomy = "off"\n', default)

    assert config.inbox(99) == InboxConfig(inbox_id=99, autonomy=default)
    assert config.inbox(99).disclosure == "🤖"
    assert config.inbox(99).knowledge_path is None


@pytest.mark.parametrize("default", list(Autonomy))
def test_an_inbox_without_autonomy_uses_the_default(config_file: Path, default: Autonomy) -> None:
    config = load(config_file, '[inboxes.12]\nname = "Website"\n', default)

    assert config.inbox(12).autonomy is default
    assert config.inbox(12).name == "Website"


def test_an_empty_file_lists_no_inboxes(config_file: Path) -> None:
    assert load(config_file, "# nothing yet\n").inboxes == {}


def test_a_full_inbox(config_file: Path) -> None:
    config = load(
        config_file,
        """
        [inboxes.12]
        autonomy = "autopilot"
        knowledge = "knowledge/website.md"
        disclosure = "(automated)"
        locales = ["en"]
        link_domains = ["acme-outdoor.example"]
        on_duty_agent = { id = 21, name = "Daniel Ortiz" }
        experiment = "shorter-replies"
        whatsapp_template = { name = "follow_up", language = "en_US", category = "UTILITY" }
        """,
    )

    inbox = config.inbox(12)
    assert inbox.autonomy is Autonomy.AUTOPILOT
    assert inbox.knowledge_path == config_file.parent / "knowledge" / "website.md"
    assert inbox.disclosure == "(automated)"
    assert inbox.experiment == "shorter-replies"
    assert inbox.on_duty_team is None
    assert inbox.whatsapp_template == WhatsAppTemplate("follow_up", "en_US", "UTILITY", ())


@pytest.mark.parametrize(
    ("key", "written", "read"),
    [
        ("autonomy", '"Autopilot"', Autonomy.AUTOPILOT),
        (
            "locales",
            '["de-de", "EN", "zh-hant-tw", "es-419"]',
            ("de-DE", "en", "zh-Hant-TW", "es-419"),
        ),
        ("link_domains", '["Acme-Outdoor.Example."]', ("acme-outdoor.example",)),
        ("link_domains", '["münchen.example"]', ("xn--mnchen-3ya.example",)),
        ("disclosure", '"  🤖  "', "🤖"),
    ],
)
def test_values_are_normalised(config_file: Path, key: str, written: str, read: object) -> None:
    config = load(config_file, f"[inboxes.12]\n{key} = {written}\n")

    assert getattr(config.inbox(12), key) == read


@pytest.mark.parametrize(
    ("written", "exact"),
    [("249.10", "249.10"), ("0.1", "0.1"), ("249", "249"), ("1e3", "1E+3"), ("19.999", "19.999")],
)
def test_prices_are_exact_decimals(config_file: Path, written: str, exact: str) -> None:
    config = load(
        config_file,
        f"""
        [inboxes.12.prices]
        currency = "eur"
        items = [{{ product = "Trail Tent 2P", list = {written}, min = {written} }}]
        """,
    )

    prices = config.inbox(12).prices
    assert prices is not None
    assert prices.currency == "EUR"
    assert prices.items[0].list_price == Decimal(exact)
    assert str(prices.items[0].list_price) == exact


def test_the_knowledge_path_is_relative_to_the_config_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "etc").mkdir()
    (tmp_path / "etc" / "shop.md").write_text("# Shop\n")
    monkeypatch.chdir(tmp_path)

    config = load(tmp_path / "etc" / "wingman.toml", '[inboxes.3]\nknowledge = "shop.md"\n')

    assert config.inbox(3).knowledge_path == tmp_path / "etc" / "shop.md"


def test_working_hours_are_read(config_file: Path) -> None:
    config = load(
        config_file,
        """
        [inboxes.12.working_hours]
        timezone = "Europe/Berlin"
        mon = ["14:00-18:00", "09:00 - 12:00"]
        fri = ["20:00-24:00"]
        sat = []
        """,
    )

    hours = config.inbox(12).working_hours
    assert hours is not None
    assert hours.timezone == BERLIN
    assert hours.week[0] == (OpenRange(9 * 60, 12 * 60), OpenRange(14 * 60, 18 * 60))
    assert [str(r) for r in hours.week[4]] == ["20:00-24:00"]
    assert hours.week[5] == hours.week[6] == ()


# --- Validation ---------------------------------------------------------------------------


def assert_one_problem(path: Path, text: str, expected: str) -> None:
    error = problems(path, text)

    assert len(error.problems) == 1, error.problems
    assert expected in error.problems[0]
    assert str(error) == f"{path}: {error.problems[0]}"
    assert error.path == path


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('[inbox.12]\nautonomy = "off"', "inbox: unknown key; did you mean 'inboxes'?"),
        ("inboxes = 3", "inboxes: expected a table, got the number 3"),
        ('[inboxes]\n12 = "web"', "inboxes.12: expected a table, got the string 'web'"),
        ("[inboxes.abc]", "inboxes.abc: inbox keys are Chatwoot inbox ids"),
        ("[inboxes.0]", "inboxes.0: inbox keys are Chatwoot inbox ids"),
        ("[inboxes.012]", "inboxes.012: inbox keys are Chatwoot inbox ids"),
        ("[inboxes.-3]", "inboxes.-3: inbox keys are Chatwoot inbox ids"),
        ('[inboxes."web site"]', 'inboxes."web site": inbox keys are Chatwoot inbox ids'),
    ],
)
def test_invalid_inbox_tables(config_file: Path, text: str, expected: str) -> None:
    assert_one_problem(config_file, text, expected)


AUTONOMY_CHOICES = "expected one of off, draft, autopilot"
NOT_TEXT = "expected a non-empty string"
NOT_HOST = "expected a host name such as 'acme.example'"
NOT_ID = "expected a positive whole number"


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ('autonmy = "off"', "inboxes.12.autonmy: unknown key; did you mean 'autonomy'?"),
        ('"auto nomy" = "off"', 'inboxes.12."auto nomy": unknown key'),
        ('autonomy = "auto"', f"inboxes.12.autonomy: {AUTONOMY_CHOICES}, got the string 'auto'"),
        ("autonomy = true", f"inboxes.12.autonomy: {AUTONOMY_CHOICES}, got the boolean true"),
        ("name = []", f"inboxes.12.name: {NOT_TEXT}, got an array"),
        ('disclosure = " "', f"inboxes.12.disclosure: {NOT_TEXT}, got the string ' '"),
        ("experiment = 2024-01-01", f"inboxes.12.experiment: {NOT_TEXT}, got a TOML date"),
        ('knowledge = "knowledge/gone.md"', "inboxes.12.knowledge: knowledge file not found: /"),
        ('knowledge = "knowledge"', "inboxes.12.knowledge: knowledge file not found: /"),
        ('locales = "en"', "inboxes.12.locales: expected an array, got the string 'en'"),
        (
            'locales = ["en", "de_DE"]',
            "inboxes.12.locales[1]: expected a locale such as 'en' or 'de-DE', got the string",
        ),
        ('locales = ["english"]', "inboxes.12.locales[0]: expected a locale"),
        ('link_domains = ["https://acme.example/"]', f"inboxes.12.link_domains[0]: {NOT_HOST}"),
        ('link_domains = ["localhost"]', f"inboxes.12.link_domains[0]: {NOT_HOST}"),
        ('link_domains = ["*.acme.example"]', f"inboxes.12.link_domains[0]: {NOT_HOST}"),
        ('link_domains = ["acme..example"]', f"inboxes.12.link_domains[0]: {NOT_HOST}"),
        ('link_domains = ["-acme.example"]', f"inboxes.12.link_domains[0]: {NOT_HOST}"),
        ("link_domains = [3]", "inboxes.12.link_domains[0]: expected a non-empty string"),
        ('on_duty_agent = { id = 0, name = "D" }', f"on_duty_agent.id: {NOT_ID}, got the number 0"),
        ('on_duty_agent = { id = true, name = "D" }', f"inboxes.12.on_duty_agent.id: {NOT_ID}"),
        ('on_duty_agent = { id = "21", name = "D" }', f"inboxes.12.on_duty_agent.id: {NOT_ID}"),
        ('on_duty_agent = { name = "D" }', "inboxes.12.on_duty_agent.id: missing (required)"),
        ("on_duty_agent = { id = 21 }", "inboxes.12.on_duty_agent.name: missing (required)"),
        (
            'on_duty_agent = { id = 21, name = "D", email = "d@x" }',
            "inboxes.12.on_duty_agent.email: unknown key; valid keys: id, name",
        ),
        ("on_duty_agent = 21", "inboxes.12.on_duty_agent: expected a table, got the number 21"),
        ('on_duty_team = { id = -2, name = "Sales" }', f"inboxes.12.on_duty_team.id: {NOT_ID}"),
    ],
)
def test_invalid_inbox_values(config_file: Path, line: str, expected: str) -> None:
    assert_one_problem(config_file, f"[inboxes.12]\n{line}\n", expected)


@pytest.mark.parametrize(
    ("lines", "expected"),
    [
        (
            'name = "Follow Up"\nlanguage = "en"\ncategory = "UTILITY"',
            "inboxes.12.whatsapp_template.name: expected a template name",
        ),
        (
            'name = "f"\nlanguage = "english"\ncategory = "UTILITY"',
            "inboxes.12.whatsapp_template.language: expected a language code",
        ),
        (
            'name = "f"\nlanguage = "en"\ncategory = "PROMO"',
            "inboxes.12.whatsapp_template.category: expected one of MARKETING, UTILITY, AUTH",
        ),
        (
            'name = "f"\nlanguage = "en"',
            "inboxes.12.whatsapp_template.category: missing (required)",
        ),
        (
            'name = "f"\nlanguage = "en"\ncategory = "UTILITY"\nparams = [1]',
            "inboxes.12.whatsapp_template.params[0]: expected a non-empty string",
        ),
        (
            'name = "f"\nlanguage = "en"\ncategory = "UTILITY"\nparam = ["x"]',
            "inboxes.12.whatsapp_template.param: unknown key; did you mean 'params'?",
        ),
    ],
)
def test_invalid_whatsapp_templates(config_file: Path, lines: str, expected: str) -> None:
    assert_one_problem(config_file, f"[inboxes.12.whatsapp_template]\n{lines}\n", expected)


NOT_POSITIVE = "expected an amount above 0"


@pytest.mark.parametrize(
    ("items", "expected"),
    [
        ('{ product = "Tent", list = 249, min = 300 }', "items[0].min (300) is above list (249)"),
        (
            '{ product = "Tent", list = 249.00, min = 249.01 }',
            "items[0].min (249.01) is above list (249.00)",
        ),
        ('{ product = "Tent", list = 249, min = 0 }', f"items[0].min: {NOT_POSITIVE}, got 0"),
        ('{ product = "Tent", list = 249, min = -0.0 }', f"items[0].min: {NOT_POSITIVE}, got -0.0"),
        ('{ product = "Tent", list = -5, min = 1 }', f"items[0].list: {NOT_POSITIVE}, got -5"),
        ('{ product = "Tent", list = nan, min = 1 }', f"items[0].list: {NOT_POSITIVE}, got NaN"),
        ('{ product = "Tent", list = inf, min = 1 }', f"items[0].list: {NOT_POSITIVE}"),
        (
            '{ product = "Tent", list = "249.00", min = 1 }',
            "items[0].list: expected a number, got the string '249.00'",
        ),
        ('{ product = "Tent", list = 249 }', "items[0].min: missing (required)"),
        ('{ product = "", list = 9, min = 8 }', "items[0].product: expected a non-empty string"),
        (
            '{ product = "Tent", list = 9, min = 8, max = 10 }',
            "items[0].max: unknown key; valid keys: product, list, min",
        ),
        (
            '{ product = "Tent", list = 9, min = 8 }, { product = " tent ", list = 9, min = 8 }',
            "items[1].product: duplicate product 'tent' (also items[0])",
        ),
        ('"Tent"', "items[0]: expected a table, got the string 'Tent'"),
    ],
)
def test_invalid_price_items(config_file: Path, items: str, expected: str) -> None:
    text = f'[inboxes.12.prices]\ncurrency = "EUR"\nitems = [{items}]\n'

    assert_one_problem(config_file, text, f"inboxes.12.prices.{expected}")


@pytest.mark.parametrize(
    ("lines", "expected"),
    [
        ('currency = "EURO"\nitems = []', "currency: expected an ISO 4217 code such as 'EUR'"),
        ('currency = "€"\nitems = []', "currency: expected an ISO 4217 code such as 'EUR'"),
        ("items = []", "currency: missing (required)"),
        ('currency = "EUR"', "items: missing (required)"),
        ('currency = "EUR"\nitems = { product = "Tent" }', "items: expected an array, got a table"),
    ],
)
def test_invalid_price_lists(config_file: Path, lines: str, expected: str) -> None:
    text = f"[inboxes.12.prices]\n{lines}\n"

    assert_one_problem(config_file, text, f"inboxes.12.prices.{expected}")


@pytest.mark.parametrize(
    ("lines", "expected"),
    [
        (
            'timezone = "Mars/Base"\nmon = ["09:00-18:00"]',
            "timezone: unknown IANA time zone 'Mars/Base'",
        ),
        (
            'timezone = "europe/berlin"\nmon = ["09:00-18:00"]',
            "timezone: unknown IANA time zone 'europe/berlin'; did you mean 'Europe/Berlin'?",
        ),
        ('mon = ["09:00-18:00"]', "timezone: missing (required)"),
        ('timezone = "UTC"\nmon = ["9-18"]', 'mon[0]: expected "HH:MM-HH:MM", got the string'),
        ('timezone = "UTC"\nmon = "09:00-18:00"', "mon: expected an array"),
        ('timezone = "UTC"\ntue = ["18:00-09:00"]', "tue[0]: '18:00-09:00' ends before it starts"),
        ('timezone = "UTC"\ntue = ["09:00-09:00"]', "tue[0]: '09:00-09:00' ends before it starts"),
        ('timezone = "UTC"\nwed = ["24:00-24:00"]', "wed[0]: '24:00-24:00' is not a time of day"),
        ('timezone = "UTC"\nwed = ["09:60-10:00"]', "wed[0]: '09:60-10:00' is not a time of day"),
        ('timezone = "UTC"\nwed = ["20:00-24:30"]', "wed[0]: '20:00-24:30' is not a time of day"),
        (
            'timezone = "UTC"\nthu = ["12:00-18:00", "09:00-13:00"]',
            "thu: 09:00-13:00 overlaps 12:00-18:00",
        ),
        (
            'timezone = "UTC"\nmonday = ["09:00-18:00"]',
            "monday: unknown key; did you mean 'mon'?",
        ),
    ],
)
def test_invalid_working_hours(config_file: Path, lines: str, expected: str) -> None:
    text = f"[inboxes.12.working_hours]\n{lines}\n"

    assert_one_problem(config_file, text, f"inboxes.12.working_hours.{expected}")


@pytest.mark.parametrize("days", ["", "sat = []"])
def test_working_hours_must_open_some_day(config_file: Path, days: str) -> None:
    text = f'[inboxes.12.working_hours]\ntimezone = "UTC"\n{days}\n'

    assert_one_problem(config_file, text, "inboxes.12.working_hours: no day has opening hours")


def test_an_unknown_key_lists_the_valid_ones(config_file: Path) -> None:
    error = problems(config_file, '[inboxes.12]\nautonmy = "off"\n')

    assert error.problems[0].endswith(
        "valid keys: name, autonomy, knowledge, disclosure, locales, link_domains, on_duty_agent,"
        " on_duty_team, whatsapp_template, working_hours, prices, experiment, follow_ups"
    )


def test_a_missing_knowledge_file_is_named_by_its_resolved_path(config_file: Path) -> None:
    error = problems(config_file, '[inboxes.12]\nknowledge = "knowledge/../kb.md"\n')

    assert str(config_file.parent / "kb.md") in str(error)


def test_every_problem_is_reported_at_once(config_file: Path) -> None:
    error = problems(
        config_file,
        """
        [inboxes.12]
        autonmy = "draft"
        on_duty_agent = { id = 0, name = "" }
        [inboxes.12.prices]
        currency = "EUR"
        items = [
          { product = "Tent", list = 249, min = 300 },
          { product = "Bag", list = 0, min = 0 },
        ]
        [inboxes.13]
        locales = ["english"]
        """,
    )

    assert [p.split(":")[0].split(" ")[0] for p in error.problems] == [
        "inboxes.12.autonmy",
        "inboxes.12.on_duty_agent.id",
        "inboxes.12.on_duty_agent.name",
        "inboxes.12.prices.items[0].min",
        "inboxes.12.prices.items[1].list",
        "inboxes.12.prices.items[1].min",
        "inboxes.13.locales[0]",
    ]
    assert str(error).splitlines() == [f"{config_file}: {p}" for p in error.problems]


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ('[inboxes.12]\nautonomy = "draft"\nname = \n', "line 3"),
        ('[inboxes.12]\nautonomy = "draft"\nautonomy = "off"\n', "line 3"),
        ("[inboxes.12\n", "line 1"),
    ],
)
def test_toml_syntax_errors_name_the_file_and_line(config_file: Path, text: str, line: str) -> None:
    error = problems(config_file, text)

    assert str(error).startswith(f"{config_file}: invalid TOML: ")
    assert line in str(error)


def test_a_file_that_is_not_utf8_is_reported(config_file: Path) -> None:
    config_file.write_bytes(b'[inboxes.12]\nname = "Caf\xe9"\n')

    with pytest.raises(ConfigError, match="not UTF-8"):
        load_config(config_file, Autonomy.DRAFT)


def test_a_byte_order_mark_is_tolerated(config_file: Path) -> None:
    config_file.write_bytes('\ufeff[inboxes.12]\nautonomy = "off"\n'.encode())

    assert load_config(config_file, Autonomy.DRAFT).inbox(12).autonomy is Autonomy.OFF


def test_load_config_needs_the_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="file not found"):
        load_config(tmp_path / "wingman.toml", Autonomy.DRAFT)


@pytest.mark.parametrize("required", [True, False])
def test_a_file_that_cannot_be_read_is_an_error(tmp_path: Path, required: bool) -> None:
    (tmp_path / "wingman.toml").mkdir()

    with pytest.raises(ConfigError, match="cannot read the file"):
        ConfigStore(tmp_path / "wingman.toml", Autonomy.DRAFT, required=required)


# --- Working hours ------------------------------------------------------------------------


def hours(zone: ZoneInfo = BERLIN, **days: list[str]) -> WorkingHours:
    def minutes(hhmm: str) -> int:
        h, m = hhmm.split(":")
        return int(h) * 60 + int(m)

    week = tuple(
        tuple(OpenRange(*map(minutes, r.split("-"))) for r in days.get(day, []))
        for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
    )
    return WorkingHours(timezone=zone, week=week)


SHOP = hours(
    mon=["09:00-18:00"],
    tue=["09:00-18:00"],
    wed=["09:00-18:00"],
    thu=["09:00-18:00"],
    fri=["09:00-13:00", "14:00-18:00"],
    sat=["10:00-14:00"],
)


@pytest.mark.parametrize(
    ("at", "open_"),
    [
        # Monday 3 June 2024, summer time (UTC+2)
        (berlin(2024, 6, 3, 8, 59, 59), False),
        (berlin(2024, 6, 3, 9, 0), True),
        (berlin(2024, 6, 3, 17, 59, 59), True),
        (berlin(2024, 6, 3, 18, 0), False),
        (datetime(2024, 6, 3, 7, 0, tzinfo=UTC), True),
        (datetime(2024, 6, 3, 6, 59, tzinfo=UTC), False),
        # Friday lunch break, Saturday, Sunday closed
        (berlin(2024, 6, 7, 12, 59), True),
        (berlin(2024, 6, 7, 13, 0), False),
        (berlin(2024, 6, 7, 14, 0), True),
        (berlin(2024, 6, 8, 13, 59), True),
        (berlin(2024, 6, 8, 14, 0), False),
        (berlin(2024, 6, 9, 12, 0), False),
        # The same wall-clock hours either side of the spring change (31 March 2024)
        (datetime(2024, 3, 29, 7, 30, tzinfo=UTC), False),  # 08:30 CET
        (datetime(2024, 3, 29, 8, 0, tzinfo=UTC), True),  # 09:00 CET
        (datetime(2024, 4, 1, 6, 59, tzinfo=UTC), False),  # 08:59 CEST
        (datetime(2024, 4, 1, 7, 0, tzinfo=UTC), True),  # 09:00 CEST
        (datetime(2024, 4, 1, 16, 0, tzinfo=UTC), False),  # 18:00 CEST
        # ... and the autumn change (27 October 2024)
        (datetime(2024, 10, 25, 7, 0, tzinfo=UTC), True),  # 09:00 CEST
        (datetime(2024, 10, 28, 7, 0, tzinfo=UTC), False),  # 08:00 CET
        (datetime(2024, 10, 28, 8, 0, tzinfo=UTC), True),  # 09:00 CET
        (datetime(2024, 10, 28, 16, 59, tzinfo=UTC), True),  # 17:59 CET
    ],
)
def test_is_open(at: datetime, open_: bool) -> None:
    assert SHOP.is_open(at) is open_


@pytest.mark.parametrize(
    ("at", "open_"),
    [
        (berlin(2024, 6, 7, 19, 59), False),
        (berlin(2024, 6, 7, 20, 0), True),
        (berlin(2024, 6, 7, 23, 59, 59), True),
        (berlin(2024, 6, 8, 0, 0), True),
        (berlin(2024, 6, 8, 1, 59), True),
        (berlin(2024, 6, 8, 2, 0), False),
    ],
)
def test_an_evening_can_run_past_midnight(at: datetime, open_: bool) -> None:
    late = hours(fri=["20:00-24:00"], sat=["00:00-02:00"])

    assert late.is_open(at) is open_


@pytest.mark.parametrize(
    ("at", "expected"),
    [
        # Already open: the same instant
        (berlin(2024, 6, 3, 10, 30), berlin(2024, 6, 3, 10, 30)),
        (berlin(2024, 6, 3, 17, 59, 59), berlin(2024, 6, 3, 17, 59, 59)),
        # Before opening, after closing, over the lunch break, over the weekend
        (berlin(2024, 6, 3, 7, 0), berlin(2024, 6, 3, 9, 0)),
        (berlin(2024, 6, 3, 18, 0), berlin(2024, 6, 4, 9, 0)),
        (berlin(2024, 6, 7, 13, 0, 1), berlin(2024, 6, 7, 14, 0)),
        (berlin(2024, 6, 8, 14, 0), berlin(2024, 6, 10, 9, 0)),
        (berlin(2024, 6, 9, 23, 59), berlin(2024, 6, 10, 9, 0)),
        # Over a weekend with a daylight-saving change: 09:00 on the new wall clock
        (berlin(2024, 3, 30, 14, 0), datetime(2024, 4, 1, 7, 0, tzinfo=UTC)),
        (berlin(2024, 10, 26, 14, 0), datetime(2024, 10, 28, 8, 0, tzinfo=UTC)),
    ],
)
def test_next_open(at: datetime, expected: datetime) -> None:
    opening = SHOP.next_open(at)

    assert opening == expected
    assert opening.tzinfo is UTC
    assert SHOP.is_open(opening)


@pytest.mark.parametrize(
    ("sunday", "at", "expected"),
    [
        # 02:00-03:00 doesn't exist on 31 March 2024: a range starting there opens at the jump.
        ("02:30-05:00", datetime(2024, 3, 30, 12, 0, tzinfo=UTC), "2024-03-31T01:00:00+00:00"),
        # A range wholly inside the skipped hour never opens that day.
        ("02:10-02:50", datetime(2024, 3, 30, 12, 0, tzinfo=UTC), "2024-04-07T00:10:00+00:00"),
        # 02:00-03:00 happens twice on 27 October 2024: at 02:50 CEST the range is still ahead.
        ("02:30-02:45", datetime(2024, 10, 27, 0, 50, tzinfo=UTC), "2024-10-27T01:30:00+00:00"),
        # ... and turning the clock back re-enters a range that had closed.
        ("01:00-02:15", datetime(2024, 10, 27, 0, 45, tzinfo=UTC), "2024-10-27T01:00:00+00:00"),
    ],
)
def test_next_open_follows_the_wall_clock_through_dst(
    sunday: str, at: datetime, expected: str
) -> None:
    assert hours(sun=[sunday]).next_open(at) == datetime.fromisoformat(expected)


@pytest.mark.parametrize(
    ("zone", "start"),
    [
        ("Europe/Berlin", datetime(2024, 3, 30, 12, tzinfo=UTC)),
        ("Europe/Berlin", datetime(2024, 10, 26, 12, tzinfo=UTC)),
        ("America/New_York", datetime(2024, 3, 9, 12, tzinfo=UTC)),
        ("America/New_York", datetime(2024, 11, 2, 12, tzinfo=UTC)),
        # Lord Howe moves its clock by 30 minutes.
        ("Australia/Lord_Howe", datetime(2024, 4, 5, 12, tzinfo=UTC)),
        ("Australia/Lord_Howe", datetime(2024, 10, 4, 12, tzinfo=UTC)),
    ],
)
def test_next_open_agrees_with_a_minute_by_minute_search(zone: str, start: datetime) -> None:
    # Each start is the Saturday before the zone changes its clock at 02:00 on a Sunday. The
    # Sunday ranges make the inbox close before each change and open during or after it.
    week = hours(
        ZoneInfo(zone),
        sat=["23:30-24:00"],
        sun=["01:00-01:45", "02:10-02:15", "03:00-03:30"],
        mon=["09:00-18:00"],
    )
    minutes = [start + timedelta(minutes=m) for m in range(4 * 24 * 60)]
    expected: dict[datetime, datetime | None] = {}
    upcoming = None
    for at in reversed(minutes):
        upcoming = at if week.is_open(at) else upcoming
        expected[at] = upcoming

    for at in minutes[: 2 * 24 * 60]:
        assert week.next_open(at) == expected[at], at


def test_next_open_on_hours_that_never_open() -> None:
    with pytest.raises(ValueError, match="never open"):
        hours().next_open(berlin(2024, 6, 3, 9, 0))


@pytest.mark.parametrize("method", ["is_open", "next_open"])
def test_working_hours_need_an_aware_datetime(method: str) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        getattr(SHOP, method)(datetime(2024, 6, 3, 9, 0))


# --- ConfigStore --------------------------------------------------------------------------


def rewrite(path: Path, text: str) -> None:
    """Write and move the mtime on, as an edit a few seconds later would."""
    before = path.stat().st_mtime_ns if path.exists() else 0
    path.write_text(text, encoding="utf-8")
    later = max(path.stat().st_mtime_ns, before) + 5_000_000_000
    os.utime(path, ns=(later, later))


def test_the_store_reloads_an_edited_file(config_file: Path) -> None:
    config_file.write_text('[inboxes.12]\nautonomy = "draft"\n')
    store = ConfigStore(config_file, Autonomy.OFF, required=True)
    assert store.inbox(12).autonomy is Autonomy.DRAFT

    rewrite(config_file, '[inboxes.12]\nautonomy = "autopilot"\n')

    assert store.inbox(12).autonomy is Autonomy.AUTOPILOT


def test_the_store_notices_an_edit_that_keeps_mtime_and_size(config_file: Path) -> None:
    config_file.write_text('[inboxes.12]\nautonomy = "off"\n')
    store = ConfigStore(config_file, Autonomy.DRAFT, required=True)
    stat = config_file.stat()
    replacement = config_file.with_name("wingman.toml.new")
    replacement.write_text('[inboxes.21]\nautonomy = "off"\n')
    os.utime(replacement, ns=(stat.st_atime_ns, stat.st_mtime_ns))

    replacement.replace(config_file)  # an atomic save, as editors and cp -p do

    assert 21 in store.current().inboxes


def test_the_store_does_not_reparse_an_unchanged_file(config_file: Path) -> None:
    config_file.write_text('[inboxes.12]\nautonomy = "off"\n')
    store = ConfigStore(config_file, Autonomy.DRAFT, required=True)

    assert store.current() is store.current()


def test_a_bad_edit_keeps_the_last_good_config(
    config_file: Path, caplog: pytest.LogCaptureFixture
) -> None:
    config_file.write_text('[inboxes.12]\nautonomy = "draft"\n')
    store = ConfigStore(config_file, Autonomy.OFF, required=True)

    rewrite(config_file, '[inboxes.12]\nautonmy = "autopilot"\n')
    with caplog.at_level(logging.ERROR, logger="core.config_store"):
        first = store.inbox(12)
        second = store.inbox(12)

    assert first.autonomy is second.autonomy is Autonomy.DRAFT
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 1, "one bad edit is logged once"
    assert f"{config_file}: inboxes.12.autonmy: unknown key" in errors[0].getMessage()

    rewrite(config_file, '[inboxes.12]\nautonomy = "autopilot"\n')

    assert store.inbox(12).autonomy is Autonomy.AUTOPILOT


def test_the_first_load_raises(config_file: Path) -> None:
    config_file.write_text('[inboxes.12]\nautonomy = "sometimes"\n')

    with pytest.raises(ConfigError, match=r"inboxes\.12\.autonomy"):
        ConfigStore(config_file, Autonomy.OFF, required=False)


def test_a_required_file_must_exist(tmp_path: Path) -> None:
    missing = tmp_path / "etc" / "wingman.toml"

    with pytest.raises(ConfigError, match="file not found") as caught:
        ConfigStore(missing, Autonomy.DRAFT, required=True)

    assert str(caught.value).startswith(f"{missing}: ")


def test_without_a_file_every_inbox_uses_the_defaults(
    config_file: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="core.config_store"):
        store = ConfigStore(config_file, Autonomy.AUTOPILOT, required=False)

    assert store.current().inboxes == {}
    assert store.inbox(12) == InboxConfig(inbox_id=12, autonomy=Autonomy.AUTOPILOT)
    assert [(r.levelno, str(config_file) in r.getMessage()) for r in caplog.records] == [
        (logging.INFO, True)
    ]

    rewrite(config_file, '[inboxes.12]\nautonomy = "off"\n')

    assert store.inbox(12).autonomy is Autonomy.OFF


@pytest.mark.parametrize(
    ("required", "autonomy", "level"),
    [(False, Autonomy.DRAFT, logging.WARNING), (True, Autonomy.OFF, logging.ERROR)],
)
def test_a_removed_file(
    config_file: Path,
    caplog: pytest.LogCaptureFixture,
    required: bool,
    autonomy: Autonomy,
    level: int,
) -> None:
    config_file.write_text('[inboxes.12]\nautonomy = "off"\n')
    store = ConfigStore(config_file, Autonomy.DRAFT, required=required)

    config_file.unlink()
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="core.config_store"):
        assert store.inbox(12).autonomy is autonomy

    assert [r.levelno for r in caplog.records] == [level]


@pytest.mark.parametrize("explicit", [True, False])
def test_a_store_from_settings(tmp_path: Path, explicit: bool) -> None:
    settings = Settings(
        wingman_config=str(tmp_path / "wingman.toml"),
        wingman_config_explicit=explicit,
        default_autonomy=Autonomy.OFF,
    )

    if explicit:
        with pytest.raises(ConfigError):
            ConfigStore.from_settings(settings)
    else:
        assert ConfigStore.from_settings(settings).inbox(1).autonomy is Autonomy.OFF


# --- Follow-ups ---------------------------------------------------------------------------


def test_follow_ups_are_off_by_default_with_the_default_schedule(config_file: Path) -> None:
    config = load(config_file, "[inboxes.12]\nname = 'Web'\n")
    assert config.inbox(12).follow_ups == FollowUpConfig()
    assert config.inbox(99).follow_ups.enabled is False
    assert FollowUpConfig().schedule == DEFAULT_FOLLOW_UP_STEPS
    assert [s.total_seconds() / 60 for s in DEFAULT_FOLLOW_UP_STEPS] == [20, 180, 1200]


def test_the_shipped_example_enables_follow_ups_on_whatsapp() -> None:
    follow_ups = load_config(ROOT / "wingman.example.toml", Autonomy.DRAFT).inbox(15).follow_ups
    assert follow_ups.enabled and follow_ups.holdout_share == 0.2
    assert follow_ups.schedule == (*DEFAULT_FOLLOW_UP_STEPS, timedelta(days=2))


def test_a_follow_up_schedule_is_read(config_file: Path) -> None:
    config = load(
        config_file,
        """
        [inboxes.12.follow_ups]
        enabled = true
        steps = ["30m", "4h", "1d 2h"]
        late_step = "2d 12h"
        holdout = 0
        max_per_contact = 2
        cap_period = "3d"
        human_owned = true
        """,
    )
    assert config.inbox(12).follow_ups == FollowUpConfig(
        enabled=True,
        steps=(timedelta(minutes=30), timedelta(hours=4), timedelta(days=1, hours=2)),
        late_step=timedelta(days=2, hours=12),
        holdout_share=0.0,
        max_per_contact=2,
        cap_period=timedelta(days=3),
        human_owned=True,
    )


def test_every_follow_up_problem_is_named(config_file: Path) -> None:
    error = problems(
        config_file,
        """
        [inboxes.12.follow_ups]
        enabled = "yes"
        steps = ["3h", "20m", "soon"]
        holdout = 1
        max_per_contact = 0
        cap_period = "0m"
        human_owend = true
        """,
    )
    text = str(error)
    assert "inboxes.12.follow_ups.enabled: expected true or false" in text
    assert 'inboxes.12.follow_ups.steps[2]: expected a duration such as "20m"' in text
    assert "inboxes.12.follow_ups.holdout: expected a share from 0 up to" in text
    assert "inboxes.12.follow_ups.max_per_contact: expected a positive whole number" in text
    assert "inboxes.12.follow_ups.cap_period: expected a duration above zero" in text
    assert "inboxes.12.follow_ups.human_owend: unknown key; did you mean 'human_owned'?" in text


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ('steps = ["3h", "20m"]', "each step must come later than the one before"),
        ('steps = ["3h", "3h"]', "each step must come later than the one before"),
        ("steps = []", "give at least one step"),
        ('late_step = "20h"', "late_step: must come after the last step"),
    ],
)
def test_a_follow_up_schedule_must_run_forward(config_file: Path, body: str, message: str) -> None:
    error = problems(config_file, f"[inboxes.12.follow_ups]\nenabled = true\n{body}\n")
    assert message in str(error)
