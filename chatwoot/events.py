"""Parse Chatwoot agent-bot webhook payloads into small typed objects (``chatwoot.event_data``;
who wrote a message is ``chatwoot.senders``).

Shapes follow tests/fixtures/chatwoot/CONTRACT.md (Chatwoot 4.15.1), not Chatwoot's docs:
contact senders carry no ``type``, ``sender`` and ``content`` may be null, message
timestamps are ISO strings while conversation timestamps are numbers, and the channel
comes from ``conversation.channel``. Validation (chatwoot/payloads.py) is lenient about
everything the bot can do without, and refuses, naming the field, any value Wingman can't
use or store.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError
from pydantic_core import PydanticCustomError

from chatwoot import payloads, values
from chatwoot.event_data import (
    MESSAGE_STATUSES,
    AccountData,
    ContactData,
    ConversationData,
    Event,
    InboxData,
    MessageData,
)
from chatwoot.senders import SenderKind, classify

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


def parse_timestamp(value: Any) -> datetime | None:
    """Chatwoot sends ISO-8601 strings on messages and unix numbers on conversations;
    None for anything else, or a time outside 2000-2100."""
    try:
        return values.timestamp(value)
    except PydanticCustomError:
        return None


# --- from validated shapes to typed data ---------------------------------------------------


def _message_event(name: str, wire: payloads.MessageEvent) -> Event:
    account = AccountData(wire.account.id, wire.account.name)
    conversation = _conversation(wire.conversation, account.id)
    inbox_id = (wire.inbox.id if wire.inbox else None) or conversation.inbox_id
    inbox_name = wire.inbox.name if wire.inbox else None
    inbox = InboxData(inbox_id, account.id, inbox_name, conversation.channel) if inbox_id else None
    sender = wire.sender
    kind = classify(
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
