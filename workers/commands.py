"""The commands a rep types in a private note, parsed (pure)."""

from __future__ import annotations

import re
from dataclasses import dataclass

COMMANDS = {
    "send": "/send — send the newest draft; /send <text> sends your text instead",
    "skip": "/skip — discard the draft",
    "redo": "/redo <hint> — write a new draft, with your hint",
    "handoff": "/handoff — hand the conversation to the team",
    "bot": "/bot off · /bot on — silence the bot here, or let it answer again",
    "optout": "/optout — the contact asked not to hear from us: no follow-up, ever",
}
# "D41" names a draft; it is never part of the text sent to the customer.
_DRAFT_REF = re.compile(r"^[Dd](\d+)\b\s*")
# Draft ids are the database's integer keys. A bigger number names no draft, and is never
# handed to a query: PostgreSQL refuses it ("integer out of range"), SQLite past 2^63 too,
# and Python won't even read a number of 4,300 digits.
DRAFT_ID_MAX = 2**31 - 1
_REF_SHOWN = 12  # digits of a reference repeated back to the rep
_COMMAND = re.compile(r"^/([A-Za-z][\w-]*)(?:[ \t]+|\n|$)")


@dataclass(frozen=True)
class Command:
    """``draft_ref`` is the draft the rep named ("D41"), if any; ``draft_id`` is its number
    when a draft could have it. A ref without an id names no draft, never "the newest"."""

    name: str
    draft_id: int | None = None
    text: str = ""
    draft_ref: str | None = None

    @property
    def known(self) -> bool:
        return self.name in COMMANDS


def parse(content: str | None) -> Command | None:
    """The command in a private note, or None for an ordinary note."""
    if not content:
        return None
    stripped = content.strip()
    match = _COMMAND.match(stripped)
    if match is None:
        return None
    name = match.group(1).lower()
    rest = stripped[match.end() :]
    draft_id = draft_ref = None
    ref = _DRAFT_REF.match(rest)
    if ref is not None:
        digits = ref.group(1).lstrip("0") or "0"
        if len(digits) <= len(str(DRAFT_ID_MAX)) and 0 < int(digits) <= DRAFT_ID_MAX:
            draft_id = int(digits)
        shown = digits if len(digits) <= _REF_SHOWN else digits[:_REF_SHOWN] + "…"
        draft_ref = f"D{shown}"
        rest = rest[ref.end() :]
    return Command(name=name, draft_id=draft_id, text=rest.strip(), draft_ref=draft_ref)


def help_text() -> str:
    return "Commands: " + " · ".join(COMMANDS.values())
