"""The prices guardrail: every price and discount in a reply must follow the price list (pure).

A price is money with a currency mark ("€249", "249,00 EUR", "249,-"), a bare number next to
a product name ("the Trail Tent 2P is 199"), or one the words before it call a price ("yours
for 199", "kostet 199", "only 149"). It belongs to the nearest product named in its sentence,
a full name before a family word ("tents"); a price in a sentence that names none belongs to
the last product named before it ("The Trail Tent 2P? Great choice. 199 today."). A
product's price must lie within its [min, list] and the arm's range; a family's, within one
of its products'. A price that belongs to no product must be a list price, or a fee the
public knowledge states ("free shipping above 50 EUR"): threshold, fee and rate words
("above", "shipping", "per night") detach a price from the product next to it. A total
("€458 in total") must add up from the prices the reply quotes. A number inside a link
("/daypack-28") is no price unless it is marked as money.

Discounts ("20% off", "-20%", "save €50", "half price", "the tent is free", "it's on the
house", "90% today", "90 % auf alles") are applied to the list price of their product, and
of every product of a family; one that names no product can't be checked and fails. A
"free" is no discount when the reply says it of a policy or a service ("free shipping",
"returns are free"), in an idiom ("feel free", "interest-free"), or, with a price list, of an
extra that comes with a product ("comes with a free rain cover"); a percentage is none when a
word other than an offer's follows it ("100% waterproof", "19 % MwSt."). Money in words
("a hundred euros") fails, and so does a price in another currency, and every price and
discount when the inbox has no price list: the bot must not quote prices it doesn't have.

Refusals that repeat a number ("I can't do €199") fail too: telling them from offers needs
the meaning of the sentence, and a rep reading one false alarm is cheaper than a missed one.
"""

from __future__ import annotations

import sys
from bisect import bisect_right
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from core.config import PriceItem, PriceList
from workers.guardrails import cues, spelled
from workers.guardrails.amounts import Amount, scan, sentence_around
from workers.guardrails.products import Mention, mentions, owner_of

_MAX_UNITS = 10
_MAX_SUMS = 10_000
_SYMBOL = {"EUR": "€", "USD": "$", "GBP": "£", "JPY": "¥"}
_CENT = Decimal("0.01")


@dataclass(frozen=True)
class PriceReport:
    """What the prices check found: its problems, how many prices and discounts it read, and
    the amounts it accepted as a product's price (the leaks check lets those through)."""

    problems: tuple[str, ...]
    checked: int
    offered: frozenset[Decimal]


def check_prices(
    text: str,
    prices: PriceList | None,
    *,
    public: str,
    floor: Decimal | None = None,
    ceiling: Decimal | None = None,
    links: tuple[tuple[int, int], ...] = (),
) -> PriceReport:
    """Check every price and discount in ``text`` (normalised) against ``prices``.

    ``public`` is the knowledge without its internal sections: money it states (fees,
    thresholds) may be repeated when no product is named next to it. ``links`` are the spans
    of the links in ``text``: a number in a URL ("/daypack-28") is no price, unless it is
    marked as money.
    """
    named = mentions(text, prices) if prices else []
    fees = {a.value for a in scan(public) if a.kind == "money"}
    problems: list[str] = []
    offered: set[Decimal] = set()
    accepted: list[Decimal] = []
    totals: list[Amount] = []
    in_words = spelled.money(text)
    problems += [f"“{p}”: a price in words can't be checked; digits can" for p in in_words]
    checked = len(in_words)
    worded = spelled.discounts(text)
    from_words = set(worded)  # "in" a list would make a reply full of "free" quadratic
    for amount in sorted([*scan(text), *worded], key=lambda a: a.start):
        sentence = sentence_around(text, amount.start)
        # A sentence that names no product belongs to the last one named before it: "The
        # Trail Tent 2P? Great choice. 199 today." A bare number is only read at all when no
        # unit, count or id word comes with it (``amounts``).
        owner = owner_of(text, amount.start, amount.end, named, sentence, look_back=True)
        words = amount in from_words
        if (
            words
            and amount.value == 100
            and not cues.is_free_offer(text, amount, owner, sentence, priced=prices is not None)
        ):
            continue  # "free shipping", "feel free", "a free rain cover" with a product
        off = (
            words
            or cues.is_discount(text, amount, sentence)
            or (amount.kind == "percent" and cues.is_percent_offer(text, amount, sentence))
        )
        detached = not off and cues.is_detached(text, amount, sentence)
        if amount.kind == "percent" and not off:
            continue  # "100% waterproof", "19 % MwSt."
        if amount.kind != "money" and _inside(amount.start, links):
            continue  # "acme-outdoor.example/packs/daypack-28", "?q=20%25"
        if amount.kind == "bare" and (
            detached or (owner is None and not cues.is_said_price(text, amount, sentence))
        ):
            continue  # a bare number is a price next to a product, or where it's said to be one
        checked += 1
        if prices is None:
            problems.append(
                f"{amount.text}: this inbox has no price list, so it may quote no prices"
            )
        elif amount.currencies and prices.currency not in amount.currencies:
            problems.append(f"{amount.text} is not in {prices.currency}, the price list's currency")
        elif off:
            problems += _discount(amount, prices, owner, floor, ceiling, words=words)
        else:
            if owner is None or detached:
                problem = _unowned(amount, prices, fees, floor, ceiling)
            else:
                problem = _owned(amount, owner, prices.currency, floor, ceiling)
            if problem and cues.is_total(text, amount, sentence):
                totals.append(amount)  # judged once every price it may add up is known
            elif problem:
                problems.append(problem)
            else:
                accepted.append(amount.value)
                if owner is not None and not detached:
                    offered.add(amount.value)
    for total in totals:
        if not _sums_to(total.value, accepted):
            problems.append(f"{total.text} in all is no sum of the prices this reply quotes")
    return PriceReport(tuple(dict.fromkeys(problems)), checked, frozenset(offered))


def _inside(at: int, spans: tuple[tuple[int, int], ...]) -> bool:
    """Whether position ``at`` lies in one of ``spans`` (sorted, not overlapping)."""
    i = bisect_right(spans, (at, sys.maxsize)) - 1
    return i >= 0 and spans[i][0] <= at < spans[i][1]


def money(value: Decimal, currency: str) -> str:
    """``value`` the way a rep reads it in a note: "€219.00", "CHF 1,249.00"."""
    amount = f"{value.quantize(_CENT):,}"
    symbol = _SYMBOL.get(currency)
    return f"{symbol}{amount}" if symbol else f"{currency} {amount}"


def _owned(
    amount: Amount,
    owner: Mention,
    currency: str,
    floor: Decimal | None,
    ceiling: Decimal | None,
) -> str | None:
    problems = [_out_of_range(amount.value, i, currency, floor, ceiling) for i in owner.items]
    if any(p is None for p in problems):
        return None
    if len(owner.items) == 1:
        return f"{amount.text} for {owner.items[0].product} {problems[0]}"
    ranges = "; ".join(
        f"{i.product} {money(i.min_price, currency)}–{money(i.list_price, currency)}"
        for i in owner.items
    )
    return f"{amount.text} for “{owner.name}” fits none of them ({ranges})"


def _unowned(
    amount: Amount,
    prices: PriceList,
    fees: set[Decimal],
    floor: Decimal | None,
    ceiling: Decimal | None,
) -> str | None:
    if amount.value in fees:
        return None
    if all(i.list_price != amount.value for i in prices.items):
        return f"{amount.text} is no list price, and names no product to check it against"
    bounds = _arm(amount.value, prices.currency, floor, ceiling)
    return f"{amount.text} {bounds}" if bounds else None


def _discount(
    amount: Amount,
    prices: PriceList,
    owner: Mention | None,
    floor: Decimal | None,
    ceiling: Decimal | None,
    *,
    words: bool = False,
) -> list[str]:
    if words:
        what, on = f"“{amount.text}”", " on"
    elif amount.minus:
        what, on = f"-{amount.text}", " on"
    else:
        what, on = f"{amount.text} off", ""
    if owner is None:
        return [f"{what} names no product, so it can't be checked"]
    problems = []
    # A discount on a family ("10% off tents") applies to each of its products.
    for item in owner.items:
        if amount.kind == "percent":
            result = item.list_price * (100 - amount.value) / 100
        else:
            result = item.list_price - amount.value
        result = result.quantize(_CENT, rounding=ROUND_HALF_UP)  # what a till would charge
        problem = _out_of_range(result, item, prices.currency, floor, ceiling)
        if problem:
            shown = money(result, prices.currency)
            why = problem.removeprefix("is ")
            problems.append(f"{what}{on} {item.product} makes {shown}, {why}")
    return problems


def _out_of_range(
    value: Decimal,
    item: PriceItem,
    currency: str,
    floor: Decimal | None,
    ceiling: Decimal | None,
) -> str | None:
    if value < item.min_price:
        return f"is below the lowest allowed {money(item.min_price, currency)}"
    if value > item.list_price:
        return f"is above the list price {money(item.list_price, currency)}"
    return _arm(value, currency, floor, ceiling)


def _arm(
    value: Decimal, currency: str, floor: Decimal | None, ceiling: Decimal | None
) -> str | None:
    if floor is not None and value < floor:
        return f"is below this arm's floor {money(floor, currency)}"
    if ceiling is not None and value > ceiling:
        return f"is above this arm's ceiling {money(ceiling, currency)}"
    return None


def _sums_to(total: Decimal, parts: list[Decimal]) -> bool:
    """Whether ``total`` is a sum of ``parts``, each taken up to ``_MAX_UNITS`` times: "€229
    each, so €458 in all" and "€249 + €279 = €528" add up; "€99 in total" doesn't."""
    reachable = {Decimal(0)}
    for part in sorted(set(parts)):
        reachable |= {
            r + k * part
            for r in reachable
            for k in range(1, _MAX_UNITS + 1)
            if r + k * part <= total
        }
        if len(reachable) > _MAX_SUMS:
            return False  # too many small amounts to tell; the rep checks it
    return total in reachable and total > 0
