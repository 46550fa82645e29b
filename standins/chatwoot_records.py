"""The Chatwoot stand-in's records: inboxes, people, contacts, messages and conversations.

Plain data, as Chatwoot's models hold it; ``standins.chatwoot_state`` keeps them in an
account and ``standins.chatwoot_changes`` changes them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

STATUSES = ("open", "pending", "resolved", "snoozed")
INCOMING, OUTGOING, ACTIVITY, TEMPLATE = 0, 1, 2, 3


class StandinError(Exception):
    """A request Chatwoot would refuse; ``status`` is the HTTP status it would answer."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


@dataclass
class Person:
    """A user (agent), the agent bot, or a team: an id and a display name."""

    id: int
    name: str
    email: str | None = None


@dataclass(frozen=True)
class Inbox:
    """An inbox and its channel. ``window`` is the channel's messaging window in hours
    (Conversations::MessageWindowService, CONTRACT-NEXT §1), None where there is none."""

    id: int
    name: str
    channel: str
    window: float | None = None
    # How the channel names a contact (contact_inbox.source_id): Twilio's WhatsApp
    # contacts are "whatsapp:+E164", which is the only sign of the medium in a webhook.
    source_prefix: str = ""


# The stand-in's inboxes: the web widget the examples use, and one per windowed channel.
INBOXES = (
    Inbox(12, "Website Support", "Channel::WebWidget"),
    Inbox(13, "WhatsApp Sales", "Channel::Whatsapp", window=24),
    Inbox(14, "Instagram DMs", "Channel::Instagram", window=24),
    Inbox(15, "Twilio WhatsApp", "Channel::TwilioSms", window=24, source_prefix="whatsapp:+"),
    Inbox(16, "TikTok", "Channel::Tiktok", window=48),
    # An API inbox whose admin set agent_reply_time_window: only can_reply shows it.
    Inbox(17, "Shop API", "Channel::Api", window=12),
    # A channel newer than Wingman (it must fail closed).
    Inbox(18, "Voice", "Channel::Voice"),
)


@dataclass
class Contact:
    id: int
    name: str
    email: str | None
    contact_inbox_id: int
    source_id: str  # a UUID for the web widget
    created_at: float


@dataclass
class Message:
    id: int
    conversation_id: int  # the display id
    message_type: int
    content: str | None
    private: bool
    sender_type: str | None  # "Contact" | "User" | "AgentBot", Rails class names
    sender_id: int | None
    created_at: float
    content_attributes: dict[str, Any] = field(default_factory=dict)
    attachments: list[dict[str, Any]] = field(default_factory=list)
    status: str = "sent"
    # An approved WhatsApp template's parameters, as Chatwoot keeps them in the message's
    # additional_attributes (CONTRACT-NEXT §2.1); None for an ordinary message.
    template_params: dict[str, Any] | None = None


@dataclass
class Conversation:
    id: int  # the per-account display id every REST path uses
    inbox_id: int
    contact: Contact
    status: str
    created_at: float
    updated_at: float
    last_activity_at: float
    waiting_since: float | None
    messages: list[Message] = field(default_factory=list)
    labels: list[str] = field(default_factory=list)
    custom_attributes: dict[str, Any] = field(default_factory=dict)
    assignee: tuple[str, int] | None = None  # ("User" | "AgentBot", id)
    team_id: int | None = None
    snoozed_until: float | None = None
    first_reply_created_at: float | None = None
    mentions: list[dict[str, Any]] = field(default_factory=list)

    def touch(self, now: float) -> None:
        # Wingman applies conversation state forward only, by updated_at: it must grow.
        self.updated_at = max(now, self.updated_at + 0.001)

    def last_non_activity(self) -> Message | None:
        for message in reversed(self.messages):
            if message.message_type != ACTIVITY:
                return message
        return None

    def last_public(self) -> Message | None:
        """What Chatwoot puts in ``conversation.messages[]``: never a note or an activity."""
        for message in reversed(self.messages):
            if not message.private and message.message_type != ACTIVITY:
                return message
        return None
