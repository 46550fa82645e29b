"""Parse Chatwoot agent-bot webhook payloads into small typed objects.

Shapes follow tests/fixtures/chatwoot/CONTRACT.md (Chatwoot 4.15.1), not Chatwoot's docs:
contact senders carry no ``type``, ``sender`` and ``content`` may be null, message
timestamps are ISO strings while conversation timestamps are numbers, and the channel
comes from ``conversation.channel``. Parsing is lenient about everything the bot can do
without and strict only about the ids it stores things under.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

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

# Chatwoot's Message enum order; REST responses carry the integer.
MESSAGE_TYPES = ("incoming", "outgoing", "activity", "template")
# Chatwoot's message status enum order; a status only ever moves forward along it.
MESSAGE_STATUSES = ("sent", "delivered", "read", "failed")


class SenderKind(StrEnum):
    """Who wrote a message, as analytics and the reply logic need it."""

    CUSTOMER = "customer"
    BOT = "bot"
    HUMAN = "human"
    SYSTEM = "system"


class PayloadError(ValueError):
    """A payload lacks a field Wingman cannot store it without."""

    def __init__(self, field_name: str, problem: str = "is missing") -> None:
        super().__init__(f"'{field_name}' {problem}")
        self.field = field_name


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
    contact_source_id: str | None
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
    """Parse a payload of a known event; raises PayloadError naming a missing id."""
    name = payload.get("event")
    if name in MESSAGE_EVENTS:
        return _parse_message_event(str(name), payload)
    if name in CONVERSATION_EVENTS:
        return _parse_conversation_event(str(name), payload)
    if name in WIDGET_EVENTS:
        return _parse_widget_event(str(name), payload)
    raise ValueError(f"not a known event: {name!r}")


def sender_kind(
    message_type: str, sender: dict[str, Any] | None, content_attributes: dict[str, Any]
) -> SenderKind:
    """Who wrote a message, from the webhook's message type and sender."""
    if message_type == "incoming":
        return SenderKind.CUSTOMER
    if message_type != "outgoing":
        return SenderKind.SYSTEM  # templates (greeting, CSAT…) and activity messages
    sender_type = (sender or {}).get("type")
    if sender_type in ("agent_bot", "captain_assistant"):
        return SenderKind.BOT
    if sender_type == "user":
        return SenderKind.HUMAN
    if sender is None and content_attributes.get("external_echo"):
        return SenderKind.HUMAN  # replied from the WhatsApp/Instagram phone app
    return SenderKind.SYSTEM


def parse_timestamp(value: Any) -> datetime | None:
    """Chatwoot sends ISO-8601 strings on messages and unix numbers on conversations."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        return datetime.fromtimestamp(value, UTC)
    if isinstance(value, str) and value:
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    return None


# --- the three payload families ------------------------------------------------------------


def _parse_message_event(name: str, payload: dict[str, Any]) -> Event:
    message_id = _required_id(payload, "id")
    conversation_raw = _required_object(payload, "conversation")
    _required_id(conversation_raw, "id", prefix="conversation.")
    account = _account(payload)
    inbox_raw = _object(payload.get("inbox"))
    conversation = _conversation(conversation_raw, account.id)
    inbox_id = _int(inbox_raw.get("id")) or conversation.inbox_id
    inbox = (
        InboxData(inbox_id, account.id, _str(inbox_raw.get("name")), conversation.channel)
        if inbox_id
        else None
    )

    message_type = payload.get("message_type")
    if isinstance(message_type, int) and 0 <= message_type < len(MESSAGE_TYPES):
        message_type = MESSAGE_TYPES[message_type]
    if message_type not in MESSAGE_TYPES:
        raise PayloadError("message_type", f"is {message_type!r}, not one of {MESSAGE_TYPES}")
    sender = payload.get("sender") if isinstance(payload.get("sender"), dict) else None
    content_attributes = _object(payload.get("content_attributes"))
    kind = sender_kind(message_type, sender, content_attributes)
    contact = _contact(sender, account.id) if kind is SenderKind.CUSTOMER else None

    status = None
    if conversation.last_message_status and conversation.last_message_status[0] == message_id:
        status = conversation.last_message_status[1]
    content = payload.get("content")
    message = MessageData(
        id=message_id,
        account_id=account.id,
        inbox_id=inbox_id,
        message_type=message_type,
        sender_kind=kind,
        sender_type=_sender_type(sender, kind),
        sender_id=_int((sender or {}).get("id")),
        sender_name=_str((sender or {}).get("name")),
        private=bool(payload.get("private")),
        content=content if isinstance(content, str) else None,
        content_type=_str(payload.get("content_type")),
        content_attributes=content_attributes,
        attachments=[a for a in payload.get("attachments") or [] if isinstance(a, dict)],
        source_id=_str(payload.get("source_id")),
        status=status,
        created_at=parse_timestamp(payload.get("created_at")) or datetime.now(UTC),
        contact=contact,
    )
    return Event(name, account, inbox, conversation, message, contact or conversation.contact)


def _parse_conversation_event(name: str, payload: dict[str, Any]) -> Event:
    _required_id(payload, "id")
    account = _account(payload)
    conversation = _conversation(payload, account.id)
    inbox = (
        InboxData(conversation.inbox_id, account.id, None, conversation.channel)
        if conversation.inbox_id
        else None
    )
    return Event(name, account, inbox, conversation, None, conversation.contact)


def _parse_widget_event(name: str, payload: dict[str, Any]) -> Event:
    account = _account(payload)
    inbox_raw = _required_object(payload, "inbox")
    inbox_id = _required_id(inbox_raw, "id", prefix="inbox.")
    current = payload.get("current_conversation")
    conversation = _conversation(current, account.id) if isinstance(current, dict) else None
    if conversation is not None and conversation.display_id <= 0:
        conversation = None
    channel = conversation.channel if conversation else "Channel::WebWidget"
    inbox = InboxData(inbox_id, account.id, _str(inbox_raw.get("name")), channel)
    contact_raw = payload.get("contact") if isinstance(payload.get("contact"), dict) else None
    contact = _contact(contact_raw, account.id)
    return Event(name, account, inbox, conversation, None, contact)


# --- pieces ---------------------------------------------------------------------------------


def _account(payload: dict[str, Any]) -> AccountData:
    raw = _required_object(payload, "account")
    return AccountData(_required_id(raw, "id", prefix="account."), _str(raw.get("name")))


def _conversation(raw: dict[str, Any], account_id: int) -> ConversationData:
    meta = _object(raw.get("meta"))
    assignee = _object(meta.get("assignee"))
    team = _object(meta.get("team"))
    contact_inbox = _object(raw.get("contact_inbox"))
    contact = _contact(_object(meta.get("sender")) or None, account_id)
    if contact is None and _int(contact_inbox.get("contact_id")):
        contact = ContactData(id=_int(contact_inbox.get("contact_id")) or 0, account_id=account_id)
    messages = raw.get("messages")
    last_status = None
    if isinstance(messages, list) and messages and isinstance(messages[0], dict):
        first_id, first_status = _int(messages[0].get("id")), messages[0].get("status")
        if first_id and first_status in MESSAGE_STATUSES:
            last_status = (first_id, str(first_status))
    updated_at = raw.get("updated_at")
    labels = raw.get("labels")
    return ConversationData(
        account_id=account_id,
        display_id=_int(raw.get("id")) or 0,
        inbox_id=_int(raw.get("inbox_id")) or _int(contact_inbox.get("inbox_id")),
        channel=_str(raw.get("channel")),
        status=_str(raw.get("status")),
        contact=contact,
        contact_source_id=_str(contact_inbox.get("source_id")),
        assignee_id=_int(assignee.get("id")),
        assignee_type=_str(meta.get("assignee_type")) or _assignee_type(assignee),
        assignee_name=_str(assignee.get("name")),
        team_id=_int(team.get("id")),
        team_name=_str(team.get("name")),
        labels=[str(label) for label in labels] if isinstance(labels, list) else [],
        custom_attributes=_object(raw.get("custom_attributes")),
        can_reply=raw.get("can_reply") if isinstance(raw.get("can_reply"), bool) else None,
        waiting_since=_int(raw.get("waiting_since")),
        updated_at=float(updated_at)
        if isinstance(updated_at, int | float) and not isinstance(updated_at, bool)
        else None,
        created_at=parse_timestamp(raw.get("created_at")),
        last_message_status=last_status,
    )


def _contact(raw: dict[str, Any] | None, account_id: int) -> ContactData | None:
    if not raw:
        return None
    contact_id = _int(raw.get("id"))
    if not contact_id:
        return None
    return ContactData(
        id=contact_id,
        account_id=account_id,
        name=_str(raw.get("name")),
        email=_str(raw.get("email")),
        phone_number=_str(raw.get("phone_number")),
        identifier=_str(raw.get("identifier")),
        custom_attributes=_object(raw.get("custom_attributes")),
        additional_attributes=_object(raw.get("additional_attributes")),
    )


def _sender_type(sender: dict[str, Any] | None, kind: SenderKind) -> str | None:
    if sender is None:
        return None
    # Contact senders have no "type" key in webhooks; name them so the row says who wrote it.
    return _str(sender.get("type")) or ("contact" if kind is SenderKind.CUSTOMER else None)


def _assignee_type(assignee: dict[str, Any]) -> str | None:
    return {"user": "User", "agent_bot": "AgentBot"}.get(str(assignee.get("type")))


def _required_object(payload: dict[str, Any], key: str) -> dict[str, Any]:
    value = payload.get(key)
    if value is None:
        raise PayloadError(key)
    if not isinstance(value, dict):
        raise PayloadError(key, "must be an object")
    return value


def _required_id(payload: dict[str, Any], key: str, prefix: str = "") -> int:
    value = payload.get(key)
    if value is None:
        raise PayloadError(prefix + key)
    number = _int(value)
    if number is None or number <= 0:
        raise PayloadError(prefix + key, f"must be a positive integer, got {value!r}")
    return number


def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return None


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) and value != "" else None


def _object(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}
