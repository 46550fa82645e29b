"""The deliveries table: every webhook delivery as received, and how processing it went."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Column, Index, Text
from sqlmodel import Field, SQLModel

from core.models.columns import UTCDateTime, timestamp_field


class Delivery(SQLModel, table=True):
    """One webhook delivery exactly as received, written before it is acknowledged."""

    __tablename__ = "deliveries"
    # The worker finds a conversation's deliveries not yet applied, in id order.
    __table_args__ = (
        Index("ix_deliveries_conversation", "account_id", "conversation_display_id", "id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    # X-Chatwoot-Delivery, reused by Chatwoot on retries; "sha256:<body hash>" when absent.
    delivery_key: str = Field(max_length=100, unique=True)
    # SHA-256 of the raw body: a signed body replayed within the signature's timestamp
    # window may carry any X-Chatwoot-Delivery, so the body is deduplicated too.
    body_hash: str | None = Field(default=None, max_length=64, unique=True, index=True)
    event: str = Field(max_length=64, index=True)
    body: str = Field(sa_column=Column(Text, nullable=False))
    received_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    account_id: int | None = Field(default=None, sa_type=BigInteger)
    conversation_display_id: int | None = Field(default=None, sa_type=BigInteger)
    message_id: int | None = Field(default=None, sa_type=BigInteger)
    # When the worker upserted what it says (account, inbox, contact, conversation,
    # message). The webhook only stores; the worker applies a conversation's deliveries in
    # id order before acting on any of them.
    applied_at: datetime | None = timestamp_field()
    processed_at: datetime | None = timestamp_field()
    # Processing runs started; a run that fails or dies leaves its count. Past the limit
    # the delivery is parked: kept, with its reason, and run again only by an operator.
    attempts: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    last_error: str | None = Field(default=None, max_length=500)
    parked_at: datetime | None = Field(
        default=None, sa_column=Column(UTCDateTime(), nullable=True, index=True)
    )
