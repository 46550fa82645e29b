"""The handoffs table: each time the bot handed a conversation to humans, and why."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Column, Text
from sqlmodel import Field, SQLModel

from core.models.columns import UTCDateTime


class Handoff(SQLModel, table=True):
    """The bot handed a conversation to humans, and why (a fixed category)."""

    __tablename__ = "handoffs"

    id: int | None = Field(default=None, primary_key=True)
    conversation_id: int = Field(foreign_key="conversations.id", index=True)
    # customer_asked | upset | ready_to_pay | missing_knowledge | claude_failed |
    # not_configured | rep_command | autonomy_off | spend_cap | send_failed | overdue
    reason: str = Field(max_length=32, index=True)
    note: str | None = Field(default=None, sa_column=Column(Text))
    draft_id: int | None = Field(default=None, foreign_key="drafts.id")
    actor: int | None = Field(default=None, sa_type=BigInteger)
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
