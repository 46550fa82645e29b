"""Where a reply names the price list's products, and which one a price belongs to (pure)."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from core.config import PriceItem, PriceList

_TOKEN = re.compile(r"[\w'’-]*[^\W_][\w'’-]*")
_CLAUSE_MARKS = re.compile(r"[,:;()–—]")


@dataclass(frozen=True)
class Mention:
    """A product named in the text: one item, or a family ("tents") of several."""

    start: int
    end: int
    name: str  # as written
    items: tuple[PriceItem, ...]
    specific: bool


def mentions(text: str, prices: PriceList) -> list[Mention]:
    """Every product name in ``text``, longest first where names overlap."""
    found = [
        (match.start(), match.end(), items, specific)
        for pattern, items, specific in _patterns(prices)
        for match in pattern.finditer(text)
    ]
    found.sort(key=lambda f: (f[0], -(f[1] - f[0])))
    named: list[Mention] = []
    for start, end, items, specific in found:
        if named and start < named[-1].end:
            continue  # "Trail Tent 2P" already covers its "Tent"
        named.append(Mention(start, end, text[start:end], items, specific))
    return named


def owner_of(
    text: str,
    start: int,
    end: int,
    named: list[Mention],
    sentence: tuple[int, int],
    *,
    look_back: bool = False,
) -> Mention | None:
    """The product that text[start:end] belongs to: the nearest named in its sentence, a
    full name if there is one, else a family. With ``look_back``, a sentence that names none
    belongs to the last product named before it ("The Trail Tent 2P? For two, €229.")."""
    lo, hi = sentence if not look_back or _names_any(named, sentence) else (0, start)
    for specific in (True, False):
        # Only the nearest on each side can win: a farther one has every word of its gap.
        before = [m for m in named if m.specific is specific and lo <= m.start and m.end <= start]
        after = [m for m in named if m.specific is specific and end <= m.start and m.end <= hi]
        candidates = before[-1:] + after[:1]
        if candidates:
            return min(candidates, key=lambda m: _distance(text, start, end, m))
    return None


def _names_any(named: list[Mention], sentence: tuple[int, int]) -> bool:
    return any(sentence[0] <= m.start and m.end <= sentence[1] for m in named)


def _distance(text: str, start: int, end: int, mention: Mention) -> tuple[int, int]:
    # Punctuation between them counts as a word: in "Tents from 249 €, bags from 279 €" the
    # comma ends what belongs to "bags". Ties go to the product before the price.
    if mention.end <= start:
        gap, side = text[mention.end : start], 0
    else:
        gap, side = text[end : mention.start], 1
    return len(_TOKEN.findall(gap)) + len(_CLAUSE_MARKS.findall(gap)), side


@functools.lru_cache(maxsize=64)
def _patterns(prices: PriceList) -> list[tuple[re.Pattern[str], tuple[PriceItem, ...], bool]]:
    """How a reply may name each product: its full name, the name without its size ("Trail
    Tent"), and, shared by a family, its last word ("tent", "tents")."""
    names: dict[str, list[PriceItem]] = {}
    families: dict[str, list[PriceItem]] = {}
    for item in prices.items:
        words = item.product.split()
        names.setdefault(" ".join(words).lower(), []).append(item)
        base = []
        for word in words:
            if not word.isalpha():
                break
            base.append(word)
        if base and len(base) < len(words):
            names.setdefault(" ".join(base).lower(), []).append(item)
        if len(base) >= 2:
            families.setdefault(base[-1].lower(), []).append(item)
    # A shortened name two products share names neither: it counts as a family.
    patterns = [
        (_name_pattern(name, plural=False), tuple(items), len(items) == 1)
        for name, items in names.items()
    ]
    patterns += [
        (_name_pattern(word, plural=True), tuple(items), False)
        for word, items in families.items()
        if word not in names
    ]
    return patterns


def _name_pattern(name: str, *, plural: bool) -> re.Pattern[str]:
    body = r"\s*".join(re.escape(word) for word in name.split())
    suffix = r"(?:e?s)?" if plural else ""
    return re.compile(rf"(?<!\w){body}{suffix}(?!\w)", re.IGNORECASE)
