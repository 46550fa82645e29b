"""Channel messaging windows: when a business may still send a free-form message.

Meta allows free-form replies on Instagram, Messenger and WhatsApp only within 24 hours of
the customer's last message; outside it, WhatsApp takes only approved templates. Wingman
enforces this in its own code: Chatwoot's installation-wide HUMAN_AGENT flag would tag bot
messages as human ones, which breaks Meta's rules.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

WINDOW = timedelta(hours=24)
WINDOWED = {
    "Channel::Instagram": "Instagram",
    "Channel::FacebookPage": "Messenger",
    "Channel::Whatsapp": "WhatsApp",
}


@dataclass(frozen=True)
class Window:
    open: bool
    closes_at: datetime | None  # None: this channel has no window
    reason: str


def window(channel: str | None, last_customer_message_at: datetime | None, now: datetime) -> Window:
    """Whether a free-form message may go out now (web widget, email and API: always)."""
    name = WINDOWED.get(channel or "")
    if name is None:
        return Window(True, None, "this channel has no messaging window")
    if last_customer_message_at is None:
        return Window(False, None, f"{name} allows replies only after the customer writes")
    closes_at = last_customer_message_at + WINDOW
    if now < closes_at:
        return Window(True, closes_at, f"{name}'s 24-hour window is open")
    reason = f"{name} allows free-form replies only within 24 h of the customer's last message"
    if name == "WhatsApp":
        reason += "; outside it WhatsApp takes only an approved template (re-activation)"
    return Window(False, closes_at, reason)
