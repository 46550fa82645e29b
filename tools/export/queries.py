"""The SQL behind an export: one query per shape, a count for the progress bar, and a
streaming read from one snapshot that blocks no writer."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, case, create_engine, event, func, not_, select
from sqlalchemy.engine import Connection, Engine, Row
from sqlmodel import SQLModel

from core import models  # noqa: F401 - registers the tables in SQLModel.metadata
from core.models import DRAFT_STATES
from tools.export.columns import SENDER_KINDS, YIELD_PER

_tables = SQLModel.metadata.tables
messages, conversations, inboxes = _tables["messages"], _tables["conversations"], _tables["inboxes"]
drafts, outbox, arms = _tables["drafts"], _tables["outbox"], _tables["arms"]
follow_ups, leads = _tables["follow_ups"], _tables["leads"]


@dataclass(frozen=True)
class Filters:
    """``since`` is inclusive and ``until`` exclusive, both aware UTC; ``inboxes`` empty: all."""

    since: datetime | None = None
    until: datetime | None = None
    inboxes: tuple[int, ...] = ()


def _window(column: Any, filters: Filters) -> list[Any]:
    clauses = []
    if filters.since is not None:
        clauses.append(column >= filters.since)
    if filters.until is not None:
        clauses.append(column < filters.until)
    if filters.inboxes:
        clauses.append(conversations.c.inbox_id.in_(filters.inboxes))
    return clauses


def _arm_columns() -> list[Any]:
    return [arms.c.experiment.label("arm_experiment"), arms.c.key.label("arm_key"), arms.c.version]


def message_query(filters: Filters) -> Select[Any]:
    # Grouped so that a message is one row even if two outbox items claimed its id.
    posted = (
        select(
            outbox.c.chatwoot_message_id.label("message_id"),
            func.min(outbox.c.draft_id).label("draft_id"),
        )
        .where(outbox.c.chatwoot_message_id.is_not(None), outbox.c.draft_id.is_not(None))
        .group_by(outbox.c.chatwoot_message_id)
        .subquery("posted")
    )
    return (
        select(
            messages.c.id,
            messages.c.conversation_id,
            conversations.c.display_id,
            conversations.c.account_id,
            func.coalesce(conversations.c.inbox_id, messages.c.inbox_id).label("inbox_id"),
            func.coalesce(conversations.c.channel, inboxes.c.channel).label("channel"),
            conversations.c.contact_id,
            conversations.c.status,
            conversations.c.labels,
            conversations.c.custom_attributes,
            messages.c.message_type,
            messages.c.sender_kind,
            messages.c.private,
            messages.c.content,
            messages.c.attachments,
            messages.c.created_at,
            messages.c.received_at,
            messages.c.origin,
            messages.c.deleted,
            drafts.c.id.label("draft_id"),
            drafts.c.state.label("draft_state"),
            drafts.c.edit_distance,
            *_arm_columns(),
            follow_ups.c.step.label("follow_up_step"),
            leads.c.group.label("lead_group"),
        )
        .select_from(
            messages.join(conversations, conversations.c.id == messages.c.conversation_id)
            .outerjoin(inboxes, inboxes.c.id == conversations.c.inbox_id)
            .outerjoin(posted, posted.c.message_id == messages.c.id)
            .outerjoin(drafts, drafts.c.id == posted.c.draft_id)
            .outerjoin(arms, arms.c.id == drafts.c.arm_id)
            .outerjoin(follow_ups, follow_ups.c.id == drafts.c.follow_up_id)
            .outerjoin(leads, leads.c.conversation_id == conversations.c.id)
        )
        .where(*_window(messages.c.created_at, filters))
        .order_by(messages.c.conversation_id, messages.c.created_at, messages.c.id)
    )


def _count_where(column: Any, value: str) -> Any:
    return func.coalesce(func.sum(case((column == value, 1), else_=0)), 0)


def conversation_query(filters: Filters) -> Select[Any]:
    stats = (
        select(
            messages.c.conversation_id,
            func.min(messages.c.created_at).label("first_message_at"),
            func.max(messages.c.created_at).label("last_message_at"),
            func.min(case((messages.c.sender_kind == "customer", messages.c.created_at))).label(
                "first_customer_message_at"
            ),
            func.count().label("messages"),
            *(_count_where(messages.c.sender_kind, k).label(f"messages_{k}") for k in SENDER_KINDS),
        )
        .group_by(messages.c.conversation_id)
        .cte("stats")
    )
    reply = messages.alias("reply")
    replies = (
        select(reply.c.conversation_id, func.min(reply.c.created_at).label("first_reply_at"))
        .join(stats, stats.c.conversation_id == reply.c.conversation_id)
        .where(
            reply.c.sender_kind.in_(("bot", "human")),
            reply.c.message_type.in_(("outgoing", "template")),
            not_(reply.c.private),
            reply.c.created_at >= stats.c.first_customer_message_at,
        )
        .group_by(reply.c.conversation_id)
        .subquery("replies")
    )
    usage = (
        "input_tokens",
        "output_tokens",
        "cache_write_5m_tokens",
        "cache_write_1h_tokens",
        "cache_read_input_tokens",
        "thinking_tokens",
    )
    written = (
        select(
            drafts.c.conversation_id,
            func.count().label("drafts"),
            *(_count_where(drafts.c.state, s).label(f"drafts_{s}") for s in DRAFT_STATES),
            *(func.sum(drafts.c[u]).label(u) for u in usage),
            # Arm ids grow with versions, so this is the newest version that wrote here.
            func.max(drafts.c.arm_id).label("arm_id"),
        )
        .group_by(drafts.c.conversation_id)
        .subquery("written")
    )
    followed = (
        select(
            follow_ups.c.conversation_id,
            _count_where(follow_ups.c.state, "sent").label("follow_ups_sent"),
        )
        .group_by(follow_ups.c.conversation_id)
        .subquery("followed")
    )
    return (
        select(
            conversations.c.id,
            conversations.c.display_id,
            conversations.c.account_id,
            conversations.c.inbox_id,
            func.coalesce(conversations.c.channel, inboxes.c.channel).label("channel"),
            conversations.c.contact_id,
            conversations.c.status,
            conversations.c.labels,
            conversations.c.custom_attributes,
            *(c for c in stats.c if c.name != "conversation_id"),
            replies.c.first_reply_at,
            *(c for c in written.c if c.name not in ("conversation_id", "arm_id")),
            *_arm_columns(),
            leads.c.group.label("lead_group"),
            followed.c.follow_ups_sent,
        )
        .select_from(
            conversations.join(stats, stats.c.conversation_id == conversations.c.id)
            .outerjoin(inboxes, inboxes.c.id == conversations.c.inbox_id)
            .outerjoin(replies, replies.c.conversation_id == conversations.c.id)
            .outerjoin(written, written.c.conversation_id == conversations.c.id)
            .outerjoin(arms, arms.c.id == written.c.arm_id)
            .outerjoin(leads, leads.c.conversation_id == conversations.c.id)
            .outerjoin(followed, followed.c.conversation_id == conversations.c.id)
        )
        .where(*_window(stats.c.first_message_at, filters))
        .order_by(conversations.c.id)
    )


def count(connection: Connection, query: Select[Any]) -> int:
    """How many rows ``query`` yields: one COUNT, for the progress bar's total."""
    counted = select(func.count()).select_from(query.order_by(None).subquery())
    return int(connection.execute(counted).scalar_one())


def stream(
    connection: Connection, query: Select[Any], yield_per: int = YIELD_PER
) -> Iterator[Row[Any]]:
    """Rows from a server-side cursor (a named cursor on PostgreSQL), ``yield_per`` at a time."""
    result = connection.execution_options(stream_results=True, yield_per=yield_per).execute(query)
    with result:
        yield from result


@contextmanager
def reading(engine: Engine) -> Iterator[Connection]:
    """A connection whose one snapshot covers the count and the rows, blocking no writer.

    core.db opens every SQLite transaction with BEGIN IMMEDIATE, which takes the write lock:
    held for a whole export it would stall the webhook past Chatwoot's 5 s. A plain BEGIN
    reads a WAL snapshot instead, so SQLite exports go through an engine of their own.
    """
    if engine.dialect.name != "sqlite" or engine.url.database in (None, "", ":memory:"):
        with engine.connect() as connection:
            if engine.dialect.name == "postgresql":
                connection.execution_options(isolation_level="REPEATABLE READ")
                # PostgreSQL plans a cursor for its first 10% of rows by default, and then
                # picks nested loops that take hours over a million messages; we read all.
                connection.exec_driver_sql("SET LOCAL cursor_tuple_fraction = 1")
            yield connection
        return
    reader = create_engine(engine.url, connect_args={"timeout": 30})

    @event.listens_for(reader, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # pysqlite's own BEGIN handling, off

    @event.listens_for(reader, "begin")
    def _on_begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN")

    try:
        with reader.connect() as connection:
            yield connection
    finally:
        reader.dispose()
