"""History import: ``flask --app bot chatwoot import --since DATE``.

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
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TextIO

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import and_
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from bot.forget import anonymous_attributes, forgotten_since
from chatwoot.errors import ChatwootError
from chatwoot.events import AccountData, Event, MessageData
from chatwoot.history import (
    DEFAULT_PER_MINUTE,
    MESSAGES_PER_PAGE,
    HistoryClient,
    HistoryConversation,
    HistoryReader,
    RateLimiter,
)
from core.db import session_scope
from core.models import Conversation, Draft, ImportProgress
from core.settings import Settings
from core.store import apply_event, upsert_message
from experiments.outcomes import outcome
from workers.services import Services

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


class ProgressBar:
    """``[######------]  30/57 conversations, 1234 messages`` on stderr: redrawn in place
    on a terminal, a line per page of conversations otherwise (logs stay readable)."""

    def __init__(self, stream: TextIO, *, width: int = 30, in_place: bool | None = None) -> None:
        self.stream, self.width = stream, width
        self.in_place = stream.isatty() if in_place is None else in_place
        self._last: ImportStats | None = None
        self._printed = -1

    def __call__(self, stats: ImportStats) -> None:
        self._last = stats
        if self.in_place:
            self.stream.write("\r" + self._line(stats))
            self.stream.flush()
        elif stats.listed // 25 > self._printed:
            self._printed = stats.listed // 25
            self.stream.write(self._line(stats) + "\n")

    def close(self) -> None:
        if self._last is None:
            return
        self.stream.write(("\r" if self.in_place else "") + self._line(self._last) + "\n")
        self.stream.flush()

    def _line(self, stats: ImportStats) -> str:
        total = max(stats.total, 1)
        filled = self.width * min(stats.listed, total) // total
        bar = "#" * filled + "-" * (self.width - filled)
        return f"[{bar}] {stats.listed}/{stats.total} conversations, {stats.messages} messages"


# --- the command ------------------------------------------------------------------------


@click.group("chatwoot", cls=AppGroup)
def chatwoot_group() -> None:
    """Chatwoot history (needs an admin's CHATWOOT_USER_TOKEN)."""


@chatwoot_group.command("import")
@click.option(
    "--since",
    required=True,
    type=click.DateTime(formats=["%Y-%m-%d", "%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S"]),
    help="Import conversations active on or after this date (UTC), whole.",
)
@click.option("--inbox", "inbox_id", type=click.IntRange(min=1), help="Only this inbox.")
@click.option(
    "--per-minute",
    type=click.IntRange(1, 3000),
    default=DEFAULT_PER_MINUTE,
    show_default=True,
    help="Requests per minute; Chatwoot allows 3000 per IP, shared with the live bot.",
)
@click.option("--restart", is_flag=True, help="Ignore saved progress and fetch everything again.")
@click.option(
    "--account",
    "account_id",
    type=click.IntRange(min=1),
    help="The Chatwoot account to import (default: the one in CHATWOOT_ACCOUNT_IDS).",
)
def import_command(
    since: datetime, inbox_id: int | None, per_minute: int, restart: bool, account_id: int | None
) -> None:
    """Import conversations and messages from Chatwoot; run it again to continue."""
    services: Services = current_app.extensions["wingman"]
    client = _client(services.settings, account_id)
    reader = HistoryReader(client, limiter=RateLimiter(per_minute))
    bar = ProgressBar(sys.stderr)
    try:
        stats = import_history(
            services.engine,
            reader,
            since=since.replace(tzinfo=UTC),
            clock=services.now,
            inbox_id=inbox_id,
            restart=restart,
            progress=bar,
        )
    except ChatwootError as exc:
        raise click.ClickException(
            f"{exc}\nEverything stored so far is kept: run the same command again to continue."
        ) from None
    finally:
        bar.close()  # end the bar's line before any error message
    click.echo(
        f"imported {stats.messages} message(s) from {stats.fetched} conversation(s); "
        f"{stats.unchanged} unchanged since the last import, {stats.older} last active "
        f"before {since:%Y-%m-%d}, {stats.forgotten} of forgotten contacts skipped "
        f"({reader.requests} requests)"
    )


def _client(settings: Settings, account_id: int | None) -> HistoryClient:
    missing = [
        name
        for name, value in (
            ("CHATWOOT_URL", settings.chatwoot_url),
            ("CHATWOOT_USER_TOKEN", settings.chatwoot_user_token),
        )
        if not value
    ]
    if missing:
        raise click.ClickException(
            f"{', '.join(missing)} not set. Importing history needs an admin's access token "
            "as CHATWOOT_USER_TOKEN (Chatwoot: Profile Settings → Access Token): a bot token "
            "cannot list conversations or messages."
        )
    served = settings.chatwoot_account_ids
    if account_id is None and len(served) == 1:
        account_id = served[0]
    if account_id is None:
        raise click.ClickException(
            "Which account? Pass --account ID (the number in your Chatwoot URLs, "
            "/app/accounts/<id>/...), or set CHATWOOT_ACCOUNT_IDS to that one account."
        )
    if not settings.serves(account_id):
        raise click.ClickException(
            f"account {account_id} is not in CHATWOOT_ACCOUNT_IDS ({', '.join(map(str, served))})"
        )
    assert settings.chatwoot_url and settings.chatwoot_user_token
    return HistoryClient(
        settings.chatwoot_url,
        account_id,
        settings.chatwoot_user_token,
        timeout=settings.chatwoot_timeout_seconds,
    )
