"""Parse Chatwoot agent-bot webhook payloads into small typed objects.

Shapes follow tests/fixtures/chatwoot/CONTRACT.md (Chatwoot 4.15.1), not Chatwoot's docs:
contact senders carry no ``type``, ``sender`` and ``content`` may be null, message
timestamps are ISO strings while conversation timestamps are numbers, and the channel
comes from ``conversation.channel``. Validation (chatwoot/payloads.py) is lenient about
everything the bot can do without, and refuses, naming the field, any value Wingman can't
use or store.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from pydantic import ValidationError
from pydantic_core import PydanticCustomError

from chatwoot import payloads, values

MESSAGE_EVENTS = frozenset({"message_created", "message_updated"})
CONVERSATION_EVENTS = frozenset(
    {
        "conversation_opened",
        "conversation_resolved",
        "conversation_status_changed",
        "conversation_updated",
    }
)
WIDGET_EVENTS = frozenset({"webwidget_triggered"})
KNOWN_EVENTS = MESSAGE_EVENTS | CONVERSATION_EVENTS | WIDGET_EVENTS

# Chatwoot's message status enum order; a status only ever moves forward along it.
MESSAGE_STATUSES = ("sent", "delivered", "read", "failed")


class SenderKind(StrEnum):
    """Who wrote a message, as analytics and the reply logic need it."""

    CUSTOMER = "customer"
    BOT = "bot"
    HUMAN = "human"
    SYSTEM = "system"


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


def parse_event(payload: dict[str, Any]) -> Event:
    """Parse a payload of a known event; raises PayloadError naming the first bad field."""
    name = payload.get("event")
    try:
        if name in MESSAGE_EVENTS:
            return _message_event(str(name), payloads.MessageEvent.model_validate(payload))
        if name in CONVERSATION_EVENTS:
            wire = payloads.ConversationEvent.model_validate(payload)
            return _conversation_event(str(name), wire)
        if name in WIDGET_EVENTS:
            return _widget_event(str(name), payloads.WidgetEvent.model_validate(payload))
    except ValidationError as exc:
        raise values.payload_error(exc) from None
    raise ValueError(f"not a known event: {name!r}")


def sender_kind(
    message_type: str,
    sender: Mapping[str, Any] | None,
    content_attributes: Mapping[str, Any],
    additional_attributes: Mapping[str, Any] | None = None,
) -> SenderKind:
    """Who wrote a message, from the webhook's message type, sender and attributes."""
    sender_type = None if sender is None else sender.get("type")
    return _kind(
        message_type,
        sender_type if isinstance(sender_type, str) else None,
        has_sender=sender is not None,
        content_attributes=content_attributes,
        additional_attributes=additional_attributes or {},
    )


def parse_timestamp(value: Any) -> datetime | None:
    """Chatwoot sends ISO-8601 strings on messages and unix numbers on conversations;
    None for anything else, or a time outside 2000-2100."""
    try:
        return values.timestamp(value)
    except PydanticCustomError:
        return None


# --- from validated shapes to typed data ---------------------------------------------------


def _kind(
    message_type: str,
    sender_type: str | None,
    *,
    has_sender: bool,
    content_attributes: Mapping[str, Any],
    additional_attributes: Mapping[str, Any],
) -> SenderKind:
    if additional_attributes.get("campaign_id") not in (None, ""):
        # A website campaign's opening message: sent as the campaign's configured user
        # though nobody typed it, so never a human taking over, and never the customer
        # (CONTRACT-NEXT §6.1; Chatwoot's own human_response? excludes it too).
        return SenderKind.SYSTEM
    if message_type == "incoming":
        return SenderKind.CUSTOMER
    if message_type != "outgoing":
        return SenderKind.SYSTEM  # templates (greeting, CSAT…) and activity messages
    if content_attributes.get("automation_rule_id") not in (None, ""):
        return SenderKind.SYSTEM  # an automation rule's "send message" (§6.3)
    if sender_type in ("agent_bot", "captain_assistant"):
        return SenderKind.BOT
    if sender_type == "user":
        return SenderKind.HUMAN
    if not has_sender and content_attributes.get("external_echo"):
        return SenderKind.HUMAN  # replied from the WhatsApp/Instagram phone app
    return SenderKind.SYSTEM


def _message_event(name: str, wire: payloads.MessageEvent) -> Event:
    account = AccountData(wire.account.id, wire.account.name)
    conversation = _conversation(wire.conversation, account.id)
    inbox_id = (wire.inbox.id if wire.inbox else None) or conversation.inbox_id
    inbox_name = wire.inbox.name if wire.inbox else None
    inbox = InboxData(inbox_id, account.id, inbox_name, conversation.channel) if inbox_id else None
    sender = wire.sender
    kind = _kind(
        wire.message_type,
        sender.type if sender else None,
        has_sender=sender is not None,
        content_attributes=wire.content_attributes,
        additional_attributes=wire.additional_attributes,
    )
    contact = _contact(sender, account.id) if kind is SenderKind.CUSTOMER else None
    status = None
    if conversation.last_message_status and conversation.last_message_status[0] == wire.id:
        status = conversation.last_message_status[1]
    message = MessageData(
        id=wire.id,
        account_id=account.id,
        inbox_id=inbox_id,
        message_type=wire.message_type,
        sender_kind=kind,
        # Contact senders have no "type" key in webhooks; name them so the row says who.
        sender_type=(sender.type or ("contact" if kind is SenderKind.CUSTOMER else None))
        if sender
        else None,
        sender_id=sender.id if sender else None,
        sender_name=sender.name if sender else None,
        private=wire.private,
        content=wire.content,
        content_type=wire.content_type,
        content_attributes=wire.content_attributes,
        attachments=wire.attachments,
        source_id=wire.source_id,
        status=status,
        created_at=wire.created_at or datetime.now(UTC),
        contact=contact,
        additional_attributes=wire.additional_attributes,
    )
    return Event(name, account, inbox, conversation, message, contact or conversation.contact)


def _conversation_event(name: str, wire: payloads.ConversationEvent) -> Event:
    account = AccountData(wire.account.id, wire.account.name)
    conversation = _conversation(wire, account.id)
    inbox = (
        InboxData(conversation.inbox_id, account.id, None, conversation.channel)
        if conversation.inbox_id
        else None
    )
    return Event(name, account, inbox, conversation, None, conversation.contact)


def _widget_event(name: str, wire: payloads.WidgetEvent) -> Event:
    account = AccountData(wire.account.id, wire.account.name)
    current = wire.current_conversation
    conversation = _conversation(current, account.id) if current else None
    channel = conversation.channel if conversation else "Channel::WebWidget"
    inbox = InboxData(wire.inbox.id, account.id, wire.inbox.name, channel)
    return Event(name, account, inbox, conversation, None, _contact(wire.contact, account.id))


def _conversation(wire: payloads.Conversation, account_id: int) -> ConversationData:
    meta = wire.meta or payloads.Meta()
    assignee, team = meta.assignee, meta.team
    contact_inbox = wire.contact_inbox
    contact = _contact(meta.sender, account_id)
    if contact is None and contact_inbox is not None and contact_inbox.contact_id:
        contact = ContactData(id=contact_inbox.contact_id, account_id=account_id)
    last_status = None
    first = wire.messages[0] if wire.messages else None
    if first is not None and first.id and first.status in MESSAGE_STATUSES:
        last_status = (first.id, first.status)
    return ConversationData(
        account_id=account_id,
        display_id=wire.id,
        inbox_id=wire.inbox_id or (contact_inbox.inbox_id if contact_inbox else None),
        channel=wire.channel,
        status=wire.status,
        contact=contact,
        assignee_id=assignee.id if assignee else None,
        assignee_type=meta.assignee_type or _assignee_type(assignee),
        assignee_name=assignee.name if assignee else None,
        team_id=team.id if team else None,
        team_name=team.name if team else None,
        labels=wire.labels,
        custom_attributes=wire.custom_attributes,
        can_reply=wire.can_reply,
        waiting_since=wire.waiting_since,
        updated_at=wire.updated_at,
        created_at=wire.created_at,
        last_message_status=last_status,
        contact_source_id=_source_id(wire),
    )


def _source_id(wire: payloads.Conversation) -> str | None:
    """``contact_inbox.source_id``. REST conversations have no ``contact_inbox``, but their
    last message's push data carries it (CONTRACT.md §1.4), so imports read it too."""
    if wire.contact_inbox is not None and wire.contact_inbox.source_id:
        return wire.contact_inbox.source_id
    for message in wire.messages[:1]:
        pushed = message.conversation.contact_inbox if message.conversation else None
        if pushed is not None:
            return pushed.source_id
    return None


def _contact(wire: payloads.Contact | None, account_id: int) -> ContactData | None:
    if wire is None or not wire.id:
        return None
    return ContactData(
        id=wire.id,
        account_id=account_id,
        name=wire.name,
        email=wire.email,
        phone_number=wire.phone_number,
        identifier=wire.identifier,
        custom_attributes=wire.custom_attributes,
        additional_attributes=wire.additional_attributes,
    )


def _assignee_type(assignee: payloads.Person | None) -> str | None:
    if assignee is None:
        return None
    return {"user": "User", "agent_bot": "AgentBot"}.get(assignee.type or "")
