"""Database tables. Chatwoot's own ids are the keys wherever Chatwoot's ids are global.

Every timestamp is timezone-aware UTC: SQLModel 0.0.50 rejects naive datetimes.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    DateTime,
    Dialect,
    Index,
    Text,
    UniqueConstraint,
)
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
    applied_at: datetime | None = _ts()
    processed_at: datetime | None = _ts()
    # Processing runs started; a run that fails or dies leaves its count. Past the limit
    # the delivery is parked: kept, with its reason, and run again only by an operator.
    attempts: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    last_error: str | None = Field(default=None, max_length=500)
    parked_at: datetime | None = Field(
        default=None, sa_column=Column(UTCDateTime(), nullable=True, index=True)
    )


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
    custom_attributes: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON))
    can_reply: bool | None = None
    waiting_since: int | None = Field(default=None, sa_type=BigInteger)
    # Chatwoot's updated_at (float seconds): conversation state only moves forward by it.
    chatwoot_updated_at: float | None = None
    chatwoot_created_at: datetime | None = _ts()
    first_seen_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    # The bot stays silent here while muted: a rep typed /bot off, or took over.
    bot_muted: bool = False
    bot_muted_reason: str | None = Field(default=None, max_length=32)
    bot_muted_at: datetime | None = _ts()


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
    last_customer_message_at: datetime | None = _ts()
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    ready_at: datetime | None = _ts()
    decided_at: datetime | None = _ts()
    sent_at: datetime | None = _ts()
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
    # ``content``, "agent:<id>" or "team:<id>".
    action: str = Field(default="message", max_length=16)
    private: bool = True
    content: str = Field(sa_column=Column(Text, nullable=False))
    # pending | sending | unknown | sent | uncertain | expired | failed | undelivered (Chatwoot
    # accepted it, then the channel refused it: ``external_error``)
    state: str = Field(default="pending", max_length=16, index=True)
    attempts: int = 0
    # Indexed: the outbox and the export look items up by the message Chatwoot created.
    chatwoot_message_id: int | None = Field(default=None, sa_type=BigInteger, index=True)
    last_error: str | None = None
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    attempt_started_at: datetime | None = _ts()
    # While set (and younger than the lease), a worker is asking Chatwoot whether an
    # earlier attempt of unknown fate landed; nobody else acts on the item meanwhile.
    checked_at: datetime | None = _ts()
    sent_at: datetime | None = _ts()


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


class InboxSetting(SQLModel, table=True):
    """An admin's runtime switch for an inbox; it wins over the config file's default."""

    __tablename__ = "inbox_settings"

    inbox_id: int = Field(primary_key=True, sa_type=BigInteger)
    autonomy: str = Field(max_length=16)  # off | draft | autopilot
    updated_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    updated_by: str = Field(max_length=100)


class AutonomyChange(SQLModel, table=True):
    """Every change of autonomy, for an inbox or an experiment arm: who, when, from, to."""

    __tablename__ = "autonomy_changes"

    id: int | None = Field(default=None, primary_key=True)
    subject: str = Field(max_length=16)  # "inbox" | "arm"
    subject_id: str = Field(max_length=100, index=True)
    from_autonomy: str = Field(max_length=16)
    to_autonomy: str = Field(max_length=16)
    actor: str = Field(max_length=100)
    changed_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


class Experiment(SQLModel, table=True):
    """An experiment as declared in experiments/experiments.toml (see experiments/arms.py)."""

    __tablename__ = "experiments"

    name: str = Field(primary_key=True, max_length=100)
    mode: str = Field(max_length=16)  # "fixed" | "thompson"
    min_share: float = 0.05
    draws: int = 1000
    updated_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


class Arm(SQLModel, table=True):
    """One version of an arm. A change to its text makes a new version with fresh evidence,
    back in draft; older versions stay as they were."""

    __tablename__ = "arms"
    __table_args__ = (UniqueConstraint("experiment", "key", "version"),)

    id: int | None = Field(default=None, primary_key=True)
    experiment: str = Field(foreign_key="experiments.name", max_length=100, index=True)
    key: str = Field(max_length=100)
    version: int
    content_hash: str = Field(max_length=64)
    instructions: str = Field(default="", sa_column=Column(Text, nullable=False))
    show_prices: list[str] = Field(default_factory=list, sa_column=Column(JSON))
    price_floor: str | None = Field(default=None, max_length=32)  # a Decimal, as text
    price_ceiling: str | None = Field(default=None, max_length=32)
    weight: float = 1.0
    autonomy: str = Field(default="draft", max_length=16)  # draft | autopilot
    current: bool = True
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


class Assignment(SQLModel, table=True):
    """A contact's arm in an experiment: sticky across conversations, so a returning
    customer is never quoted a different price; it follows the arm to new versions."""

    __tablename__ = "assignments"
    __table_args__ = (UniqueConstraint("contact_id", "experiment"),)

    id: int | None = Field(default=None, primary_key=True)
    contact_id: int = Field(foreign_key="contacts.id", sa_type=BigInteger, index=True)
    experiment: str = Field(foreign_key="experiments.name", max_length=100)
    arm_key: str = Field(max_length=100)
    arm_id: int = Field(foreign_key="arms.id")  # the version current when assigned
    probability: float  # of the arm chosen, for reweighting
    assigned_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


class ImportProgress(SQLModel, table=True):
    """How far ``chatwoot import`` got in one conversation, so a re-run continues there.

    Keyed like conversations, on (account, display id), without a foreign key: the cursor
    of a conversation skipped for a forgotten contact points at no stored row. It holds no
    personal data, so it survives ``contact forget`` and still marks the conversation as
    imported for the human-only baseline.
    """

    __tablename__ = "import_progress"

    account_id: int = Field(primary_key=True, sa_type=BigInteger)
    display_id: int = Field(primary_key=True, sa_type=BigInteger)
    # Chatwoot's id of the newest message fetched; the next page asks for ``after`` it.
    newest_message_id: int | None = Field(default=None, sa_type=BigInteger)
    # Chatwoot's updated_at when the conversation was last imported to its end: while it is
    # unchanged, a re-run fetches nothing for this conversation.
    chatwoot_updated_at: float | None = None
    completed_at: datetime | None = _ts()
    updated_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


class ForgottenContact(SQLModel, table=True):
    """A contact forgotten on request (``contact forget``): the audit record, and the
    tombstone that stops ``chatwoot import`` from bringing back what came before it."""

    __tablename__ = "forgotten_contacts"

    id: int | None = Field(default=None, primary_key=True)
    # Chatwoot's contact id; no foreign key, since a contact may be forgotten before any of
    # their data reached Wingman (the import must still skip it).
    contact_id: int = Field(sa_type=BigInteger, index=True)
    actor: str = Field(max_length=100)
    forgotten_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    # What was removed, as counts only.
    conversations: int = 0
    messages_deleted: int = 0
    deliveries_scrubbed: int = 0
