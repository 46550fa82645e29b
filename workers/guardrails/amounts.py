"""Amounts in chat text: numbers in every common locale format, their currency marks, and
the contexts that make a number a size, a time or an id rather than a price (pure).

The parser accepts the conventions of every locale at once (``1.249,00 €``, ``€1,249.00``,
``1 249,00 €``, ``CHF 1'249.-``) instead of only the inbox's locales: a reply in the wrong
convention still states a price, and the guardrails must see it. The conventions never
disagree on a value, because a separator followed by exactly three digits always groups
thousands and a decimal part has one or two digits. Currencies with three decimals (BHD,
KWD) are therefore misread; no shop using Wingman sells in them yet.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Literal

Kind = Literal["money", "bare", "percent"]

_DOLLARS = frozenset({"USD", "CAD", "AUD", "NZD", "HKD", "SGD", "MXN"})
# Longest first, so "US$" wins over "$". Symbols mean one or several ISO codes.
_SYMBOLS: dict[str, frozenset[str]] = {
    "US$": frozenset({"USD"}),
    "CA$": frozenset({"CAD"}),
    "AU$": frozenset({"AUD"}),
    "NZ$": frozenset({"NZD"}),
    "HK$": frozenset({"HKD"}),
    "MX$": frozenset({"MXN"}),
    "R$": frozenset({"BRL"}),
    "S$": frozenset({"SGD"}),
    "C$": frozenset({"CAD"}),
    "A$": frozenset({"AUD"}),
    "SFr.": frozenset({"CHF"}),
    "$": _DOLLARS,
    "€": frozenset({"EUR"}),
    "£": frozenset({"GBP"}),
    "¥": frozenset({"JPY", "CNY"}),
    "₹": frozenset({"INR"}),
    "₽": frozenset({"RUB"}),
    "₺": frozenset({"TRY"}),
    "₩": frozenset({"KRW"}),
    "₪": frozenset({"ILS"}),
    "₫": frozenset({"VND"}),
    "₱": frozenset({"PHP"}),
    "฿": frozenset({"THB"}),
    "zł": frozenset({"PLN"}),
    "Kč": frozenset({"CZK"}),
}
# Uppercase only: as lowercase words "try", "all" and "cup" are English.
_CODES = frozenset(
    "EUR USD GBP CHF JPY CNY SEK NOK DKK ISK PLN CZK HUF RON BGN CAD AUD NZD HKD SGD MXN "
    "BRL INR RUB TRY ZAR KRW ILS AED SAR THB PHP IDR MYR VND UAH".split()
)
# Words in the languages Wingman's shops sell in. Not "pounds": it is also a weight.
_WORDS: dict[str, frozenset[str]] = {
    "euro": frozenset({"EUR"}),
    "euros": frozenset({"EUR"}),
    "eur": frozenset({"EUR"}),
    "usd": frozenset({"USD"}),
    "gbp": frozenset({"GBP"}),
    "chf": frozenset({"CHF"}),
    "dollar": _DOLLARS,
    "dollars": _DOLLARS,
    "buck": frozenset({"USD"}),
    "bucks": frozenset({"USD"}),
    "quid": frozenset({"GBP"}),
    "franken": frozenset({"CHF"}),
    "franc": frozenset({"CHF"}),
    "francs": frozenset({"CHF"}),
    "yen": frozenset({"JPY"}),
    "rupee": frozenset({"INR"}),
    "rupees": frozenset({"INR"}),
    "zloty": frozenset({"PLN"}),
    "kronor": frozenset({"SEK"}),
    "kroner": frozenset({"NOK", "DKK"}),
    "kronen": frozenset({"SEK", "NOK", "DKK"}),
    "kr": frozenset({"SEK", "NOK", "DKK", "ISK"}),
}
# Cents name no currency; the amount is read in the price list's.
_CENTS = frozenset({"cent", "cents", "ct"})

_SYMBOL_RE = "|".join(re.escape(s) for s in _SYMBOLS)
_CODE_RE = "|".join(sorted(_CODES))
_WORD_RE = "|".join(sorted((*_WORDS, *_CENTS), key=len, reverse=True))
_PREFIX = re.compile(rf"(?:{_SYMBOL_RE}|(?<![A-Za-z])(?:{_CODE_RE}))\s?$")
_SUFFIX = re.compile(
    rf"^\s?(?:(?P<symbol>{_SYMBOL_RE})|(?P<code>{_CODE_RE})(?![A-Za-z])"
    rf"|(?P<word>(?i:{_WORD_RE}))(?!\w))"
)

# Not inside a word, unless the word is a code ("EUR249"): "A4" and "2P" are names.
_NUMBER = re.compile(
    rf"""
    (?:(?<![\w.,'’])|(?<={_CODE_RE}))
    (?P<int>\d{{1,3}}(?P<sep>[.,'’\u00a0\u202f\u2009\ ])\d{{3}}(?:(?P=sep)\d{{3}})*|\d+)
    (?:(?P<dec>[.,])(?P<frac>\d{{1,2}}))?
    (?![\d]|[.,]\d)
    (?P<dash>[.,][-–—]{{1,2}}(?![\d-]))?
    """,
    re.VERBOSE,
)
_PERCENT = re.compile(r"^\s?(?:%|(?i:percent|per\s?cent|prozent|pct)\b)")

# Spans where a number is never a price, unless a currency mark says otherwise.
_MONTH = r"(?:jan|feb|mar|mär|apr|may|mai|jun|jul|aug|sep|oct|okt|nov|dec|dez)[a-zä]*\.?"
_NOT_PRICES = re.compile(
    rf"""
    (?:\+|\b00)\d{{1,3}}[\s./-]?(?:\(?\d{{1,5}}\)?[\s./-]?){{1,5}}\d{{2,}}   # +49 761 1234567
    | \b0\d{{2,5}}[\s/-]\d{{3,}}(?:[\s-]\d{{2,}})*                  # 0761 1234567
    | \b\d{{1,2}}:\d{{2}}(?::\d{{2}})?                               # 09:00
    | \b(?:0?[1-9]|[12]\d|3[01])\.\s?(?:0?[1-9]|1[0-2])\.(?:\s?\d{{2,4}})?(?!\d)  # 12.03.2025
    | \b\d{{4}}-\d{{2}}-\d{{2}}\b                                     # 2025-03-12
    | \b\d{{1,2}}/\d{{1,2}}(?:/\d{{2,4}})?\b                          # 12/03
    | \b\d{{1,2}}\.?\s(?i:{_MONTH})(?!\w)                             # 12. März, 12 May
    | \#\s?\d+                                                       # #100234
    """,
    re.VERBOSE,
)
# A word before a number that makes it an id, a date or a size.
_ID_BEFORE = re.compile(
    rf"(?i:\b(?:no|nr|order|orders|bestellung|bestellnummer|invoice|rechnung|ticket|"
    rf"tracking|sendung|item|artikel|art|plz|zip|postcode|code|room|size|größe|gr|model|"
    rf"modell|page|seite|step|schritt|version|since|seit|{_MONTH}|year|jahr|"
    rf"kw|week|woche|gate|platform|gleis)\.?\s?)$"
)
# A street before a number makes it a house number: "Kaiserstraße 12", "Hauptstr. 5", "Main
# Street 4". German streets are compounds, so the ending is enough.
_STREET_BEFORE = re.compile(
    r"(?i:(?:straße|strasse|str|weg|platz|allee|gasse|ring|damm|ufer)\.?\s?"
    r"|\b(?:street|st|road|rd|avenue|ave|lane|square)\.?\s?)$"
)
# Words after a bare number that keep it a candidate price ("is 199 now", "199 each");
# any other word makes it a count or a measure ("2 doors", "850 fill power", "5 years").
_CONTINUES = frozenset(
    """
    now today only just each apiece instead total and or for with if plus net flat incl
    including all but so then is was per a off discount discounted rabatt nachlass
    jetzt heute nur statt anstatt und oder für mit bei wenn aber also dann pro je das ist
    inklusive inkl zzgl brutto netto mwst vat tax shipped delivered
    """.split()
)
_WORD_AFTER = re.compile(r"^(?P<space>[ \t\u00a0]?)(?P<word>[^\W\d_][\w'’]*)")
_RANGE = re.compile(r"^\s*(?:-|–|—|to|bis)\s*$")
_SENTENCE_END = re.compile(r"[.!?;…]+(?=\s|$)|\n")


@dataclass(frozen=True)
class Amount:
    """One number the text states as money, a percentage, or possibly a price ("bare").

    ``currencies`` are the ISO codes a money mark may mean; it is empty when the mark names
    no currency ("249,-", "99 cents"). ``minus`` is a sign written right before it ("-20%").
    """

    kind: Kind
    value: Decimal
    start: int
    end: int
    text: str
    currencies: frozenset[str] = frozenset()
    minus: bool = False


def scan(text: str) -> list[Amount]:
    """Every amount in ``text`` that may be money, in order of appearance."""
    blocked = [m.span() for m in _NOT_PRICES.finditer(text)]
    found: list[Amount] = []
    for match in _NUMBER.finditer(text):
        amount = _read(text, match, blocked)
        if amount is not None:
            found.append(amount)
    return _ranges(text, found)


def sentence_around(text: str, at: int) -> tuple[int, int]:
    """The span of the sentence (or clause after a ";", or line) holding position ``at``."""
    start = 0
    for end in _SENTENCE_END.finditer(text):
        if end.end() > at:
            return start, end.start()
        start = end.end()
    return start, len(text)


def numbers(text: str) -> set[Decimal]:
    """The value of every number in ``text``, whatever it counts or measures."""
    return {_value(m) for m in _NUMBER.finditer(text)}


def _value(match: re.Match[str]) -> Decimal:
    whole = re.sub(r"\D", "", match["int"])
    return Decimal(f"{whole}.{match['frac']}" if match["frac"] else whole)


def _read(text: str, match: re.Match[str], blocked: list[tuple[int, int]]) -> Amount | None:
    value = _value(match)
    start, end = match.span()
    before, after = text[max(0, start - 6) : start], text[end:]
    prefix = _PREFIX.search(before)
    if prefix:
        symbol = prefix.group().strip()
        money_start = start - len(prefix.group())
        return _money(text, value, money_start, end, _currencies(symbol))
    suffix = _SUFFIX.match(after)
    if suffix:
        end += suffix.end()
        if suffix["word"] and suffix["word"].lower() in _CENTS:
            return _money(text, value / 100, start, end, frozenset())
        mark = suffix["symbol"] or suffix["code"] or suffix["word"].lower()
        return _money(text, value, start, end, _currencies(mark))
    if match["dash"]:  # "249,-": German and Swiss shorthand for a whole amount of money
        return _money(text, value, start, end, frozenset())
    percent = _PERCENT.match(after)
    if percent:
        return _amount(text, "percent", value, start, end + percent.end())
    if any(s < end and start < e for s, e in blocked) or not _may_be_price(text, match):
        return None
    return _amount(text, "bare", value, start, end)


def _currencies(mark: str) -> frozenset[str]:
    return _SYMBOLS.get(mark) or _WORDS.get(mark.lower()) or frozenset({mark.upper()})


def _money(text: str, value: Decimal, start: int, end: int, cur: frozenset[str]) -> Amount:
    return _amount(text, "money", value, start, end, cur)


def _amount(
    text: str,
    kind: Kind,
    value: Decimal,
    start: int,
    end: int,
    currencies: frozenset[str] = frozenset(),
) -> Amount:
    minus = start > 0 and text[start - 1] in "-−–"
    # A dash after a letter or digit joins words ("Tent-249"); only a sign is a minus.
    if minus and start > 1 and text[start - 2].isalnum():
        minus = False
    return Amount(kind, value, start, end, text[start:end].strip(), currencies, minus)


def _may_be_price(text: str, match: re.Match[str]) -> bool:
    """Whether a number without a currency mark could still be a price."""
    value, raw = _value(match), match.group()
    plain_integer = raw.isdigit()
    if plain_integer and (value < 10 or len(raw) >= 5 or 1900 <= value <= 2099):
        return False  # counts ("2 people"), ids and postcodes, years
    before, after = text[max(0, match.start() - 16) : match.start()], text[match.end() :]
    if _ID_BEFORE.search(before) or _STREET_BEFORE.search(before):
        return False
    if re.search(r"(?<![A-Za-z])[x×*]\s?$", before):
        return False
    if re.match(r"^\s?[x×*/:]|^[-–][^\W\d_]|^\s?[\"″'’°]", after):
        return False  # 88 × 54, 2x, 15/night, 20-in, 5 °C, 6'
    word = _WORD_AFTER.match(after)
    if word is None:
        return True
    if not word["space"]:
        return False  # glued to letters: 2P, 28L, 850fp, 1st
    return word["word"].lower() in _CONTINUES


def _ranges(text: str, found: list[Amount]) -> list[Amount]:
    """A bare number joined to money by a range dash is money too: "219–249 €"."""
    result = list(found)
    for i, amount in enumerate(result):
        if amount.kind != "bare":
            continue
        for j in (i - 1, i + 1):
            if not 0 <= j < len(result) or result[j].kind != "money":
                continue
            other = result[j]
            gap = text[other.end : amount.start] if j < i else text[amount.end : other.start]
            if _RANGE.match(gap):
                result[i] = replace(amount, kind="money", currencies=other.currencies)
                break
    return result
