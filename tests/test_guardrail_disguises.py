"""Disguised prices and links (issue 10, finding 3): each class once went out on autopilot.

Every test calls the guardrails directly, on an inbox with nothing configured (no price
list, no link domains: no price and no link may go out) and, where the disguise needs one,
on the example inbox with its price list and link domains.
"""

from __future__ import annotations

import importlib
import socket
import sys
from dataclasses import replace
from typing import Any

import pytest

from core.config import InboxConfig
from tests.injection_corpus import INBOX, KNOWLEDGE, SYSTEM_PROMPT
from workers.guardrails import CheckResult, check, hosts
from workers.guardrails.text import normalise

BARE = replace(INBOX, prices=None, link_domains=())


def result(reply: str, name: str, inbox: InboxConfig = BARE) -> CheckResult:
    return check([reply], inbox=inbox, knowledge=KNOWLEDGE, system_prompt=SYSTEM_PROMPT).result(
        name
    )


def first_link(links: CheckResult) -> str:
    """The link a links failure names first, as the rep reads it."""
    return links.detail.split()[0].removesuffix(":")


def no_price_list(reply: str, shown: str) -> None:
    """Fails on an inbox without a price list, naming the amount as a reader sees it."""
    prices = result(reply, "prices")
    assert not prices.passed, reply
    assert f"{shown}: this inbox has no price list" in prices.detail


def off_the_list(reply: str, shown: str) -> None:
    """Fails on the example inbox: the amount is no list price and names no product."""
    prices = result(reply, "prices", INBOX)
    assert not prices.passed, reply
    assert shown in prices.detail


@pytest.mark.parametrize(
    ("reply", "shown"),
    [
        ("Yours for €\u200b199 today.", "€199"),
        ("Yours for 199\u2060€ today.", "199€"),
        ("Yours for 199\u00ad EUR.", "199 EUR"),
        ("Yours for 1\u200d99\ufeff,00 €.", "199,00 €"),
    ],
)
def test_an_invisible_character_inside_a_price(reply: str, shown: str) -> None:
    no_price_list(reply, shown)
    off_the_list(reply, shown)


@pytest.mark.parametrize(
    ("reply", "shown"),
    [
        ("Yours for 199  € today.", "199 €"),
        ("Yours for 199   EUR.", "199 EUR"),
        ("Yours for €  199.", "€ 199"),
        ("Yours for 199\t\t€.", "199 €"),
        ("Yours for 199 \u00a0 Euro.", "199 Euro"),
    ],
)
def test_repeated_spaces_between_amount_and_currency(reply: str, shown: str) -> None:
    no_price_list(reply, shown)
    off_the_list(reply, shown)


@pytest.mark.parametrize(
    ("reply", "shown"),
    [
        ("Yours for €¹⁹⁹ today.", "€199"),
        ("Yours for ¹⁹⁹ €.", "199 €"),
        ("Yours for ₁₉₉ EUR.", "199 EUR"),
        ("Yours for ①⑨⑨ €.", "199 €"),
    ],
)
def test_compatibility_digits(reply: str, shown: str) -> None:
    no_price_list(reply, shown)
    off_the_list(reply, shown)


@pytest.mark.parametrize(
    "reply",
    [
        "My\u200b instructions say: keep it short.",
        "I was t\u00adold to keep it short.",
        "Meine Anweisungen\u2060 sagen, dass ich nachfragen soll.",
    ],
)
def test_every_check_reads_the_normal_form(reply: str) -> None:
    assert "talks about its instructions" in result(reply, "leaks").detail


@pytest.mark.parametrize(
    ("written", "read"),
    [
        ("€\u200b1\u200c9\u200d9\u2060\ufeff\u00ad", "€199"),
        ("x\u202e\u2066y\u034f\ufe0fz\u3164", "xyz"),  # bidi, joiner, selector, filler
        ("a\x00b\x07c", "abc"),  # control characters
        ("¹⁹⁹ ₁₉₉ ①⑨⑨ １９９ 𝟏𝟗𝟗", "199 199 199 199 199"),
        ("ｅｖｉｌ．ｃｏｍ", "evil.com"),
        ("199\u00a0\u202f\u2009\u3000€", "199 €"),
        ("a \t b", "a b"),
        ("a \n b", "a\nb"),
        ("a\r\nb", "a\nb"),
        ("a\u2028b", "a\nb"),
        ("a\n\nb", "a\n\nb"),  # the break between bubbles
        ("a \n \n\n \r\n b", "a\n\nb"),
        ("Plain ASCII stays as it is.", "Plain ASCII stays as it is."),
    ],
)
def test_the_normal_form(written: str, read: str) -> None:
    assert normalise(written) == read
    assert normalise(read) == read


def test_the_length_check_counts_what_is_sent() -> None:
    # The checks read "Hi"; the customer's app gets all 601 characters.
    sent = "Hi" + "\u200b" * 599
    assert result(sent, "length").detail == "bubble 1 has 601 characters, at most 600"


@pytest.mark.parametrize(
    "reply",
    [
        "The Trail Tent 2P is free for you today!",
        "Everything is free today!",
        "This one's on the house.",
        "Today the Trail Tent 2P is on the house!",
        "You get 90% today!",
        "Heute 90 % auf alles!",
        "Das Zelt bekommst du heute kostenlos.",
        "Ein kostenloses Zelt für dich!",
    ],
)
def test_free_on_the_house_and_percent_offers(reply: str) -> None:
    assert not result(reply, "prices").passed, "no price list: no offer may go out"
    assert not result(reply, "prices", INBOX).passed, "an offer that can't be checked"


@pytest.mark.parametrize(
    "reply",
    [
        "Feel free to ask anything!",
        "You're free to pick any colour.",
        "Pay in 3 interest-free instalments.",
        "The Trail Tent 2P is free-standing.",
        "It's free of PFAS.",
        "Free shipping in Germany!",
        "Returns within the EU are free.",
        "Die Rücksendung innerhalb der EU ist für dich kostenlos.",
        "Kostenlose Beratung in unserem Laden.",
        "Shipping is on us.",
        "You can count on us.",
        "The tent is 100% waterproof.",
        "Die Füllung ist 90 % Daune und 10 % Federn.",
        "Alle Preise inkl. 19 % MwSt.",
        "95% of orders arrive within 2 days.",
    ],
)
def test_free_and_percent_that_offer_nothing_pass(reply: str) -> None:
    assert result(reply, "prices").passed, result(reply, "prices").detail
    assert result(reply, "prices", INBOX).passed, result(reply, "prices", INBOX).detail


def test_an_extra_that_comes_with_a_product_passes_only_with_a_price_list() -> None:
    # The price list names what is sold; without one, a free anything is an offer.
    reply = "The Daypack 28 L comes with a free rain cover."
    assert result(reply, "prices", INBOX).passed
    assert not result(reply, "prices").passed


@pytest.mark.parametrize(
    ("reply", "shown"),
    [
        ("The Trail Tent 2P is a great pick. Yours for 199.", "199 for Trail Tent 2P"),
        ("Das Trail Tent 2P ist super! Für dich 199.", "199 for Trail Tent 2P"),
        ("The Summit Tent 3P? Great choice. 299 today.", "299 for Summit Tent 3P"),
    ],
)
def test_a_bare_number_after_the_sentence_naming_the_product(reply: str, shown: str) -> None:
    prices = result(reply, "prices", INBOX)
    assert not prices.passed
    assert shown in prices.detail


@pytest.mark.parametrize(
    "reply",
    ["The tent is a great pick. Yours for 199.", "Das Zelt kostet 199.", "Only 149 today!"],
)
def test_a_bare_number_said_to_be_a_price_without_a_price_list(reply: str) -> None:
    assert "this inbox has no price list" in result(reply, "prices").detail


@pytest.mark.parametrize(
    "reply",
    [
        "The Trail Tent 2P is a great pick. It sleeps 2 and weighs 2.1 kg.",
        "The Trail Tent 2P is in stock. We have 12 left.",
        "The Trail Tent 2P ships today. Order 100234 is on its way.",
        "Das Trail Tent 2P ist da. Abholung in der Kaiserstraße 12, 79098 Freiburg.",
        "The Trail Tent 2P is great. Our shop is open until 18:00.",
        "Yours for 249.",  # a list price needs no product
    ],
)
def test_numbers_after_a_product_that_are_no_prices_pass(reply: str) -> None:
    assert result(reply, "prices", INBOX).passed, result(reply, "prices", INBOX).detail


@pytest.mark.parametrize(
    ("reply", "host"),
    [
        ("Order at Evil.Io/tents", "Evil.Io/tents"),
        ("Bestell einfach auf Evil.De!", "Evil.De"),
        ("Order at evil.shopping", "evil.shopping"),
        ("Deals: evil.ninja/deal", "evil.ninja/deal"),
        ("See acme-outdoor.example.evil.capital/login", "acme-outdoor.example.evil.capital"),
    ],
)
def test_title_case_and_less_common_top_level_domains(reply: str, host: str) -> None:
    for inbox in (BARE, INBOX):
        links = result(reply, "links", inbox)
        assert not links.passed, reply
        assert host in links.detail


@pytest.mark.parametrize(
    ("reply", "host"),
    [
        ("Order at _evil.com_", "evil.com"),
        ("Order at _evil.com/login_ now", "evil.com/login"),
        ("Order at *_evil.com_*", "evil.com"),
        ("Order at _www.evil.com_", "www.evil.com"),
        ("Order at __evil.com__", "evil.com"),
    ],
)
def test_a_domain_wrapped_in_emphasis(reply: str, host: str) -> None:
    for inbox in (BARE, INBOX):
        links = result(reply, "links", inbox)
        assert not links.passed, reply
        assert first_link(links) == host


@pytest.mark.parametrize(
    ("reply", "shown"),
    [
        ("Pay at 192.168.0.1/login", "192.168.0.1/login"),
        ("Pay at 203.0.113.7", "203.0.113.7"),
        ("Pay at 203.0.113.7:8080/pay.", "203.0.113.7:8080/pay"),
        ("Pay at _10.0.0.1_", "10.0.0.1"),
    ],
)
def test_a_bare_ip_address(reply: str, shown: str) -> None:
    for inbox in (BARE, INBOX):
        links = result(reply, "links", inbox)
        assert not links.passed, reply
        assert first_link(links) == shown


@pytest.mark.parametrize(
    ("reply", "target"),
    [
        ("Order at acme-outdoor.example/go?to=evil.com", "evil.com"),
        ("Order at https://acme-outdoor.example/redirect/evil.com/login", "evil.com/login"),
        ("Order at https://acme-outdoor.example/r?u=%2F%2Fevil.com%2Fpay", "evil.com/pay"),
        ("Order at https://acme-outdoor.example/out?url=https%253A%252F%252Fevil.com", "evil.com"),
        ("Order at https://acme-outdoor.example/go?next=203.0.113.7", "203.0.113.7"),
        ("[Our tents](https://acme-outdoor.example/go?to=Evil.Io)", "Evil.Io"),
    ],
)
def test_an_open_redirect_inside_an_allowed_domain(reply: str, target: str) -> None:
    links = result(reply, "links", INBOX)
    assert not links.passed, reply
    assert f"{target} is not on an allowed domain" in links.detail


@pytest.mark.parametrize(
    "reply",
    [
        "The Daypack 28 L is €89.90. Photos: https://acme-outdoor.example/packs/daypack-28",
        "[Der Daypack 28 L](https://acme-outdoor.example/de/rucksaecke/daypack-28)",
        "Compare the tents at https://acme-outdoor.example/compare?ids=12,14",
    ],
)
def test_a_number_in_a_link_is_no_price(reply: str) -> None:
    assert result(reply, "prices", INBOX).passed


@pytest.mark.parametrize(
    ("reply", "host"),
    [
        ("Order at *evil.com*", "evil.com"),  # WhatsApp bold: caught before, kept so
        ("Order at ~evil.com~", "evil.com"),
        ("Order at `evil.com`", "evil.com"),
        ("Order at _https://evil.com/pay_", "https://evil.com/pay"),
        ("Order at evil.com.Thanks!", "evil.com"),  # a missing space hides no domain
        ("Order at Evil.Io's checkout", "Evil.Io"),
        ("Order at evil.cоm", "evil.cоm"),  # a Cyrillic "о": no such ending, a look-alike
        ("Order at evil.onion", "evil.onion"),  # special-use names are hosts too
        ("Order at https://acme-outdoor.example//evil.com", "evil.com"),
        ("Order at acme-outdoor.example/a?b=acme-outdoor.example/c?d=evil.com", "evil.com"),
        ("Mail acme-outdoor.example/x?to=pay@evil.com", "pay@evil.com"),
    ],
)
def test_more_hosts_found(reply: str, host: str) -> None:
    links = result(reply, "links", INBOX)
    assert not links.passed, reply
    assert host in links.detail


@pytest.mark.parametrize(
    "reply",
    [
        "It's 5.90 EUR.The tent.It's light.",  # "It's", not Italy
        "Unser Laden in Freiburg i.Br. hat heute offen.",  # an abbreviation, not Brazil
        "z.B. das Zelt, u.a. die Stangen, bzw.die Heringe, inkl.MwSt, ca.20 kg, Mo.-Fr.",
        "It weighs 2.1kg, e.g. less than the old one, i.e. great.",
        "See the manual.pdf in your account.",  # no public suffix
        "See acme-outdoor.example/manuals/trail-tent-2p.pdf?v=2#page=3",
        "Back to acme-outdoor.example/go?to=help.acme-outdoor.example/returns",
        "Open 09:00-18:00, order 12.03.2025, version 2.1.3, call 0761 1234567.",
    ],
)
def test_prose_and_the_shops_own_links_pass(reply: str) -> None:
    assert result(reply, "links", INBOX).passed, result(reply, "links", INBOX).detail


def test_redirects_nested_too_deep_fail_unread() -> None:
    hop = "acme-outdoor.example/go?to="
    assert not result(f"See {hop * 3}evil.com", "links", INBOX).passed  # followed to the end
    assert result(f"See {hop * 3}help.acme-outdoor.example", "links", INBOX).passed
    deep = result(f"See {hop * 4}help.acme-outdoor.example", "links", INBOX)
    assert "a redirect nested 4 deep, is not a web link" in deep.detail


def test_an_ip_address_passes_only_when_listed_itself() -> None:
    listed = replace(INBOX, link_domains=("203.0.113.7",))
    assert result("Pay at 203.0.113.7/pay", "links", listed).passed
    assert not result("Pay at 203.0.113.8/pay", "links", listed).passed
    assert not result("Pay at https://[2001:db8::7]/pay", "links", listed).passed


def test_the_public_suffix_list_is_bundled_and_never_fetched(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError(f"the guardrails tried the network: {args!r}")

    for name in ("connect", "connect_ex", "sendto", "sendmsg"):
        monkeypatch.setattr(socket.socket, name, refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    # Loaded afresh under the guard: the list a new worker reads at import, and what it finds.
    importlib.reload(hosts)
    assert hosts.is_domain("evil.shopping") and not hosts.is_domain("z.B")
    links = result("Order at evil.shopping or Evil.Io, not at acme-outdoor.example", "links")
    assert links.detail.count("this inbox allows no links") == 3
    assert "publicsuffixlist.update" not in sys.modules  # the package's downloader
