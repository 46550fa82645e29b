"""The outbox table: every post to Chatwoot, written before it is sent."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Column, Text
from sqlmodel import Field, SQLModel

from core.models.columns import UTCDateTime, timestamp_field


class OutboxItem(SQLModel, table=True):
    """A message to post to Chatwoot, written before it is sent and marked when confirmed."""

    __tablename__ = "outbox"

    id: int | None = Field(default=None, primary_key=True)
    # What this item is, e.g. "draft:42:note" or "draft:42:bubble:0": posting it twice is
    # impossible because it can only be written once.
    key: str = Field(max_length=100, unique=True)
    conversation_id: int = Field(foreign_key="conversations.id", index=True)
    draft_id: int | None = Field(default=None, foreign_key="drafts.id", index=True)
    position: int = 0
    # "message" posts ``content`` (a private note if ``private``); "status" sets the
    # conversation's status to ``content`` (a handoff is status "open"); "assign" assigns
    # ``content``, "agent:<id>" or "team:<id>"; "template" posts an approved WhatsApp
    # template (``template_params``), with ``content`` as the text Chatwoot shows.
    action: str = Field(default="message", max_length=16)
    private: bool = True
    content: str = Field(sa_column=Column(Text, nullable=False))
    template_params: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))
    # pending | sending | unknown | sent | uncertain | expired | failed | undelivered (Chatwoot
    # accepted it, then the channel refused it: ``external_error``) | cancelled (a follow-up
    # the customer's own message made moot before it was ever tried)
    state: str = Field(default="pending", max_length=16, index=True)
    attempts: int = 0
    # Indexed: the outbox and the export look items up by the message Chatwoot created.
    chatwoot_message_id: int | None = Field(default=None, sa_type=BigInteger, index=True)
    last_error: str | None = None
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    attempt_started_at: datetime | None = timestamp_field()
    # While set (and younger than the lease), a worker is asking Chatwoot whether an
    # earlier attempt of unknown fate landed; nobody else acts on the item meanwhile.
    checked_at: datetime | None = timestamp_field()
    sent_at: datetime | None = timestamp_field()
