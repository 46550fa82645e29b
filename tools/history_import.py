"""History import (``flask --app bot chatwoot import --since DATE``).

Brings an account's conversations and messages into Wingman, stored by the same upserts
as webhook data (messages with origin "import", which the reply sweeper never rescues), so
exports, a returning customer's history and the human-only baseline can use them.

Resumable: each page of messages is committed together with the conversation's cursor
(the newest message id fetched), so a re-run continues after the last stored page. A
conversation imported to its end is not fetched again until Chatwoot's ``updated_at`` for
it changes. The listing itself is re-read from page 1, at one request per 25
conversations, because pages shift while a conversation gets busy; the upserts make a
conversation seen twice harmless.

Nothing is enqueued: the bot never replies to history.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from chatwoot.event_data import AccountData, Event, MessageData
from chatwoot.history import (
    MESSAGES_PER_PAGE,
    HistoryConversation,
    HistoryReader,
)
from core.db import session_scope
from core.models import Conversation, Draft, ImportProgress
from core.upserts import apply_event, upsert_message
from experiments.outcomes import outcome
from tools.forget import anonymous_attributes, forgotten_since

Clock = Callable[[], datetime]


@dataclass
class ImportStats:
    total: int = 0  # conversations Chatwoot lists (its all_count)
    listed: int = 0  # of those, seen so far
    fetched: int = 0  # conversations whose messages were fetched (wholly or the new ones)
    unchanged: int = 0  # imported to the end before and unchanged since
    older: int = 0  # last active before --since
    forgotten: int = 0  # a forgotten contact's, with nothing from after the forget
    messages: int = 0  # messages stored by this run


Progress = Callable[[ImportStats], None]


def import_history(
    engine: Engine,
    reader: HistoryReader,
    *,
    since: datetime,
    clock: Clock,
    inbox_id: int | None = None,
    restart: bool = False,
    progress: Progress | None = None,
) -> ImportStats:
    """Import every conversation last active at or after ``since``, with all its messages.

    ``restart`` ignores saved cursors and fetches everything again. ``progress`` is called
    after every stored page and every conversation.
    """
    stats = ImportStats()
    report = progress or (lambda _stats: None)
    seen: set[int] = set()
    page = 1
    while True:
        listing = reader.conversation_page(page, inbox_id=inbox_id)
        if not listing.conversations:
            return stats
        stats.total = max(listing.all_count, stats.total)
        for item in listing.conversations:
            if item.display_id in seen:
                continue  # moved to a later page while we read (more activity)
            seen.add(item.display_id)
            stats.listed += 1
            stats.total = max(stats.total, stats.listed)
            _import_conversation(engine, reader, item, since, clock, restart, stats, report)
            report(stats)
        page += 1


def _import_conversation(
    engine: Engine,
    reader: HistoryReader,
    item: HistoryConversation,
    since: datetime,
    clock: Clock,
    restart: bool,
    stats: ImportStats,
    report: Progress,
) -> None:
    conversation = item.conversation
    active = item.last_activity_at or conversation.created_at
    if active is None or active < since:
        stats.older += 1
        return
    key = (conversation.account_id, conversation.display_id)
    with session_scope(engine) as session:
        cursor = session.get(ImportProgress, key)
        done_at = cursor.chatwoot_updated_at if cursor and cursor.completed_at else None
        after = 0 if cursor is None or restart else cursor.newest_message_id or 0
        contact = conversation.contact
        forgotten = forgotten_since(session, contact.id) if contact else None
    if not restart and done_at is not None and done_at == conversation.updated_at:
        stats.unchanged += 1
        return
    # A forgotten contact's conversation from before the forget may still hold something
    # newer (they wrote again); only that is stored.
    old = forgotten is not None and (conversation.created_at or active) < forgotten
    if old and forgotten is not None and active < forgotten:
        stats.forgotten += 1
        return
    while True:
        messages = reader.messages_after(conversation.display_id, after)
        kept = [m for m in messages if forgotten is None or m.created_at >= forgotten]
        with session_scope(engine) as session:
            if kept or not old:
                _store(session, item, kept, now=clock(), anonymous=old)
            after = max([after, *(m.id for m in messages)])
            _save_cursor(session, key, after, now=clock())
        stats.messages += len(kept)
        report(stats)
        if len(messages) < MESSAGES_PER_PAGE:
            break
    with session_scope(engine) as session:
        _save_cursor(session, key, after, now=clock(), updated_at=conversation.updated_at)
    stats.fetched += 1


def _store(
    session: Session,
    item: HistoryConversation,
    messages: list[MessageData],
    *,
    now: datetime,
    anonymous: bool = False,
) -> None:
    data = item.conversation
    if anonymous:
        # Chatwoot still holds what was set before the forget; it stays forgotten here.
        attributes = anonymous_attributes(data.custom_attributes)
        data = dataclasses.replace(data, custom_attributes=attributes)
    event = Event(
        "conversation_updated", AccountData(data.account_id), item.inbox, data, None, data.contact
    )
    apply_event(session, event, now=now, origin="import")
    row = session.exec(
        select(Conversation).where(
            Conversation.account_id == data.account_id, Conversation.display_id == data.display_id
        )
    ).one()
    assert row.id is not None
    for message in messages:
        # Stamped as received when Chatwoot created it, so reply timing never takes old
        # history for a customer who just wrote.
        received = min(now, message.created_at)
        upsert_message(session, message, conversation_pk=row.id, origin="import", now=received)


def _save_cursor(
    session: Session,
    key: tuple[int, int],
    newest: int,
    *,
    now: datetime,
    updated_at: float | None = None,
) -> None:
    cursor = session.get(ImportProgress, key, with_for_update=True)
    if cursor is None:
        cursor = ImportProgress(account_id=key[0], display_id=key[1], updated_at=now)
        session.add(cursor)
    cursor.newest_message_id = newest or None
    cursor.updated_at = now
    if updated_at is not None:
        cursor.completed_at, cursor.chatwoot_updated_at = now, updated_at


def baseline(session: Session, since: datetime, until: datetime) -> tuple[int, int]:
    """The human-only baseline: (conversations, converted) among imported conversations
    created in [since, until) for which the bot never wrote a draft.

    Counted like an arm's trials (``experiments.enrolment.arm_stats``): only conversations
    with a known outcome (sold, or resolved without a sale), so the rates compare.
    """
    drafted = select(Draft.conversation_id)
    rows = session.exec(
        select(Conversation)
        .join(
            ImportProgress,
            and_(
                col(ImportProgress.account_id) == col(Conversation.account_id),
                col(ImportProgress.display_id) == col(Conversation.display_id),
            ),
        )
        .where(
            col(Conversation.chatwoot_created_at) >= since,
            col(Conversation.chatwoot_created_at) < until,
            col(Conversation.id).not_in(drafted),
        )
    )
    known = [result for result in map(outcome, rows) if result.known]
    return len(known), sum(result.converted for result in known)
