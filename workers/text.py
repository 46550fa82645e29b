"""Pure text helpers for drafts: bubbles, and how far a rep's edit moved from the draft."""

from __future__ import annotations

import re

_BLANK_LINES = re.compile(r"\n\s*\n")


def split_bubbles(text: str) -> list[str]:
    """A rep's text as chat bubbles: one per paragraph (blank-line separated)."""
    return [part.strip() for part in _BLANK_LINES.split(text.strip()) if part.strip()]


def join_bubbles(bubbles: list[str]) -> str:
    return "\n\n".join(bubbles)


def _normalise(text: str) -> str:
    # Whitespace and case changes are not edits a rep meant; Chatwoot also strips trailing
    # newlines and hard breaks from what it echoes.
    return " ".join(text.split()).casefold()


def edit_distance(a: str, b: str) -> int:
    """Levenshtein distance, in O(len(a) * len(b)) time and O(min) memory."""
    if len(a) < len(b):
        a, b = b, a
    previous = list(range(len(b) + 1))
    for i, char_a in enumerate(a, start=1):
        current = [i]
        for j, char_b in enumerate(b, start=1):
            current.append(
                min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (char_a != char_b))
            )
        previous = current
    return previous[-1]


def normalised_distance(draft: str, sent: str) -> float:
    """0.0 for the same text (ignoring case and spacing), 1.0 for nothing in common."""
    a, b = _normalise(draft), _normalise(sent)
    if not a and not b:
        return 0.0
    return edit_distance(a, b) / max(len(a), len(b))
