"""The one form of a reply every guardrail reads (pure).

A chat app shows "€\u200b199", "199  €" and "€¹⁹⁹" as a price; the checks must read them as
one too, so ``check`` rewrites the reply once, before any check runs:

- characters that render as nothing are dropped: format characters (zero-width spaces and
  joiners, soft hyphens, bidi controls), the other default-ignorable code points (variation
  selectors, Hangul fillers) and control characters;
- Unicode NFKC folds compatibility characters into the plain ones they show: superscript,
  circled and full-width digits, full-width letters, no-break and other spaces;
- every run of whitespace becomes one space, or one line break, or two where it held a blank
  line (bubbles are joined with one).

What is sent is the reply as written; only the checks read this form.
"""

from __future__ import annotations

import re
import unicodedata

# Default_Ignorable_Code_Point (Unicode DerivedCoreProperties) outside category Cf.
_IGNORABLE = re.compile(
    "[\u034f\u115f\u1160\u17b4\u17b5\u180b-\u180f\u3164\ufe00-\ufe0f\uffa0"
    "\U0001bca0-\U0001bca3\U000e0000-\U000e0fff]"
)
_BREAKS = "\n\v\f\r\x1c\x1d\x1e\x85\u2028\u2029"
_KEPT = frozenset("\t" + _BREAKS)  # control characters that are whitespace: collapsed below
_SPACE = re.compile(r"\s+")


def normalise(text: str) -> str:
    """``text`` as the checks read it: visible characters only, NFKC, whitespace collapsed."""
    if not text.isascii():
        text = _visible(unicodedata.normalize("NFKC", _visible(text)))
    elif not text.isprintable():
        text = _visible(text)
    return _SPACE.sub(_collapse, text)


def _visible(text: str) -> str:
    # Dropped before NFKC, so they can't keep it from composing; and after, in case it made one.
    text = _IGNORABLE.sub("", text)
    return "".join(
        c
        for c in text
        if c.isprintable() or c in _KEPT or unicodedata.category(c) not in ("Cf", "Cc")
    )


def _collapse(match: re.Match[str]) -> str:
    space = match.group().replace("\r\n", "\n")
    breaks = sum(space.count(c) for c in _BREAKS)
    return " " if not breaks else "\n" if breaks == 1 else "\n\n"
