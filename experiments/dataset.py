"""The rows an experiment report reads, loaded once (``load``), so the maths stays pure.

Only the columns the numbers need are read: no draft text, no message content.
``experiments.analytics`` documents what is counted and how.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any

from sqlalchemy import func
from sqlalchemy import select as sa_select
from sqlalchemy.sql import Select
from sqlmodel import Session, col, select

from core.models import Arm, Conversation, Draft, Handoff, Message
from experiments.outcomes import Outcome, outcome


class FilterError(ValueError):
    """A report filter can't be applied: ``name`` is the filter, ``problem`` says why."""

    def __init__(self, name: str, problem: str) -> None:
        super().__init__(f"{name}: {problem}")
        self.name = name
        self.problem = problem


@dataclass(frozen=True)
class Filters:
    """Which conversations to report on: see ``experiments.analytics`` for their meaning."""

    since: datetime | None = None
    until: datetime | None = None
    inbox_id: int | None = None
    experiment: str | None = None

    def __post_init__(self) -> None:
        for name in ("since", "until"):
            value = getattr(self, name)
            if value is not None and value.tzinfo is None:
                raise FilterError(name, f"a timezone-aware datetime is needed, not {value!r}")
        if self.since is not None and self.until is not None and self.since >= self.until:
            raise FilterError("until", f"must be after since ({self.since.isoformat()})")


@dataclass(frozen=True)
class Usage:
    """Tokens by kind; the names are the drafts table's and ``core.pricing.cost``'s, except
    ``thinking_tokens``: the part of ``output_tokens`` spent thinking, never priced again."""

    input_tokens: int = 0
    output_tokens: int = 0
    cache_write_5m_tokens: int = 0
    cache_write_1h_tokens: int = 0
    cache_read_input_tokens: int = 0
    thinking_tokens: int = 0

    def __add__(self, other: Usage) -> Usage:
        return Usage(*(getattr(self, f.name) + getattr(other, f.name) for f in fields(self)))

    @property
    def cache_read_share(self) -> float | None:
        """Cache reads / every prompt token (input, cache reads, both kinds of cache write)."""
        prompt = (
            self.input_tokens
            + self.cache_read_input_tokens
            + self.cache_write_5m_tokens
            + self.cache_write_1h_tokens
        )
        return self.cache_read_input_tokens / prompt if prompt else None

    @property
    def thinking_share(self) -> float | None:
        """Thinking / output tokens: how much of what Claude wrote (and was paid) it thought."""
        return self.thinking_tokens / self.output_tokens if self.output_tokens else None


@dataclass(frozen=True)
class ArmRef:
    id: int
    experiment: str
    key: str
    version: int


@dataclass(frozen=True)
class ConversationRow:
    id: int
    contact_id: int | None
    inbox_id: int | None
    outcome: Outcome


@dataclass(frozen=True)
class DraftRow:
    id: int
    conversation_id: int
    arm_id: int | None
    state: str
    created_at: datetime
    edit_distance: float | None = None
    decided_by: int | None = None
    last_customer_message_at: datetime | None = None
    ready_at: datetime | None = None
    decided_at: datetime | None = None
    sent_at: datetime | None = None
    usage: Usage = Usage()
    guardrails_checked: bool = False
    failed_checks: tuple[str, ...] = ()


@dataclass(frozen=True)
class MessageRow:
    id: int
    conversation_id: int
    sender_kind: str
    private: bool
    created_at: datetime


@dataclass(frozen=True)
class HandoffRow:
    conversation_id: int
    reason: str


@dataclass(frozen=True)
class Dataset:
    """Everything a report needs. ``filters.experiment`` is applied on attribution, in
    ``experiments.analytics.build``; the others are already applied by ``load``."""

    arms: Sequence[ArmRef] = ()
    conversations: Sequence[ConversationRow] = ()
    drafts: Sequence[DraftRow] = ()
    messages: Sequence[MessageRow] = ()
    handoffs: Sequence[HandoffRow] = ()
    filters: Filters = Filters()


_DRAFT_COLUMNS = (
    "id",
    "conversation_id",
    "arm_id",
    "state",
    "created_at",
    "edit_distance",
    "decided_by",
    "last_customer_message_at",
    "ready_at",
    "decided_at",
    "sent_at",
)
_USAGE_COLUMNS = tuple(f.name for f in fields(Usage))


def load(session: Session, filters: Filters | None = None) -> Dataset:
    """The rows for a report, in five queries.

    Raises FilterError when ``filters.experiment`` names an experiment with no arms.
    """
    filters = filters or Filters()
    arms = [
        ArmRef(id=arm_id, experiment=experiment, key=key, version=version)
        for arm_id, experiment, key, version in session.exec(
            select(col(Arm.id), Arm.experiment, Arm.key, Arm.version).order_by(col(Arm.id))
        )
        if arm_id is not None
    ]
    known = sorted({arm.experiment for arm in arms})
    if filters.experiment is not None and filters.experiment not in known:
        raise FilterError(
            "experiment",
            f"no arms for {filters.experiment!r}; "
            f"known: {', '.join(known) or 'none (run: flask --app bot experiments sync)'}",
        )
    scope = _scope(filters)
    conversations = [
        ConversationRow(c.id, c.contact_id, c.inbox_id, outcome(c))
        for c in session.exec(
            select(Conversation)
            .where(col(Conversation.id).in_(scope))
            .order_by(col(Conversation.id))
        )
        if c.id is not None
    ]
    # Plain SQLAlchemy for the column queries: SQLModel's select() types four columns at most.
    connection = session.connection()
    names = (*_DRAFT_COLUMNS, *_USAGE_COLUMNS, "guardrails")
    draft_query = (
        sa_select(*(col(getattr(Draft, name)) for name in names))
        .where(col(Draft.conversation_id).in_(scope))
        # Follow-ups to dormant leads answer nobody: their own report is re-activation's.
        .where(col(Draft.follow_up_id).is_(None))
        .order_by(col(Draft.created_at), col(Draft.id))
    )
    drafts = [_draft(row._mapping) for row in connection.execute(draft_query)]
    message_query = (
        sa_select(
            col(Message.id),
            col(Message.conversation_id),
            col(Message.sender_kind),
            col(Message.private),
            col(Message.created_at),
        )
        # Only who spoke, and when, matters here: reply rate needs customer and bot messages.
        .where(col(Message.sender_kind).in_(("customer", "bot")))
        .where(col(Message.conversation_id).in_(scope))
        .order_by(col(Message.created_at), col(Message.id))
    )
    messages = [MessageRow(*row) for row in connection.execute(message_query)]
    handoff_query = select(Handoff.conversation_id, Handoff.reason).where(
        col(Handoff.conversation_id).in_(scope)
    )
    handoffs = [HandoffRow(*row) for row in connection.execute(handoff_query)]
    return Dataset(arms, conversations, drafts, messages, handoffs, filters)


def _scope(filters: Filters) -> Select[Any]:
    """Ids of the conversations in the report, as a subquery every other query reuses."""
    first_draft = func.min(Draft.created_at)
    query: Select[Any] = select(col(Draft.conversation_id)).group_by(col(Draft.conversation_id))
    if filters.since is not None:
        query = query.having(first_draft >= filters.since)
    if filters.until is not None:
        query = query.having(first_draft < filters.until)
    if filters.inbox_id is not None:
        query = query.join(Conversation, col(Conversation.id) == col(Draft.conversation_id)).where(
            col(Conversation.inbox_id) == filters.inbox_id
        )
    return query


def _draft(row: Any) -> DraftRow:
    guardrails = row["guardrails"] if isinstance(row["guardrails"], dict) else {}
    failed = guardrails.get("failed") or []
    return DraftRow(
        **{name: row[name] for name in _DRAFT_COLUMNS},
        usage=Usage(**{name: int(row[name] or 0) for name in _USAGE_COLUMNS}),
        guardrails_checked="passed" in guardrails,
        failed_checks=tuple(str(name) for name in failed),
    )
