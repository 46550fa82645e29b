"""Chatwoot's REST answers, parsed into ``chatwoot.types`` through pydantic shapes over the
same validated values as webhook bodies (``chatwoot.values``).

Each ``*_from_api`` raises PayloadError, a ValueError, naming the first field it cannot
read; the client turns that into a permanent ChatwootError.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BeforeValidator, Field

from chatwoot.types import Assignee, ChatwootMessage, ConversationSnapshot, Status
from chatwoot.values import (
    Content,
    Flag,
    Id,
    JsonObject,
    Labels,
    MessageType,
    OptionalId,
    RequiredText,
    RequiredTimestamp,
    Shape,
    Text,
    empty_as_none,
    none_as_empty,
    parse,
)

# Message senders are named as webhooks and chatwoot.events name them ("agent_bot"); REST
# DB-column shapes use the Rails class name ("AgentBot"). Assignees go the other way, to
# match `meta.assignee_type`.
_SENDER_TYPES = {
    "Contact": "contact",
    "User": "user",
    "AgentBot": "agent_bot",
    "Captain::Assistant": "captain_assistant",
}
_CLASS_NAMES = {snake: rails for rails, snake in _SENDER_TYPES.items()}


class _PushSender(Shape):
    id: Id
    type: Text = None


class _Message(Shape):
    """The message partial (POST and GET /messages) or a DB-column shape
    (``conversation.messages[]``)."""

    id: Id
    content: Content = None
    message_type: MessageType
    private: Flag = False
    created_at: RequiredTimestamp
    sender_type: Text = None
    sender_id: OptionalId = None
    sender: Annotated[_PushSender | None, BeforeValidator(empty_as_none)] = None
    content_attributes: JsonObject = Field(default_factory=dict)

    def typed(self) -> ChatwootMessage:
        # DB-column shapes have sender_type/sender_id; the message partial has only a
        # push-format `sender`.
        if "sender_type" in self.model_fields_set:
            kind = self.sender_type
            sender_type = _SENDER_TYPES.get(kind, kind) if kind else None
            sender_id = self.sender_id
        elif self.sender is not None:
            sender_type, sender_id = self.sender.type, self.sender.id
        else:
            sender_type, sender_id = None, None
        return ChatwootMessage(
            id=self.id,
            content=self.content,
            message_type=self.message_type,
            private=self.private,
            created_at=self.created_at,
            sender_type=sender_type,
            sender_id=sender_id,
            content_attributes=self.content_attributes,
        )


class _Assignee(Shape):
    id: Id
    name: Text = None
    type: Text = None


class _Meta(Shape):
    assignee: Annotated[_Assignee | None, BeforeValidator(empty_as_none)] = None
    assignee_type: Text = None

    def assignee_typed(self) -> Assignee | None:
        raw = self.assignee
        if raw is None:
            return None
        kind = self.assignee_type or _CLASS_NAMES.get(raw.type or "")
        return Assignee(id=raw.id, name=raw.name or "", type=kind)


class _Conversation(Shape):
    id: Id
    status: RequiredText
    inbox_id: Id
    meta: Annotated[_Meta | None, BeforeValidator(empty_as_none)] = None
    labels: Labels = Field(default_factory=list)
    custom_attributes: JsonObject = Field(default_factory=dict)
    messages: Annotated[list[_Message], BeforeValidator(none_as_empty)] = Field(
        default_factory=list
    )
    last_non_activity_message: Annotated[_Message | None, BeforeValidator(empty_as_none)] = None


class _MessageList(Shape):
    payload: list[_Message]


class _LabelList(Shape):
    payload: list[RequiredText]


class _Status(Shape):
    current_status: Status


class _StatusAnswer(Shape):
    payload: _Status


def message_from_api(data: Any) -> ChatwootMessage:
    return parse(_Message, data).typed()


def conversation_from_api(data: Any) -> ConversationSnapshot:
    wire = parse(_Conversation, data)
    newest = wire.last_non_activity_message
    return ConversationSnapshot(
        id=wire.id,
        status=wire.status,
        inbox_id=wire.inbox_id,
        assignee=wire.meta.assignee_typed() if wire.meta else None,
        labels=wire.labels,
        custom_attributes=wire.custom_attributes,
        last_message=wire.messages[-1].typed() if wire.messages else None,
        last_non_activity_message=newest.typed() if newest else None,
    )


def messages_from_api(data: Any) -> list[ChatwootMessage]:
    """``GET /messages`` answers ``{meta, payload: [message, ...]}``."""
    return [message.typed() for message in parse(_MessageList, data).payload]


def labels_from_api(data: Any) -> list[str]:
    """The labels endpoints answer ``{payload: [str, ...]}``."""
    return parse(_LabelList, data).payload


def status_from_api(data: Any) -> str:
    """``toggle_status`` answers ``{meta, payload: {success, current_status, ...}}``."""
    return parse(_StatusAnswer, data).payload.current_status
