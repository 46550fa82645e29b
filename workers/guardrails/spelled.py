"""Discounts and money written in words: "half price", "for free", "on the house", "a hundred
euros" (pure).

A compromised model asked for a free tent need not write a digit, so the prices guardrail
reads these too. Discounts in words become percentages the price list can check; money in
words ("two hundred nineteen euros") can't be read reliably and always fails: a shop's
prices are written in digits.
"""

from __future__ import annotations

import re
from decimal import Decimal

from workers.guardrails.amounts import Amount

_HALF = re.compile(
    r"""(?ix)\b(?:
    half[-\s]price | half\s+off | at\s+half | zum\s+halben\s+preis | halbe[nrm]?\s+preis
    | (?:die|zur)\s+hälfte | 2\s?for\s?1 | two\s+for\s+one | 2\s?für\s?1 | zwei\s+für\s+eins
    | buy\s+one,?\s+get\s+one(?:\s+free)? | bogo | get\s+(?:one|another|a\s+second)\s+free
    | second\s+one\s+free
    )\b"""
)
_FREE = re.compile(
    r"""(?ix)\b(?:
    free\s+of\s+charge | for\s+free | free | gratis | umsonst | geschenkt | kostenlos\w*
    | kostenfrei\w* | on\s+the\s+house | aufs\s+haus | complimentary | for\s+nothing
    | (?:is|are|it[’']?s|that[’']?s|one[’']?s)\s+on\s+us | geht\s+auf\s+uns
    | at\s+no\s+(?:extra\s+|additional\s+)?(?:cost|charge) | no\s+charge
    | costs?\s+(?:you\s+)?nothing | kostet\s+(?:dich\s+|sie\s+)?nichts
    | ohne\s+(?:extra\s+|zusätzliche\s+)?kosten
    )\b"""
)
_NUMBER_WORD = (
    r"(?:a|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|\w*teen|\w*ty"
    r"|\w*hundred|\w*thousand|\w*(?:eins|zwei|drei|vier|fünf|sechs|sieben|acht|neun|zehn|elf"
    r"|zwölf|zig|ßig|hundert|tausend))"
)
_MONEY_WORDS = re.compile(
    rf"(?i)\b{_NUMBER_WORD}(?:[\s-]+(?:and\s+|und\s+)?{_NUMBER_WORD})*\s+"
    r"(?:euros?|dollars?|bucks|quid|francs?|franken|pounds)\b"
)


def discounts(text: str) -> list[Amount]:
    """Discounts in words, as percentages: "half price" is 50, "for free" and "on the house"
    100.

    Every "free" is returned; whether it is an offer ("the tent is free", "it's on the house")
    or not ("free shipping", "feel free") is for the caller to tell from the words around it.
    """
    found = [_percent(m, 50) for m in _HALF.finditer(text)]
    taken = [(a.start, a.end) for a in found]
    found += [
        _percent(m, 100)
        for m in _FREE.finditer(text)
        if not any(s <= m.start() < e for s, e in taken)  # "get one free" is half price
    ]
    return sorted(found, key=lambda a: a.start)


def money(text: str) -> list[str]:
    """Amounts of money written in words: "a hundred euros", "zweihundert Euro"."""
    return [m.group() for m in _MONEY_WORDS.finditer(text)]


def _percent(match: re.Match[str], value: int) -> Amount:
    return Amount("percent", Decimal(value), match.start(), match.end(), match.group())
