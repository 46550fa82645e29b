"""Database tables. Chatwoot's own ids are the keys wherever Chatwoot's ids are global.

Every timestamp is timezone-aware UTC: SQLModel 0.0.50 rejects naive datetimes.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Column, DateTime, Dialect, Text, UniqueConstraint
from sqlalchemy.types import TypeDecorator
from sqlmodel import Field, SQLModel


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC in, aware UTC out, on every backend (SQLite would hand back naive values)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"refusing a naive datetime: {value!r}")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _ts(nullable: bool = True) -> Any:
    return Field(default=None, sa_column=Column(UTCDateTime(), nullable=nullable))


class Delivery(SQLModel, table=True):
    """One webhook delivery exactly as received, written before it is acknowledged."""

    __tablename__ = "deliveries"

    id: int | None = Field(default=None, primary_key=True)
    # X-Chatwoot-Delivery, reused by Chatwoot on retries; "sha256:<body hash>" when absent.
    delivery_key: str = Field(max_length=100, unique=True)
    event: str = Field(max_length=64, index=True)
    body: str = Field(sa_column=Column(Text, nullable=False))
    received_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    account_id: int | None = Field(default=None, sa_type=BigInteger)
    conversation_display_id: int | None = Field(default=None, sa_type=BigInteger)
    message_id: int | None = Field(default=None, sa_type=BigInteger)
    processed_at: datetime | None = _ts()


class Account(SQLModel, table=True):
    __tablename__ = "accounts"

    id: int = Field(primary_key=True, sa_type=BigInteger)
    name: str | None = None


class Inbox(SQLModel, table=True):
    __tablename__ = "inboxes"

    id: int = Field(primary_key=True, sa_type=BigInteger)
    account_id: int = Field(foreign_key="accounts.id", sa_type=BigInteger, index=True)
    name: str | None = None
    channel: str | None = Field(default=None, max_length=64)


class Contact(SQLModel, table=True):
    __tablename__ = "contacts"

    id: int = Field(primary_key=True, sa_type=BigInteger)
    account_id: int = Field(foreign_key="accounts.id", sa_type=BigInteger, index=True)
    name: str | None = None
    email: str | None = None
    phone_number: str | None = None
    identifier: str | None = None
    custom_attributes: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON))
    additional_attributes: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON))


class Conversation(SQLModel, table=True):
    """Keyed on (account, display id): ``conversation.id`` in a payload is per account."""

    __tablename__ = "conversations"
    __table_args__ = (UniqueConstraint("account_id", "display_id"),)

    id: int | None = Field(default=None, primary_key=True)
    account_id: int = Field(foreign_key="accounts.id", sa_type=BigInteger)
    display_id: int = Field(sa_type=BigInteger)
    inbox_id: int | None = Field(default=None, foreign_key="inboxes.id", sa_type=BigInteger)
    contact_id: int | None = Field(
        default=None, foreign_key="contacts.id", sa_type=BigInteger, index=True
    )
    channel: str | None = Field(default=None, max_length=64)
    status: str | None = Field(default=None, max_length=16, index=True)
    assignee_id: int | None = Field(default=None, sa_type=BigInteger)
    assignee_type: str | None = Field(default=None, max_length=16)
    assignee_name: str | None = None
    team_id: int | None = Field(default=None, sa_type=BigInteger)
    team_name: str | None = None
    labels: list[str] = Field(default_factory=list, sa_column=Column(JSON))
    custom_attributes: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON))
    can_reply: bool | None = None
    waiting_since: int | None = Field(default=None, sa_type=BigInteger)
    # Chatwoot's updated_at (float seconds): conversation state only moves forward by it.
    chatwoot_updated_at: float | None = None
    chatwoot_created_at: datetime | None = _ts()
    first_seen_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


class Message(SQLModel, table=True):
    __tablename__ = "messages"

    id: int = Field(primary_key=True, sa_type=BigInteger)
    conversation_id: int = Field(foreign_key="conversations.id", index=True)
    account_id: int = Field(sa_type=BigInteger)
    inbox_id: int | None = Field(default=None, sa_type=BigInteger)
    # "incoming" | "outgoing" | "template" | "activity": the webhook's strings.
    message_type: str = Field(max_length=16)
    sender_kind: str = Field(max_length=16)  # chatwoot.events.SenderKind
    sender_type: str | None = Field(default=None, max_length=32)
    sender_id: int | None = Field(default=None, sa_type=BigInteger)
    sender_name: str | None = None
    private: bool = False
    content: str | None = Field(default=None, sa_column=Column(Text))
    content_type: str | None = Field(default=None, max_length=32)
    content_attributes: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON))
    attachments: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSON))
    source_id: str | None = None
    status: str | None = Field(default=None, max_length=16)
    deleted: bool = False
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    # "webhook" or "import": the sweeper only rescues what arrived live.
    origin: str = Field(default="webhook", max_length=16)
