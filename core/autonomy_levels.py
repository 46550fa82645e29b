"""The autonomy levels (off, draft, autopilot) that settings, the config and every layer share."""

from __future__ import annotations

from enum import StrEnum


class Autonomy(StrEnum):
    """How far the bot may act in an inbox, ordered off < draft < autopilot."""

    OFF = "off"
    DRAFT = "draft"
    AUTOPILOT = "autopilot"

    @property
    def rank(self) -> int:
        return list(Autonomy).index(self)
