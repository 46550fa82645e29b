"""Small typed results of Chatwoot REST calls, so raw response dicts stay inside the client.

The ``from_api`` constructors raise KeyError, TypeError or ValueError on a shape they do not
expect; the client turns those into a permanent ChatwootError.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

STATUSES = ("open", "pending", "resolved", "snoozed")

# REST responses and `conversation.messages[]` carry the Rails enum's integer; webhook
# bodies carry its name. Both are normalised to the name.
MESSAGE_TYPES = {0: "incoming", 1: "outgoing", 2: "activity", 3: "template"}

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


@dataclass(frozen=True)
class ChatwootMessage:
    id: int
    content: str | None  # null for attachment-only messages and voice notes
    message_type: str  # "incoming" | "outgoing" | "activity" | "template"
    private: bool
    created_at: datetime  # timezone-aware UTC
    sender_type: str | None  # "contact" | "user" | "agent_bot" | "captain_assistant" | None
    sender_id: int | None
    content_attributes: dict[str, Any]

    @classmethod
    def from_api(cls, data: Any) -> ChatwootMessage:
        data = _obj(data)
        sender_type, sender_id = _sender(data)
        return cls(
            id=_int(data["id"]),
            content=_opt_str(data.get("content")),
            message_type=_message_type(data["message_type"]),
            private=bool(data.get("private", False)),
            created_at=_timestamp(data["created_at"]),
            sender_type=sender_type,
            sender_id=sender_id,
            content_attributes=_obj(data.get("content_attributes") or {}),
        )


@dataclass(frozen=True)
class Assignee:
    id: int
    name: str
    type: str | None  # "User" | "AgentBot" | "Captain::Assistant"

    @classmethod
    def from_meta(cls, meta: Any) -> Assignee | None:
        meta = _obj(meta or {})
        raw = meta.get("assignee")
        if not raw:
            return None
        raw = _obj(raw)
        kind = meta.get("assignee_type") or _CLASS_NAMES.get(raw.get("type") or "")
        return cls(id=_int(raw["id"]), name=str(raw.get("name") or ""), type=_opt_str(kind))


@dataclass(frozen=True)
class ConversationSnapshot:
    id: int  # the per-account display id every REST path uses
    status: str
    inbox_id: int
    assignee: Assignee | None
    labels: list[str]
    custom_attributes: dict[str, Any]
    # Chatwoot's conversation partial carries only the last message of any kind (a private
    # note or an activity too) and the newest non-activity one (notes included).
    last_message: ChatwootMessage | None
    last_non_activity_message: ChatwootMessage | None = None

    @classmethod
    def from_api(cls, data: Any) -> ConversationSnapshot:
        data = _obj(data)
        messages = _list(data.get("messages") or [])
        newest = data.get("last_non_activity_message")
        return cls(
            id=_int(data["id"]),
            status=_str(data["status"]),
            inbox_id=_int(data["inbox_id"]),
            assignee=Assignee.from_meta(data.get("meta")),
            labels=_str_list(data.get("labels") or []),
            custom_attributes=_obj(data.get("custom_attributes") or {}),
            last_message=ChatwootMessage.from_api(messages[-1]) if messages else None,
            last_non_activity_message=ChatwootMessage.from_api(newest) if newest else None,
        )


def messages_from_api(data: Any) -> list[ChatwootMessage]:
    """``GET /messages`` answers ``{meta, payload: [message, ...]}``."""
    return [ChatwootMessage.from_api(item) for item in _list(_obj(data)["payload"])]


def labels_from_api(data: Any) -> list[str]:
    """The labels endpoints answer ``{payload: [str, ...]}``."""
    return _str_list(_obj(data)["payload"])


def status_from_api(data: Any) -> str:
    """``toggle_status`` answers ``{meta, payload: {success, current_status, ...}}``."""
    status = _str(_obj(_obj(data)["payload"])["current_status"])
    if status not in STATUSES:
        raise ValueError(f"unknown current_status {status!r}")
    return status


def _sender(data: dict[str, Any]) -> tuple[str | None, int | None]:
    # DB-column shapes (`conversation.messages[]`) have sender_type/sender_id; the message
    # partial that POST /messages and GET /messages render has only a push-format `sender`.
    if "sender_type" in data:
        kind = _opt_str(data["sender_type"])
        return _SENDER_TYPES.get(kind, kind) if kind else None, _opt_int(data.get("sender_id"))
    sender = data.get("sender")
    if not sender:
        return None, None
    sender = _obj(sender)
    return _opt_str(sender.get("type")), _int(sender["id"])


def _message_type(value: Any) -> str:
    if isinstance(value, str) and value in MESSAGE_TYPES.values():
        return value
    if isinstance(value, int) and not isinstance(value, bool) and value in MESSAGE_TYPES:
        return MESSAGE_TYPES[value]
    raise ValueError(f"unknown message_type {value!r}")


def _timestamp(value: Any) -> datetime:
    # REST gives integer unix seconds; webhook bodies give ISO-8601 with milliseconds.
    if isinstance(value, int | float) and not isinstance(value, bool):
        return datetime.fromtimestamp(value, tz=UTC)
    if isinstance(value, str):
        parsed = datetime.fromisoformat(value)
        return parsed.astimezone(UTC) if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    raise TypeError(f"created_at is {type(value).__name__}")


def _obj(value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise TypeError(f"expected an object, got {type(value).__name__}")
    return value


def _int(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"expected an integer, got {value!r}")
    return value


def _opt_int(value: Any) -> int | None:
    return None if value is None else _int(value)


def _str(value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError(f"expected a string, got {value!r}")
    return value


def _opt_str(value: Any) -> str | None:
    return None if value is None else _str(value)


def _list(value: Any) -> list[Any]:
    if not isinstance(value, list):
        raise TypeError(f"expected a list, got {type(value).__name__}")
    return value


def _str_list(value: Any) -> list[str]:
    return [_str(item) for item in _list(value)]
