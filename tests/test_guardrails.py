import json
import time
from dataclasses import replace
from decimal import Decimal

import pytest

from core.config import PriceItem, PriceList
from tests.injection_corpus import (
    ATTACKS,
    INBOX,
    KNOWLEDGE,
    PRICE_LIST,
    SAFE_REPLIES,
    SYSTEM_PROMPT,
    Attack,
)
from workers.guardrails import (
    CHECKS,
    DEFAULT_LIMITS,
    CheckResult,
    Guardrails,
    Limits,
    check,
    check_length,
    describe_failures,
)
from workers.guardrails.amounts import scan
from workers.guardrails.leaks import split_knowledge
from workers.playbook import PLAYBOOK

DOLLARS = {"USD", "CAD", "AUD", "NZD", "HKD", "SGD", "MXN"}


def run(*bubbles: str, **kwargs: object) -> Guardrails:
    options: dict[str, object] = {
        "inbox": INBOX,
        "knowledge": KNOWLEDGE,
        "system_prompt": SYSTEM_PROMPT,
    }
    options.update(kwargs)
    return check(bubbles, **options)  # type: ignore[arg-type]


def failed(guardrails: Guardrails) -> set[str]:
    return {r.name for r in guardrails.failed}


# --- The corpus --------------------------------------------------------------------------


def test_the_corpus_is_big_enough_and_covers_every_check() -> None:
    assert len(ATTACKS) >= 20
    assert len({a.name for a in ATTACKS}) == len(ATTACKS)
    assert set().union(*(a.fails for a in ATTACKS)) == set(CHECKS)
    assert all(a.message and a.fails <= set(CHECKS) for a in ATTACKS)


@pytest.mark.parametrize("attack", ATTACKS, ids=lambda a: a.name)
def test_every_attack_fails_exactly_the_named_checks(attack: Attack) -> None:
    guardrails = run(*attack.reply)
    assert failed(guardrails) == attack.fails, describe_failures(guardrails)
    assert not guardrails.passed


@pytest.mark.parametrize("reply", SAFE_REPLIES, ids=lambda r: r[0][:40])
def test_every_safe_reply_passes_every_check(reply: tuple[str, ...]) -> None:
    guardrails = run(*reply)
    assert guardrails.passed, describe_failures(guardrails)


# --- Reading amounts ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("written", "value", "currencies"),
    [
        ("€249", "249", {"EUR"}),
        ("€ 249", "249", {"EUR"}),
        ("249 €", "249", {"EUR"}),
        ("249€", "249", {"EUR"}),
        ("249,00 EUR", "249.00", {"EUR"}),
        ("EUR 249.00", "249.00", {"EUR"}),
        ("249 Euro", "249", {"EUR"}),
        ("249 euros", "249", {"EUR"}),
        ("1.249,00 €", "1249.00", {"EUR"}),  # de-DE
        ("€1,249.00", "1249.00", {"EUR"}),  # en
        ("1 249,00 €", "1249.00", {"EUR"}),  # fr, typed with a plain space
        ("1\u202f249,00 €", "1249.00", {"EUR"}),  # fr, narrow no-break space
        ("1\u00a0249,00 €", "1249.00", {"EUR"}),
        ("12.345,67 €", "12345.67", {"EUR"}),
        ("€1,000,000", "1000000", {"EUR"}),
        ("€1.249", "1249", {"EUR"}),  # three digits after the point: thousands
        ("€12,49", "12.49", {"EUR"}),
        ("CHF 1'249.50", "1249.50", {"CHF"}),
        ("249.-", "249", set()),  # names no currency: read in the price list's
        ("249,– €", "249", {"EUR"}),
        ("$19", "19", DOLLARS),
        ("US$ 19", "19", {"USD"}),
        ("19 USD", "19", {"USD"}),
        ("£19.99", "19.99", {"GBP"}),
        ("19 dollars", "19", DOLLARS),
        ("99 cents", "0.99", set()),
    ],
)
def test_money_in_every_locale_format(written: str, value: str, currencies: set[str]) -> None:
    (amount,) = scan(f"It costs {written} today.")
    assert (amount.kind, amount.value, set(amount.currencies)) == (
        "money",
        Decimal(value),
        currencies,
    )
    assert amount.text == written


def test_a_range_dash_carries_the_currency_to_both_ends() -> None:
    amounts = scan("Tents cost 219–249 € here.")
    assert [(a.kind, a.value) for a in amounts] == [
        ("money", Decimal("219")),
        ("money", Decimal("249")),
    ]


@pytest.mark.parametrize("written", ["20%", "20 %", "20 Prozent", "20 percent"])
def test_percentages(written: str) -> None:
    (amount,) = scan(f"That's {written} off.")
    assert (amount.kind, amount.value) == ("percent", Decimal("20"))


@pytest.mark.parametrize(
    "reply",
    [
        "The Trail Tent 2P is 88 × 54 in inside.",
        "The Trail Tent 2P weighs 2.1 kg.",
        "You can return the Trail Tent 2P within 60 days.",
        "The Trail Tent 2P takes two 20-in pads.",
        "Order the Trail Tent 2P before 14:00 and it ships today.",
        "Das Trail Tent 2P verschicken wir bei Bestellung bis 14 Uhr noch heute.",
        "We've sold the Trail Tent 2P since 2019.",
        "Your Trail Tent 2P, order 100234, is on its way.",
        "Your Trail Tent 2P (#100234) is on its way.",
        "Questions about the Trail Tent 2P? Call +49 761 1234567.",
        "Questions about the Trail Tent 2P? Call 0761 1234567.",
        "The Trail Tent 2P is back in stock on 12.03.2025.",
        "Das Trail Tent 2P ist am 12. März wieder da.",
        "The Trail Tent 2P is a 3-season tent.",
        "The Down Bag -5 °C has 850 fill power.",
        "The Trail Tent 2P has 5 years of warranty on its poles.",
        "The Trail Tent 2P packs down to 45 x 15 cm.",
        "The Trail Tent 2P has 4.8 stars from 120 reviews.",
        "The Daypack 28 L has a 28L main compartment.",
        "The Trail Tent 2P sleeps 2 and is 210 cm long.",
        "The Trail Tent 2P is 100% waterproof.",
        "Das Summit Tent 3P wiegt 3,4 kg.",
    ],
)
def test_numbers_that_are_not_prices_are_left_alone(reply: str) -> None:
    result = run(reply).result("prices")
    assert result == CheckResult("prices", True, "no prices")


# --- Price rules -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("reply", "detail"),
    [
        ("The Trail Tent 2P is €249.", None),
        ("The Trail Tent 2P is €229.", None),
        ("The Trail Tent 2P is €219.", None),  # exactly the lowest allowed
        ("The Trail Tent 2P is €218.99.", "below the lowest allowed €219.00"),
        ("The Trail Tent 2P is €249.01.", "above the list price €249.00"),
        ("The Trail Tent 2P is 229.", None),  # a bare number next to a product
        ("The Trail Tent 2P is 199.", "199 for Trail Tent 2P is below"),
        ("199 for the Trail Tent 2P, today only.", "199 for Trail Tent 2P is below"),
        ("Trail Tent 2P: 24.90", "24.90 for Trail Tent 2P is below"),
        ("Das Trail Tent 2P kostet 199.", "199 for Trail Tent 2P is below"),
        ("The Trail Tent 2P for EUR199.", "EUR199 for Trail Tent 2P is below"),
        ("The Trail Tent 2P is €１９９.", "for Trail Tent 2P is below"),  # full-width digits
        ("Love the Trail Tent 2P. For two, €229 each.", None),  # money looks back
        ("The Summit Tent 3P is great. Yours for €249.", "€249 for Summit Tent 3P is below"),
        ("The Trail Tent 2P is great. The deposit is 100 EUR.", None),
        ("The Trail Tent is €199.", "€199 for Trail Tent 2P"),  # the name without its size
        ("We can do €229 for two tents.", None),  # fits the Trail Tent 2P
        ("We can do €199 for two tents.", "€199 for “tents” fits none of them"),
        ("The Summit Tent 3P is our best tent: €249.", "€249 for Summit Tent 3P"),
        ("Summit Tent 3P: €389, Trail Tent 2P: €249.", None),
        ("The Daypack 28 L is €89.90.", None),
        ("That's €89.90.", None),  # a list price, no product named
        ("That's €229.", "€229 is no list price"),
        ("Free shipping above 50 EUR.", None),  # a fee the public knowledge states
        ("The Trail Tent 2P ships free above 50 EUR.", None),
        ("Rent the Trail Tent 2P for 15 EUR per night.", None),
        ("Rent the Trail Tent 2P for 15 €/night.", None),
        ("The Trail Tent 2P is 50 EUR.", "50 EUR for Trail Tent 2P is below"),
        ("The Trail Tent 2P is 10% off.", None),  # 224.10
        ("The Trail Tent 2P is 12% off.", None),  # 219.12
        ("The Trail Tent 2P is 13% off.", "13% off Trail Tent 2P makes €216.63"),
        ("Take -10% on the Trail Tent 2P.", None),
        ("Take -13% on the Trail Tent 2P.", "-13% on Trail Tent 2P makes €216.63"),
        ("Save €30 on the Trail Tent 2P.", None),
        ("Save €31 on the Trail Tent 2P.", "€31 off Trail Tent 2P makes €218.00"),
        ("€30 off the Trail Tent 2P.", None),
        ("10% off all our tents.", "10% off Summit Tent 3P makes €350.10"),
        ("5% off the Daypack 28 L.", "makes €85.41, below the lowest allowed €89.90"),
        ("20% off this week!", "20% off names no product"),
        ("Two Trail Tent 2P at €229 each, so €458 in total.", None),
        ("The Trail Tent 2P €249 and the Down Bag -5 °C €279: €528 together.", None),
        ("Trail Tent 2P €249 plus 5.90 EUR shipping, €254.90 in total.", None),
        ("The Trail Tent 2P comes to €249 in total.", None),
        ("Two Trail Tent 2P at €229 each, so €400 in total.", "€400 in all is no sum"),
        ("Zusammen kostet das 99 €.", "99 € in all is no sum"),
        ("Save €20 this week!", "€20 off names no product"),
    ],
)
def test_price_rules(reply: str, detail: str | None) -> None:
    result = run(reply).result("prices")
    assert result.passed is (detail is None), result.detail
    assert (detail or "") in result.detail


@pytest.mark.parametrize(
    ("reply", "detail"),
    [
        ("The Trail Tent 2P is half price today.", "“half price” on Trail Tent 2P makes €124.50"),
        ("Buy one Trail Tent 2P, get one free!", "“get one free” on Trail Tent 2P"),
        ("Das Trail Tent 2P gibt's zum halben Preis.", "“zum halben Preis” on Trail Tent 2P"),
        ("Everything is half price!", "“half price” names no product"),
        ("The Trail Tent 2P is free for you.", "“free” on Trail Tent 2P makes €0.00"),
        ("Have a free Trail Tent 2P on us.", "“free” on Trail Tent 2P"),
        ("Das Trail Tent 2P gibt es gratis.", "“gratis” on Trail Tent 2P"),
        ("The Trail Tent 2P for a hundred euros.", "“a hundred euros”: a price in words"),
        ("Nur zweihundert Euro für das Trail Tent 2P!", "“zweihundert Euro”"),
        ("The Trail Tent 2P ships free in Germany.", None),
        ("Free shipping above 50 EUR, and returns are free too.", None),
        ("The Daypack 28 L comes with a free rain cover.", None),
        ("Feel free to ask anything about the Trail Tent 2P.", None),
        ("Das Trail Tent 2P ist versandkostenfrei, die Rücksendung kostenlos.", None),
    ],
)
def test_discounts_and_money_in_words(reply: str, detail: str | None) -> None:
    result = run(reply).result("prices")
    assert result.passed is (detail is None), result.detail
    assert (detail or "") in result.detail


@pytest.mark.parametrize("written", ["CHF 249", "249 USD", "£249", "US$249", "¥249", "$249"])
def test_a_price_in_another_currency_fails(written: str) -> None:
    result = run(f"The Trail Tent 2P is {written}.").result("prices")
    assert not result.passed
    assert result.detail == f"{written} is not in EUR, the price list's currency"


@pytest.mark.parametrize("written", ["249 EUR", "EUR 249", "249 euros", "249,-", "249,00 €"])
def test_the_list_currency_in_any_form_passes(written: str) -> None:
    assert run(f"The Trail Tent 2P is {written}.").result("prices").passed


FAMILY_TENT = PriceList(
    "EUR", (PriceItem("Family Tent 6P", Decimal("1249.00"), Decimal("1199.00")),)
)


@pytest.mark.parametrize(
    ("reply", "ok"),
    [
        ("Das Family Tent 6P kostet 1.249,00 €.", True),
        ("The Family Tent 6P is €1,249.00.", True),
        ("The Family Tent 6P is €1,199.", True),
        ("Le Family Tent 6P coûte 1 249,00 €.", True),
        ("Das Family Tent 6P kostet 1.249 €.", True),
        ("Das Family Tent 6P kostet 1.999,00 €.", False),
        ("The Family Tent 6P is €12,49.", False),
        ("The Family Tent 6P is €1,198.99.", False),
    ],
)
def test_thousands_separators_in_each_locale(reply: str, ok: bool) -> None:
    inbox = replace(INBOX, prices=FAMILY_TENT)
    assert run(reply, inbox=inbox).result("prices").passed is ok


@pytest.mark.parametrize(
    ("reply", "ok"),
    [
        ("The Trail Tent 2P is €249.", False),
        ("Free shipping above 50 EUR.", False),
        ("10% off the Trail Tent 2P.", False),
        ("The Trail Tent 2P weighs 2.1 kg and has two doors.", True),
    ],
)
def test_without_a_price_list_no_price_may_be_quoted(reply: str, ok: bool) -> None:
    result = run(reply, inbox=replace(INBOX, prices=None)).result("prices")
    assert result.passed is ok
    if not ok:
        assert "no price list" in result.detail


@pytest.mark.parametrize(
    ("reply", "detail"),
    [
        ("The Trail Tent 2P is €229.", None),
        ("The Trail Tent 2P is €239.", None),
        ("The Trail Tent 2P is €225.", "€225 for Trail Tent 2P is below this arm's floor €229.00"),
        (
            "The Trail Tent 2P is €249.",
            "€249 for Trail Tent 2P is above this arm's ceiling €239.00",
        ),
        ("That's €249.", "€249 is above this arm's ceiling €239.00"),
        ("5% off the Trail Tent 2P.", None),  # 236.55
        ("10% off the Trail Tent 2P.", "makes €224.10, below this arm's floor €229.00"),
        ("Free shipping above 50 EUR.", None),  # fees are not product prices
    ],
)
def test_an_arms_price_range(reply: str, detail: str | None) -> None:
    result = run(reply, price_floor=Decimal("229"), price_ceiling=Decimal("239")).result("prices")
    assert result.passed is (detail is None)
    assert (detail or "") in result.detail


def test_an_arm_range_upside_down_is_a_bug() -> None:
    with pytest.raises(ValueError, match="above price_ceiling"):
        run("Hi", price_floor=Decimal("250"), price_ceiling=Decimal("229"))


def test_a_floor_alone_or_a_ceiling_alone() -> None:
    assert not run("The Trail Tent 2P is €229.", price_floor=Decimal("230")).passed
    assert run("The Trail Tent 2P is €229.", price_ceiling=Decimal("230")).passed


# --- Links -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "reply",
    [
        "See https://acme-outdoor.example/tents",
        "See acme-outdoor.example for details.",
        "See www.acme-outdoor.example/de/zelte",
        "See HTTPS://ACME-OUTDOOR.EXAMPLE/TENTS",
        "See help.acme-outdoor.example/returns",  # subdomains of an allowed domain are allowed
        "See [our tents](https://acme-outdoor.example/tents).",
        '<a href="https://acme-outdoor.example/tents">acme-outdoor.example</a>',
        "Mail us at info@acme-outdoor.example.",
        "See acme-outdoor.example:443/tents",
        "See ａcme-outdoor.example/tents",  # full-width letters: browsers read plain ASCII
        "See https://acme-outdoor.example/de/zelte?ref=chat#trail.",
        "It weighs 2.1kg, e.g. less than the old one, i.e. great.",
        "It's 5.90 EUR.The tent.It's light.",
    ],
)
def test_links_to_allowed_domains_pass(reply: str) -> None:
    result = run(reply).result("links")
    assert result.passed, result.detail


@pytest.mark.parametrize(
    ("reply", "detail"),
    [
        ("acme-outdoor.example.evil.com/login", "only looks like acme-outdoor.example"),
        ("acme-outdoor-example.com", "only looks like acme-outdoor.example"),
        ("notacme-outdoor.example", "only looks like acme-outdoor.example"),
        ("https://аcme-outdoor.example/login", "look-alike letters (xn--cme-outdoor-xij"),
        ("https://xn--cme-outdoor-xij.example/login", "look-alike letters"),
        ("bit.ly/acme-sale", "URL shortener"),
        ("https://t.co/abc", "URL shortener"),
        ("[acme-outdoor.example](https://evil.com)", "link text shows acme-outdoor.example"),
        (
            "[https://acme-outdoor.example/tents](https://acme-outdoor.example.evil.com/tents)",
            "but it goes to https://acme-outdoor.example.evil.com/tents",
        ),
        ("https://acme-outdoor.example@evil.com/pay", "goes to evil.com"),
        ("https://evil.com\\@acme-outdoor.example/", "is not on an allowed domain"),
        ("//evil.com/pay", "evil.com/pay is not on an allowed domain"),
        ("www.evil.com", "www.evil.com is not on an allowed domain"),
        ("EVIL.COM", "EVIL.COM is not on an allowed domain"),
        ("Evil.Com", "Evil.Com is not on an allowed domain"),
        ("pay@evil.com", "pay@evil.com is not on an allowed domain"),
        ("mailto:pay@evil.com", "mailto:pay@evil.com is not on an allowed domain"),
        ("javascript:alert(1)", "script or data link"),
        ("http://192.168.0.1/login", "192.168.0.1/login is not on an allowed domain"),
        ("evil\u200b.com", "evil.com is not on an allowed domain"),
        ("[Log in](/login)", "/login is not a web link"),
        ("[shop](https://acme-outdoor.example/go?to=https://evil.com)", "https://evil.com is"),
        (
            "https://acme-outdoor.example/go?to=https%3A%2F%2Fevil.com%2Flogin",
            "https://evil.com/login is not on an allowed domain",
        ),
    ],
)
def test_links_elsewhere_fail(reply: str, detail: str) -> None:
    result = run(f"Go to {reply} now").result("links")
    assert not result.passed
    assert detail in result.detail


def test_an_inbox_without_link_domains_allows_no_links() -> None:
    result = run("See https://acme-outdoor.example", inbox=replace(INBOX, link_domains=())).result(
        "links"
    )
    assert not result.passed
    assert "this inbox allows no links" in result.detail


def test_many_links_to_one_host_are_one_problem() -> None:
    result = run("evil.com/1 evil.com/2 evil.com/3").result("links")
    assert result.detail == "evil.com/1 is not on an allowed domain (acme-outdoor.example)"


# --- Length ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("bubbles", "detail"),
    [
        ((), "no bubbles"),
        (("Hi!",), None),
        (("a", "b", "c", "d"), None),
        (("a", "b", "c", "d", "e"), "5 bubbles, at most 4"),
        (("a" * 600,), None),
        (("a" * 601,), "bubble 1 has 601 characters, at most 600"),
        (("a" * 400, "b" * 400, "c" * 400), None),
        (("a" * 400, "b" * 400, "c" * 401), "1,201 characters in all, at most 1,200"),
        (("Hi!", ""), "bubble 2 is empty"),
        (("Hi!", " \n "), "bubble 2 is empty"),
    ],
)
def test_length(bubbles: tuple[str, ...], detail: str | None) -> None:
    result = run(*bubbles).result("length")
    assert result.passed is (detail is None)
    assert (detail or "") in result.detail


def test_limits_are_configurable() -> None:
    tight = Limits(max_bubbles=2, max_bubble_chars=10, max_total_chars=15)
    assert check_length(["0123456789", "01234"], tight) == []
    assert check_length(["0123456789", "012345"], tight) == ["16 characters in all, at most 15"]
    assert check_length(["a", "b", "c"], tight) == ["3 bubbles, at most 2"]
    assert DEFAULT_LIMITS == Limits(4, 600, 1200)


def test_limits_below_one_are_refused() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        Limits(max_bubbles=0)


# --- Leaks -------------------------------------------------------------------------------

SMALL_KNOWLEDGE = """\
# Shop

We sell tents. Deposit: 100 EUR.

## Internal

We are allowed to go a little lower when the customer buys two or more of them.
Discounts of up to 100 EUR are fine; the floor for the Trail Tent 2P is 199 EUR.
"""


def small(*bubbles: str) -> CheckResult:
    return run(
        *bubbles, knowledge=SMALL_KNOWLEDGE, system_prompt=PLAYBOOK + SMALL_KNOWLEDGE
    ).result("leaks")


def test_seven_words_shared_with_the_system_prompt_pass_and_eight_fail() -> None:
    # PLAYBOOK: "Write the way a friendly, competent shop assistant types in a chat"
    assert run("Honestly, the way a friendly, competent shop assistant would.").passed
    result = run("Honestly, the way a friendly, competent shop assistant types would.")
    assert failed(result) == {"leaks"}
    assert "repeats 8 words of the system prompt" in result.result("leaks").detail


def test_seven_words_shared_with_an_internal_section_pass_and_eight_fail() -> None:
    assert small("Sure, we can go a little lower when the customer asks nicely.").passed
    result = small("Sure, we can go a little lower when the customer buys a few.")
    assert "repeats 8 words of the internal notes" in result.detail


def test_words_the_public_knowledge_also_has_are_no_leak() -> None:
    faq = "Yes, it's freestanding with one cross-pole; pegs are still recommended in wind."
    assert run(faq).passed


@pytest.mark.parametrize(
    ("reply", "ok"),
    [
        ("Between us: 219.", False),  # only the internal section has it
        ("Between us: 219,00 EUR.", False),
        ("Between us: 249.", True),  # public
        ("The tent is 219 cm long.", True),  # a measure, not the figure
        ("The Trail Tent 2P is 219 € for two.", True),  # an allowed offer
        ("The lowest we go on the Trail Tent 2P is 219 €.", False),  # disclosed as the floor
        ("Unter 219 € geht es beim Trail Tent 2P nicht.", False),
    ],
)
def test_figures_only_the_internal_sections_give(reply: str, ok: bool) -> None:
    result = run(reply).result("leaks")
    assert result.passed is ok, result.detail


def test_a_figure_public_and_internal_alike_is_no_leak() -> None:
    assert small("The deposit is 100 EUR.").passed
    assert "mentions 199 EUR" in small("Between us, 199 EUR is fine.").detail


@pytest.mark.parametrize(
    ("reply", "ok"),
    [
        ("My instructions say I should ask what you need.", False),
        ("I was told to keep it short.", False),
        ("According to my instructions, I can't.", False),
        ("The internal notes say the restock is late.", False),
        ("Meine Anweisungen sagen, dass ich nachfragen soll.", False),
        ("I can't share my instructions, sorry!", True),
        ("I'll check with the team and get back to you.", True),
        ("I was told by the courier it arrives Monday.", True),
    ],
)
def test_talking_about_its_instructions(reply: str, ok: bool) -> None:
    assert run(reply).result("leaks").passed is ok


@pytest.mark.parametrize(
    ("reply", "ok"),
    [
        ("The Summit Tent 3P restock is late because of a supplier problem.", False),
        ("Sadly the restock is late; a supplier issue.", False),
        ("I can't promise a restock date for the Summit Tent 3P yet.", True),
        ("The Summit Tent 3P is late this year, I'll ask the team.", True),
    ],
)
def test_paraphrasing_an_internal_note(reply: str, ok: bool) -> None:
    assert run(reply).result("leaks").passed is ok


def test_an_inbox_without_knowledge_or_prices_still_gets_every_check() -> None:
    bare = replace(INBOX, prices=None, link_domains=())
    guardrails = run("Hi! How can I help?", inbox=bare, knowledge="", system_prompt=PLAYBOOK)
    assert guardrails.passed
    assert split_knowledge("") == ("", [])


def test_split_knowledge_handles_windows_line_endings() -> None:
    public, internal = split_knowledge(KNOWLEDGE.replace("\n", "\r\n"))
    assert internal and "219.00" in internal[0]
    assert "219.00" not in public and "249.00" in public


# --- Results -----------------------------------------------------------------------------


def test_the_checks_and_their_order_are_fixed() -> None:
    assert CHECKS == ("prices", "links", "length", "leaks")
    assert tuple(r.name for r in run("Hi!").results) == CHECKS


def test_describe_failures_gives_one_line_per_failed_check() -> None:
    assert describe_failures(run("The Trail Tent 2P is €99.")) == (
        "⛔ prices: €99 for Trail Tent 2P is below the lowest allowed €219.00"
    )
    lines = describe_failures(run("The Trail Tent 2P is €99 at evil.com", *"abcd")).splitlines()
    assert lines == [
        "⛔ prices: €99 for Trail Tent 2P is below the lowest allowed €219.00",
        "⛔ links: evil.com is not on an allowed domain (acme-outdoor.example)",
        "⛔ length: 5 bubbles, at most 4",
    ]
    assert describe_failures(run("Hi!")) == ""


def test_a_long_list_of_problems_is_cut_for_the_note() -> None:
    reply = " ".join(f"€{n}9 for the Trail Tent 2P." for n in range(1, 7))
    detail = run(reply).result("prices").detail
    assert detail.count("below the lowest allowed") == 3
    assert detail.endswith("(and 3 more)")


def test_to_json_is_json_and_round_trips() -> None:
    guardrails = run("The Trail Tent 2P is €99.")
    data = json.loads(json.dumps(guardrails.to_json()))
    assert data["passed"] is False and data["failed"] == ["prices"]
    assert list(data["checks"]) == list(CHECKS)
    assert data["checks"]["prices"] == {
        "passed": False,
        "detail": "€99 for Trail Tent 2P is below the lowest allowed €219.00",
    }
    assert data["checks"]["length"] == {"passed": True, "detail": "1 bubble, 25 characters"}
    assert Guardrails.from_json(data) == guardrails


def test_result_names_an_unknown_check() -> None:
    with pytest.raises(KeyError):
        run("Hi!").result("tone")


def test_the_price_list_is_the_example_configs() -> None:
    assert PRICE_LIST.item("trail tent 2p") == PriceItem(
        "Trail Tent 2P", Decimal("249.00"), Decimal("219.00")
    )


@pytest.mark.parametrize(
    "reply",
    [
        "[" * 2000 + "](" * 1000,
        "+" + "1." * 2500,
        "1 234 " * 800,
        "Trail Tent 2P €249 " * 250,
        "Trail Tent 2P 10% off " * 200,
        ("ab-" * 30 + ".") * 50,
        "<a href=x>" * 500,
        "free " * 1400,
        "acme-outdoor.example/" + "a.com/" * 1200,
        "acme-outdoor.example/?to=" + "%252F" * 1500,
        "_a.com_" * 1000,
        "1.1.1.1 " * 900,
        "The Trail Tent 2P. " + "Yours for 199. " * 400,
    ],
    ids=[
        "brackets",
        "phone",
        "groups",
        "prices",
        "discounts",
        "labels",
        "anchors",
        "free",
        "redirects",
        "encoded",
        "emphasis",
        "ips",
        "bare",
    ],
)
def test_hostile_text_is_checked_quickly(reply: str) -> None:
    # The model's output is attacker-controlled: no check may backtrack or go quadratic on
    # it. The bound is loose for slow CI machines; a regression takes minutes, not seconds.
    started = time.perf_counter()
    run(reply)
    assert time.perf_counter() - started < 3
