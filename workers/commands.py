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
}
# "D41" names a draft; it is never part of the text sent to the customer.
_DRAFT_REF = re.compile(r"^[Dd](\d+)\b\s*")
_COMMAND = re.compile(r"^/([A-Za-z][\w-]*)(?:[ \t]+|\n|$)")


@dataclass(frozen=True)
class Command:
    name: str
    draft_id: int | None = None
    text: str = ""

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
    draft_id = None
    ref = _DRAFT_REF.match(rest)
    if ref is not None:
        draft_id = int(ref.group(1))
        rest = rest[ref.end() :]
    return Command(name=name, draft_id=draft_id, text=rest.strip())


def help_text() -> str:
    return "Commands: " + " · ".join(COMMANDS.values())
