"""Channel messaging windows: when a business may still send a free-form message (pure).

Meta allows free-form replies on Instagram, Messenger and WhatsApp only within 24 hours of
the customer's last message; outside it, WhatsApp takes only approved templates. Chatwoot
accepts such a message anyway and the channel refuses it later (CONTRACT-NEXT §2.4), so
Wingman enforces the windows in its own code. Chatwoot's installation-wide HUMAN_AGENT flag
would widen Instagram and Messenger to 7 days, but it tags bot messages as a human's, which
breaks Meta's rules: Wingman assumes 24 h.

The table follows Chatwoot's ``Conversations::MessageWindowService`` (CONTRACT-NEXT §1):

| Channel classes | Window |
|---|---|
| WhatsApp (Cloud or 360dialog), Twilio WhatsApp | 24 h |
| Instagram, Facebook | 24 h |
| TikTok | 48 h |
| API | the inbox's ``agent_reply_time_window`` when set (only ``can_reply`` carries it) |
| Web widget, email, Telegram, Line, SMS (Twilio and Bandwidth), X | none |
| a channel Wingman doesn't know, or none | fails closed: treated as 24 h, drafts only |

Chatwoot computes ``can_reply`` itself and puts it in every webhook's conversation; while
the latest one says false, nothing goes out publicly, whatever the table says.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

DAY = timedelta(hours=24)
# Channel class -> (the name reps know it by, its window; None: no window).
WINDOWS: dict[str, tuple[str, timedelta | None]] = {
    "Channel::Whatsapp": ("WhatsApp", DAY),
    "Channel::Instagram": ("Instagram", DAY),
    "Channel::FacebookPage": ("Messenger", DAY),
    "Channel::Tiktok": ("TikTok", timedelta(hours=48)),
    "Channel::Api": ("the API channel", None),
    "Channel::WebWidget": ("web chat", None),
    "Channel::Email": ("email", None),
    "Channel::Telegram": ("Telegram", None),
    "Channel::Line": ("LINE", None),
    "Channel::Sms": ("SMS", None),
    "Channel::TwilioSms": ("SMS", None),  # unless the contact is on WhatsApp: see below
    "Channel::TwitterProfile": ("X", None),
}
# Twilio carries SMS and WhatsApp in one channel class, and no webhook names the medium:
# only a WhatsApp contact's source id says it ("whatsapp:+E164", CONTRACT-NEXT §1.3).
TWILIO_WHATSAPP = "whatsapp:"


@dataclass(frozen=True)
class Window:
    open: bool
    closes_at: datetime | None  # None: no window (or none can be computed)
    reason: str
    # False for a channel Wingman doesn't know: it fails closed (24 h, drafts only).
    known: bool = True


def channel_name(channel: str | None, source_id: str | None = None) -> tuple[str, bool]:
    """What reps call the channel, and whether Wingman knows it."""
    if channel == "Channel::TwilioSms" and (source_id or "").startswith(TWILIO_WHATSAPP):
        return "WhatsApp (Twilio)", True
    if channel in WINDOWS:
        return WINDOWS[channel][0], True
    return f"an unknown channel ({channel or 'none'})", False


def window(
    channel: str | None,
    last_customer_message_at: datetime | None,
    now: datetime,
    *,
    source_id: str | None = None,
    can_reply: bool | None = None,
) -> Window:
    """Whether a free-form message may go out now on this channel."""
    name, known = channel_name(channel, source_id)
    if can_reply is False:
        return Window(False, None, f"Chatwoot says {name} can't be replied to now", known)
    if not known or name == "WhatsApp (Twilio)":
        length: timedelta | None = DAY  # an unknown channel gets the strictest known window
    else:
        length = WINDOWS[channel or ""][1]
    if length is None:
        return Window(True, None, f"{name} has no messaging window", known)
    if last_customer_message_at is None:
        return Window(False, None, f"{name} allows replies only after the customer writes", known)
    closes_at = last_customer_message_at + length
    hours = int(length.total_seconds() // 3600)
    if now < closes_at:
        return Window(True, closes_at, f"{name}'s {hours}-hour window is open", known)
    reason = f"{name} allows free-form replies only within {hours} h of the customer's last message"
    if name.startswith("WhatsApp"):
        reason += "; outside it WhatsApp takes only an approved template (re-activation)"
    return Window(False, closes_at, reason, known)
