"""Cues: the words around an amount that say what kind of figure it is (pure).

A price list can only judge a product's price. These words tell the prices guardrail when an
amount is something else: a discount ("20% off", "save €50", "90% today"), a fee or threshold
("5.90 EUR shipping", "above 50 EUR", "15 EUR per night"), or a total ("€458 in total"); when
a "free" is an offer ("it's on the house") rather than a policy ("free shipping") or an idiom
("feel free"); and when a bare number is said to be a price ("yours for 199").
"""

from __future__ import annotations

import re

from workers.guardrails.amounts import Amount
from workers.guardrails.products import Mention

_TOKEN = re.compile(r"[\w'’-]*[^\W_][\w'’-]*")
# Before a price: it is a threshold or a fee, not what a product costs.
_DETACH_BEFORE = frozenset(
    """
    above over über ab than shipping delivery postage versand versandkosten lieferung porto
    deposit kaution pfand fee fees gebühr gebühren rental miete leihgebühr return returns
    rücksendung
    """.split()
)
_DETACH_AFTER = frozenset(
    """
    shipping delivery postage versand versandkosten porto deposit kaution pfand fee fees
    gebühr gebühren rental miete
    """.split()
)
_RATE_WORDS = frozenset("per pro a an je".split())
_PERIODS = frozenset(
    "night nights day days week weeks month nacht nächte tag tage woche monat".split()
)
_OFF_AFTER = frozenset(
    """
    off discount rabatt nachlass cheaper günstiger less weniger reduction ermäßigung
    """.split()
)
_OFF_BEFORE = frozenset(
    """
    save spare sparen sparst spart minus discount rabatt nachlass knock reduce reduced
    reduziert
    """.split()
)
_SHIPS = frozenset("ships shipped delivered returned geliefert verschickt".split())
# Next to a sum of several prices: "€458 in total", "528 € zusammen".
_TOTAL = frozenset(
    "total totals together altogether insgesamt zusammen gesamt gesamtpreis summe sum".split()
)
# A "free" said of these is a policy or a service, not a price: "free shipping", "returns
# are free", "kostenloser Umtausch".
_SERVICES = frozenset(
    """
    shipping delivery postage return returns exchange exchanges pickup pick-up collection
    collect advice consultation repair repairs alterations wrapping parking wi-fi wifi
    cancellation cancellations versand lieferung rücksendung rückversand retoure retouren
    umtausch abholung beratung reparatur reparaturen stornierung
    """.split()
)
# "feel free", "free to ask", "free of PFAS", "free time".
_FREE_IDIOM_BEFORE = frozenset("feel feels felt".split())
_FREE_IDIOM_AFTER = frozenset(
    "to of from time space room spot spots slot slots seat seats hand hands choice will".split()
)
# What bundles an extra with a product: "comes with a free rain cover", "legen wir dir
# kostenlos dazu".
_BUNDLED = frozenset("with mit includes including inklusive inkl plus add adds".split())
_BUNDLED_AFTER = frozenset("dazu dabei obendrauf included".split())
# After a percentage, what keeps it an offer though no "off" follows: "90% today!", "90 % auf
# alles", "up to 90%!". Any other word makes it a share ("100% waterproof", "19 % MwSt.").
_PERCENT_OFFER_AFTER = frozenset(
    """
    today now only on auf for für heute jetzt nur everything alles all this these diese
    dieses diesen until till bis storewide sitewide extra more mehr sale
    """.split()
)
# Before a bare number, what says it is a price though no product is named: "Yours for 199",
# "kostet 199", "only 149 today".
_PRICE_BEFORE = frozenset(
    """
    cost costs costing price priced pay pays paying for only just yours deal offer instead
    kostet kosten preis zahlst zahlt zahlen bezahlst für nur statt angebot
    """.split()
)
_CLAUSE = re.compile(r"[,;:()–—]")
_REACH = 60  # characters around an amount that hold the words it is read with


def _words(text: str) -> list[str]:
    return [t.lower().strip("'’-") for t in _TOKEN.findall(text)]


def _context(text: str, amount: Amount, sentence: tuple[int, int]) -> tuple[list[str], str]:
    """The last three words before the amount, and the text after it (a few words' worth:
    a long sentence must not make this quadratic)."""
    before = _words(text[max(sentence[0], amount.start - _REACH) : amount.start])[-3:]
    return before, text[amount.end : min(sentence[1], amount.end + _REACH)]


def is_detached(text: str, amount: Amount, sentence: tuple[int, int]) -> bool:
    """Whether the amount is a fee, a threshold or a rate, whatever product is next to it."""
    before, rest = _context(text, amount, sentence)
    after = _words(rest)[:2]
    if any(w in _DETACH_BEFORE for w in before) or any(w in _DETACH_AFTER for w in after):
        return True
    if re.match(r"\s?/\s?[^\W\d_]", rest):
        return True  # "15 €/night"
    return len(after) == 2 and after[0] in _RATE_WORDS and after[1] in _PERIODS


def is_free_product(
    text: str, amount: Amount, owner: Mention | None, sentence: tuple[int, int]
) -> bool:
    """Whether a "free" is said of a product ("the Trail Tent 2P is free", "a free Trail Tent
    2P") rather than of shipping or an accessory next to it."""
    if owner is None or not sentence[0] <= owner.start < sentence[1]:
        return False
    gap = (
        text[owner.end : amount.start]
        if owner.end <= amount.start
        else text[amount.end : owner.start]
    )
    if len(_words(gap)) > 2:
        return False
    before, rest = _context(text, amount, sentence)
    near = {*before[-2:], *_words(rest)[:1]}
    return not near & (_DETACH_BEFORE | _DETACH_AFTER | _SHIPS)


def is_total(text: str, amount: Amount, sentence: tuple[int, int]) -> bool:
    """Whether the amount is said to be a sum ("in total", "zusammen")."""
    before, rest = _context(text, amount, sentence)
    return any(w in _TOTAL for w in (*before, *_words(rest)[:2]))


def is_discount(text: str, amount: Amount, sentence: tuple[int, int]) -> bool:
    """Whether the amount is taken off a price: "-20%", "20% off", "save €50"."""
    if amount.minus:
        return True
    before, rest = _context(text, amount, sentence)
    after = _words(rest)[:2]
    return any(w in _OFF_BEFORE for w in before[-2:]) or any(w in _OFF_AFTER for w in after)


def is_free_offer(
    text: str, amount: Amount, owner: Mention | None, sentence: tuple[int, int], *, priced: bool
) -> bool:
    """Whether a "free" in words offers something at no charge: a product ("the Trail Tent 2P
    is free"), or anything the reply doesn't say is a policy or a service ("everything is free
    today", "this one's on the house"). Not "free shipping", "returns are free", "feel free",
    "interest-free"; with a price list (``priced``) not an extra that comes with a product
    either ("a free rain cover"): the list names what is sold."""
    before, rest = _context(text, amount, sentence)
    after = _words(rest)[:2]
    if amount.text.lower() == "free":
        hyphened = text[amount.start - 1 : amount.start] == "-" or rest.startswith("-")
        idiom = bool(before) and before[-1] in _FREE_IDIOM_BEFORE
        idiom |= bool(after) and after[0] in _FREE_IDIOM_AFTER
        if hyphened or idiom:
            return False
    if is_free_product(text, amount, owner, sentence):
        return True
    # A clause's worth of words either side, bounded: a long sentence must not make this
    # quadratic.
    lead = text[max(sentence[0], amount.start - 2 * _REACH) : amount.start]
    trail = text[amount.end : min(sentence[1], amount.end + 2 * _REACH)]
    clause = _words(_CLAUSE.split(lead)[-1])
    if {*clause, *after} & (_SERVICES | _DETACH_BEFORE | _DETACH_AFTER | _SHIPS):
        return False
    bundled = _BUNDLED.intersection(_words(lead)) | _BUNDLED_AFTER.intersection(_words(trail))
    return not (priced and bundled)


def is_percent_offer(text: str, amount: Amount, sentence: tuple[int, int]) -> bool:
    """Whether a percentage reads as money off though no "off" follows it: "90% today!",
    "Heute 90 % auf alles!", "up to 90%"."""
    _, rest = _context(text, amount, sentence)
    after = _words(rest)[:1]
    return not after or after[0] in _PERCENT_OFFER_AFTER


def is_said_price(text: str, amount: Amount, sentence: tuple[int, int]) -> bool:
    """Whether the words right before a bare number make it a price: "yours for 199", "das
    Zelt kostet 199", "only 149 today"."""
    before, _ = _context(text, amount, sentence)
    return any(w in _PRICE_BEFORE for w in before[-2:])
