"""The replies the bot wrote (drafts), their states, and which customer messages each answers."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Column, Text
from sqlmodel import Field, SQLModel

from core.models.columns import UTCDateTime, timestamp_field

# Every state a draft can be in (see the README's table); reports keep this order.
DRAFT_STATES = (
    "pending",
    "sent",
    "edited",
    "skipped",
    "superseded",
    "replaced",
    "discarded",
    "expired",
    "failed",
    "undelivered",
)


class Draft(SQLModel, table=True):
    """One reply the bot wrote for a rep to approve (or, on autopilot, sent itself).

    ``id`` is what reps type: draft 42 is ``D42``.
    """

    __tablename__ = "drafts"

    id: int | None = Field(default=None, primary_key=True)
    conversation_id: int = Field(foreign_key="conversations.id", index=True)
    # pending | sent | edited | skipped | superseded | replaced | discarded | expired | failed
    # | undelivered (sent, but Chatwoot or the channel refused a bubble)
    state: str = Field(max_length=16, index=True)
    bubbles: list[str] = Field(default_factory=list, sa_column=Column(JSON))
    handoff_reason: str | None = Field(default=None, max_length=32)
    handoff_note: str | None = None
    answered_questions: list[str] = Field(default_factory=list, sa_column=Column(JSON))
    do_not_contact: bool = False
    structured: bool = True
    hint: str | None = None
    knowledge_version: str | None = Field(default=None, max_length=64)
    failure: str | None = None
    sent_text: str | None = Field(default=None, sa_column=Column(Text))
    edit_distance: float | None = None
    decided_by: int | None = Field(default=None, sa_type=BigInteger)
    last_customer_message_at: datetime | None = timestamp_field()
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    ready_at: datetime | None = timestamp_field()
    decided_at: datetime | None = timestamp_field()
    sent_at: datetime | None = timestamp_field()
    model: str | None = Field(default=None, max_length=64)
    input_tokens: int = 0
    # Everything Claude generated, thinking included: what Anthropic bills as output.
    output_tokens: int = 0
    # The part of output_tokens spent thinking, for observability; never priced on its own.
    thinking_tokens: int = 0
    cache_read_input_tokens: int = 0
    cache_write_5m_tokens: int = 0
    cache_write_1h_tokens: int = 0
    latency_ms: int | None = None
    request_id: str | None = Field(default=None, max_length=128)
    guardrails: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON))
    # The experiment arm (version) that wrote it, if the inbox runs an experiment.
    arm_id: int | None = Field(default=None, foreign_key="arms.id", index=True)
    # Set on a follow-up to a dormant lead (re-activation): it answers no customer message,
    # and the figures keep it apart from replies.
    follow_up_id: int | None = Field(default=None, foreign_key="follow_ups.id", index=True)


class DraftMessage(SQLModel, table=True):
    """Which customer messages a draft answers.

    ``live_message_id`` equals ``message_id`` while the draft is live (pending, sent or
    edited) and is NULL otherwise; its unique constraint is what makes a customer message
    answered by at most one live draft, on SQLite and PostgreSQL alike (NULLs never clash).
    """

    __tablename__ = "draft_messages"

    draft_id: int = Field(foreign_key="drafts.id", primary_key=True)
    message_id: int = Field(foreign_key="messages.id", primary_key=True, sa_type=BigInteger)
    live_message_id: int | None = Field(default=None, unique=True, sa_type=BigInteger)
