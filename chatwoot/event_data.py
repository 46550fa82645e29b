"""The typed objects a parsed webhook event is made of: the account, inbox, contact,
conversation and message it carries."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from chatwoot.senders import SenderKind

# Chatwoot's message status enum order; a status only ever moves forward along it.
MESSAGE_STATUSES = ("sent", "delivered", "read", "failed")


@dataclass(frozen=True)
class AccountData:
    id: int
    name: str | None = None


@dataclass(frozen=True)
class InboxData:
    id: int
    account_id: int
    name: str | None = None
    channel: str | None = None


@dataclass(frozen=True)
class ContactData:
    id: int
    account_id: int
    name: str | None = None
    email: str | None = None
    phone_number: str | None = None
    identifier: str | None = None
    custom_attributes: dict[str, Any] = field(default_factory=dict)
    additional_attributes: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ConversationData:
    account_id: int
    display_id: int
    inbox_id: int | None
    channel: str | None
    status: str | None
    contact: ContactData | None
    assignee_id: int | None
    assignee_type: str | None
    assignee_name: str | None
    team_id: int | None
    team_name: str | None
    labels: list[str]
    custom_attributes: dict[str, Any]
    can_reply: bool | None
    waiting_since: int | None
    updated_at: float | None
    created_at: datetime | None
    # (message id, status) of ``messages[0]``: the only place a message status appears.
    last_message_status: tuple[int, str] | None
    # ``contact_inbox.source_id``: the contact's address on the channel. Twilio WhatsApp
    # contacts have "whatsapp:+E164", Twilio SMS ones the bare number (CONTRACT-NEXT §1.3).
    contact_source_id: str | None = None


@dataclass(frozen=True)
class MessageData:
    id: int
    account_id: int
    inbox_id: int | None
    message_type: str
    sender_kind: SenderKind
    sender_type: str | None
    sender_id: int | None
    sender_name: str | None
    private: bool
    content: str | None
    content_type: str | None
    content_attributes: dict[str, Any]
    attachments: list[dict[str, Any]]
    source_id: str | None
    status: str | None
    created_at: datetime
    contact: ContactData | None
    # e.g. ``campaign_id`` (a website campaign's message) or ``template_params``.
    additional_attributes: dict[str, Any] = field(default_factory=dict)

    @property
    def deleted(self) -> bool:
        return bool(self.content_attributes.get("deleted"))


@dataclass(frozen=True)
class Event:
    """One delivery, parsed. Which parts are set depends on the event."""

    name: str
    account: AccountData
    inbox: InboxData | None = None
    conversation: ConversationData | None = None
    message: MessageData | None = None
    contact: ContactData | None = None
