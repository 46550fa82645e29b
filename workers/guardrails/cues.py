"""Cues: the words around an amount that say what kind of figure it is (pure).

A price list can only judge a product's price. These words tell the prices guardrail when an
amount is something else: a discount ("20% off", "save €50"), a fee or threshold ("5.90 EUR
shipping", "above 50 EUR", "15 EUR per night"), or a total ("€458 in total").
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
