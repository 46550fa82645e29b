"""Small typed results of Chatwoot REST calls, so raw response dicts stay inside the client
(``chatwoot.answers`` parses them)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, get_args

Status = Literal["open", "pending", "resolved", "snoozed"]
STATUSES: tuple[Status, ...] = get_args(Status)


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


@dataclass(frozen=True)
class Assignee:
    id: int
    name: str
    type: str | None  # "User" | "AgentBot" | "Captain::Assistant"


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
