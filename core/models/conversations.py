"""Chatwoot's records as Wingman mirrors them: accounts, inboxes, contacts, conversations
and messages."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Column, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from core.models.columns import UTCDateTime, timestamp_field


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
    # The contact's address on the channel (``contact_inbox.source_id``): for
    # Channel::TwilioSms, "whatsapp:+E164" is the only sign in a webhook that the contact is
    # on WhatsApp (and so has a 24 h window). Personal data: ``contact forget`` blanks it.
    contact_source_id: str | None = Field(default=None, max_length=255)
    status: str | None = Field(default=None, max_length=16, index=True)
    assignee_id: int | None = Field(default=None, sa_type=BigInteger)
    assignee_type: str | None = Field(default=None, max_length=16)
    assignee_name: str | None = None
    team_id: int | None = Field(default=None, sa_type=BigInteger)
    team_name: str | None = None
    labels: list[str] = Field(default_factory=list, sa_column=Column(JSON))
    # Each label's first sighting, as Chatwoot's updated_at (float seconds) of the earliest
    # payload that carried it: when a conversation was labelled sold, for the re-activation
    # report's "converted within N days".
    label_times: dict[str, float] = Field(default_factory=dict, sa_column=Column(JSON))
    custom_attributes: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON))
    can_reply: bool | None = None
    waiting_since: int | None = Field(default=None, sa_type=BigInteger)
    # Chatwoot's updated_at (float seconds): conversation state only moves forward by it.
    chatwoot_updated_at: float | None = None
    chatwoot_created_at: datetime | None = timestamp_field()
    first_seen_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    # The bot stays silent here while muted: a rep typed /bot off, or took over.
    bot_muted: bool = False
    bot_muted_reason: str | None = Field(default=None, max_length=32)
    bot_muted_at: datetime | None = timestamp_field()


class Message(SQLModel, table=True):
    __tablename__ = "messages"

    id: int = Field(primary_key=True, sa_type=BigInteger)
    conversation_id: int = Field(foreign_key="conversations.id", index=True)
    account_id: int = Field(sa_type=BigInteger)
    inbox_id: int | None = Field(default=None, sa_type=BigInteger)
    # "incoming" | "outgoing" | "template" | "activity": the webhook's strings.
    message_type: str = Field(max_length=16)
    sender_kind: str = Field(max_length=16)  # chatwoot.senders.SenderKind
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
    # When Wingman first stored it, on Wingman's own clock: reply timing is measured with
    # this, so Chatwoot's clock skew or a slow webhook queue can't shift the quiet period.
    received_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    # "webhook" or "import": the sweeper only rescues what arrived live.
    origin: str = Field(default="webhook", max_length=16)
    # The one delivery whose actions (a command, a takeover, a reply timer) this message
    # set off: a second message_created for it never acts again.
    handled_by_delivery_id: int | None = None
