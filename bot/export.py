"""Export stored conversations for analysts: ``flask --app bot export``.

One row per message (``--per message``, the default) or per conversation (``--per
conversation``), as JSON Lines or CSV. Rows stream from a server-side cursor, so memory stays
flat however large the export; the file appears at ``--out`` only once it is complete
(``--out -``, stdout, cannot promise that).

Values are the same in both formats: timestamps are ISO 8601 UTC (``2026-06-18T09:13:58+00:00``),
money is a number of dollars (or the deal's currency), and a missing value is ``null`` in JSON
and empty in CSV; CSV writes booleans as ``true``/``false``.

Message rows (``--per message``), ordered by conversation, then time:

- ``message_id``: Chatwoot's message id.
- ``conversation_id``: Wingman's conversation id, the key shared with ``--per conversation``.
- ``conversation_display_id``, ``account_id``: the conversation's number in Chatwoot's URLs,
  which is only unique within its account.
- ``inbox_id``, ``channel``: e.g. ``Channel::WebWidget``, ``Channel::Whatsapp``.
- ``contact_id``: the customer's Chatwoot contact id; with ``--pseudonymize``, 16 hex digits
  of HMAC-SHA256 keyed by ``EXPORT_PSEUDONYM_KEY``, the same in every export with that key.
- ``direction``: ``inbound`` (from the customer), ``outbound`` (a public reply) or
  ``internal`` (a private note or an activity message: the customer never saw it).
- ``sender_kind``: ``customer``, ``bot``, ``human`` or ``system``.
- ``message_type``: Chatwoot's ``incoming``, ``outgoing``, ``template`` or ``activity``.
- ``private``: a private note.
- ``content``: the text; null for an attachment-only message.
- ``attachments``: how many files came with it.
- ``created_at``: when Chatwoot created it. ``--since``/``--until`` filter on this.
- ``received_at``: when Wingman stored it.
- ``origin``: ``webhook`` (arrived live) or ``import`` (history import).
- ``deleted``: deleted in Chatwoot since.
- ``draft_id``, ``draft_state``, ``edit_distance``: the Wingman draft this message was posted
  from (its outbox item recorded this message's id), that draft's state and the rep's
  normalised edit distance; null for messages that didn't come from a draft.
- ``arm``: the experiment arm that wrote that draft, ``experiment/key@vN``.
- ``outcome``: the conversation's ``converted``, ``lost`` or ``open`` (experiments/outcomes.py).
- ``deal_value``: the conversation's deal value when converted.

Conversation rows (``--per conversation``), for conversations whose first stored message falls
in the ``--since``/``--until`` window, ordered by ``conversation_id``; every count covers the
whole conversation:

- ``conversation_id``, ``conversation_display_id``, ``account_id``, ``inbox_id``,
  ``channel``, ``contact_id``: as above.
- ``status``: Chatwoot's ``open``, ``pending``, ``resolved`` or ``snoozed``.
- ``first_message_at``, ``last_message_at``: its first and last stored message.
- ``first_customer_message_at``: the customer's first message.
- ``first_reply_at``: the first public reply (bot or human) after that.
- ``time_to_first_reply_seconds``: between the two; null without both.
- ``messages``, ``messages_customer``, ``messages_bot``, ``messages_human``,
  ``messages_system``: messages, in all and by sender kind.
- ``drafts`` and ``drafts_<state>`` for each of pending, sent, edited, skipped, superseded,
  replaced, discarded, expired, failed, undelivered: Wingman's drafts, in all and by state.
- ``arm``: the arm that wrote its drafts (the newest version if it changed mid-conversation).
- ``outcome``, ``deal_value``: as above.
- ``cost_usd``: Claude's cost of all its drafts, from their recorded usage and
  ``CLAUDE_PRICES_PER_MTOK`` (failed drafts included: a reply cut short is billed).
- ``thinking_tokens``: the output tokens Claude spent thinking, over all its drafts;
  ``cost_thinking_usd``: their cost at the output price, a part of ``cost_usd`` (already in
  it: don't add it again).
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import json
import os
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any, TextIO

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import Select, case, create_engine, event, func, not_, select
from sqlalchemy.engine import Connection, Engine, Row
from sqlmodel import SQLModel

from core import models  # noqa: F401 - registers the tables in SQLModel.metadata
from core.models import DRAFT_STATES, Conversation
from core.pricing import cost
from core.settings import Prices
from experiments.outcomes import DEFAULT_VALUE_ATTRIBUTE, outcome
from workers.services import Services

FORMATS = ("jsonl", "csv")
PER = ("message", "conversation")
SENDER_KINDS = ("customer", "bot", "human", "system")
PSEUDONYM_HEX_DIGITS = 16  # 64 bits: no collision expected below billions of contacts
YIELD_PER = 2000

MESSAGE_COLUMNS = (
    "message_id",
    "conversation_id",
    "conversation_display_id",
    "account_id",
    "inbox_id",
    "channel",
    "contact_id",
    "direction",
    "sender_kind",
    "message_type",
    "private",
    "content",
    "attachments",
    "created_at",
    "received_at",
    "origin",
    "deleted",
    "draft_id",
    "draft_state",
    "edit_distance",
    "arm",
    "outcome",
    "deal_value",
)
CONVERSATION_COLUMNS = (
    "conversation_id",
    "conversation_display_id",
    "account_id",
    "inbox_id",
    "channel",
    "contact_id",
    "status",
    "first_message_at",
    "last_message_at",
    "first_customer_message_at",
    "first_reply_at",
    "time_to_first_reply_seconds",
    "messages",
    *(f"messages_{kind}" for kind in SENDER_KINDS),
    "drafts",
    *(f"drafts_{state}" for state in DRAFT_STATES),
    "arm",
    "outcome",
    "deal_value",
    "cost_usd",
    "thinking_tokens",
    "cost_thinking_usd",
)

_tables = SQLModel.metadata.tables
messages, conversations, inboxes = _tables["messages"], _tables["conversations"], _tables["inboxes"]
drafts, outbox, arms = _tables["drafts"], _tables["outbox"], _tables["arms"]


@dataclass(frozen=True)
class Filters:
    """``since`` is inclusive and ``until`` exclusive, both aware UTC; ``inboxes`` empty: all."""

    since: datetime | None = None
    until: datetime | None = None
    inboxes: tuple[int, ...] = ()


# --- queries -------------------------------------------------------------------------------


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
        )
        .select_from(
            messages.join(conversations, conversations.c.id == messages.c.conversation_id)
            .outerjoin(inboxes, inboxes.c.id == conversations.c.inbox_id)
            .outerjoin(posted, posted.c.message_id == messages.c.id)
            .outerjoin(drafts, drafts.c.id == posted.c.draft_id)
            .outerjoin(arms, arms.c.id == drafts.c.arm_id)
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
        )
        .select_from(
            conversations.join(stats, stats.c.conversation_id == conversations.c.id)
            .outerjoin(inboxes, inboxes.c.id == conversations.c.inbox_id)
            .outerjoin(replies, replies.c.conversation_id == conversations.c.id)
            .outerjoin(written, written.c.conversation_id == conversations.c.id)
            .outerjoin(arms, arms.c.id == written.c.arm_id)
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


# --- rows ----------------------------------------------------------------------------------


def pseudonymizer(key: str) -> Callable[[int | None], str | None]:
    """Contact id to a keyed hash: stable for one key, not reversible without it."""
    secret = key.encode()

    def pseudonym(contact_id: int | None) -> str | None:
        if contact_id is None:
            return None
        digest = hmac.new(secret, str(contact_id).encode(), hashlib.sha256).hexdigest()
        return digest[:PSEUDONYM_HEX_DIGITS]

    return pseudonym


def _same(contact_id: int | None) -> int | None:
    return contact_id


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _arm(experiment: str | None, key: str | None, version: int | None) -> str | None:
    return f"{experiment}/{key}@v{version}" if key is not None else None


def _outcome(
    labels: list[str] | None, custom_attributes: dict[str, Any] | None, status: str | None
) -> tuple[str, float | None]:
    value = (custom_attributes or {}).get(DEFAULT_VALUE_ATTRIBUTE)
    if not isinstance(value, str | int | float | bool | None):
        value = json.dumps(value)  # hashable for the cache; no more a number than before
    return _outcome_of(tuple(labels or ()), status, value)


# Building a Conversation costs 40 µs, most of a row's budget, and conversations repeat a
# handful of (labels, status, value) combinations; bounded, so memory stays flat.
@lru_cache(maxsize=4096)
def _outcome_of(
    labels: tuple[str, ...], status: str | None, value: str | float | None
) -> tuple[str, float | None]:
    conversation = Conversation(
        account_id=0,  # outcome() reads only labels, status and custom attributes
        display_id=0,
        first_seen_at=datetime.min.replace(tzinfo=UTC),
        labels=list(labels),
        custom_attributes={DEFAULT_VALUE_ATTRIBUTE: value},
        status=status,
    )
    result = outcome(conversation)
    name = "converted" if result.converted else "lost" if result.lost else "open"
    return name, float(result.value) if result.value is not None else None


def _direction(message_type: str, private: bool) -> str:
    if private or message_type == "activity":
        return "internal"
    return "inbound" if message_type == "incoming" else "outbound"


def message_rows(
    records: Iterable[Sequence[Any]], *, contact: Callable[[int | None], Any] = _same
) -> Iterator[dict[str, Any]]:
    """Rows of MESSAGE_COLUMNS from ``message_query`` records."""
    current: tuple[int | None, tuple[str, float | None]] = (None, ("open", None))
    # Unpacked by position: a Row's attribute access costs a third of a row's budget.
    for (
        message_id,
        conversation_id,
        display_id,
        account_id,
        inbox_id,
        channel,
        contact_id,
        status,
        labels,
        custom_attributes,
        message_type,
        sender_kind,
        private,
        content,
        attachments,
        created_at,
        received_at,
        origin,
        deleted,
        draft_id,
        draft_state,
        edit_distance,
        arm_experiment,
        arm_key,
        arm_version,
    ) in records:
        if current[0] != conversation_id:  # records come grouped by conversation
            current = (conversation_id, _outcome(labels, custom_attributes, status))
        result, value = current[1]
        yield {
            "message_id": message_id,
            "conversation_id": conversation_id,
            "conversation_display_id": display_id,
            "account_id": account_id,
            "inbox_id": inbox_id,
            "channel": channel,
            "contact_id": contact(contact_id),
            "direction": _direction(message_type, private),
            "sender_kind": sender_kind,
            "message_type": message_type,
            "private": bool(private),
            "content": content,
            "attachments": len(attachments or ()),
            "created_at": _iso(created_at),
            "received_at": _iso(received_at),
            "origin": origin,
            "deleted": bool(deleted),
            "draft_id": draft_id,
            "draft_state": draft_state,
            "edit_distance": edit_distance,
            "arm": _arm(arm_experiment, arm_key, arm_version),
            "outcome": result,
            "deal_value": value,
        }


def conversation_rows(
    records: Iterable[Row[Any]], *, prices: Prices, contact: Callable[[int | None], Any] = _same
) -> Iterator[dict[str, Any]]:
    """Rows of CONVERSATION_COLUMNS from ``conversation_query`` records."""
    for r in records:
        first_customer, first_reply = r.first_customer_message_at, r.first_reply_at
        waited = None
        if first_customer is not None and first_reply is not None:
            waited = (first_reply - first_customer).total_seconds()
        dollars = cost(
            prices,
            input_tokens=r.input_tokens or 0,
            output_tokens=r.output_tokens or 0,
            cache_write_5m_tokens=r.cache_write_5m_tokens or 0,
            cache_write_1h_tokens=r.cache_write_1h_tokens or 0,
            cache_read_input_tokens=r.cache_read_input_tokens or 0,
        )
        thinking = int(r.thinking_tokens or 0)
        # Thinking is billed as output, and output_tokens (in dollars above) includes it.
        thought = cost(
            prices,
            input_tokens=0,
            output_tokens=thinking,
            cache_write_5m_tokens=0,
            cache_write_1h_tokens=0,
            cache_read_input_tokens=0,
        )
        result, value = _outcome(r.labels, r.custom_attributes, r.status)
        yield {
            "conversation_id": r.id,
            "conversation_display_id": r.display_id,
            "account_id": r.account_id,
            "inbox_id": r.inbox_id,
            "channel": r.channel,
            "contact_id": contact(r.contact_id),
            "status": r.status,
            "first_message_at": _iso(r.first_message_at),
            "last_message_at": _iso(r.last_message_at),
            "first_customer_message_at": _iso(first_customer),
            "first_reply_at": _iso(first_reply),
            "time_to_first_reply_seconds": waited,
            "messages": r.messages,
            **{f"messages_{k}": int(r._mapping[f"messages_{k}"]) for k in SENDER_KINDS},
            "drafts": r.drafts or 0,
            **{f"drafts_{s}": int(r._mapping[f"drafts_{s}"] or 0) for s in DRAFT_STATES},
            "arm": _arm(r.arm_experiment, r.arm_key, r.version),
            "outcome": result,
            "deal_value": value,
            "cost_usd": round(float(dollars), 6),
            "thinking_tokens": thinking,
            "cost_thinking_usd": round(float(thought), 6),
        }


# --- output --------------------------------------------------------------------------------


class Progress:
    """A one-line progress bar, redrawn in place with ``\\r`` at most every ``interval`` s."""

    def __init__(
        self,
        stream: TextIO,
        total: int,
        *,
        unit: str = "rows",
        interval: float = 0.2,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.stream, self.total, self.unit = stream, total, unit
        self.interval, self.clock = interval, clock
        self.started = self.drawn = clock()

    def update(self, done: int) -> None:
        now = self.clock()
        if now - self.drawn >= self.interval:
            self.drawn = now
            self._draw(done, now)

    def finish(self, done: int) -> None:
        self._draw(done, self.clock())
        self.stream.write("\n")
        self.stream.flush()

    def _draw(self, done: int, now: float) -> None:
        share = done / self.total if self.total else 1.0
        filled = min(30, int(share * 30))
        rate = done / (now - self.started) if now > self.started else 0.0
        self.stream.write(
            f"\r[{'#' * filled}{'.' * (30 - filled)}] {share:4.0%} "
            f"{done:,}/{self.total:,} {self.unit}  {rate:,.0f}/s "
        )
        self.stream.flush()


def _csv_value(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return value


def _write_rows(
    rows: Iterable[Mapping[str, Any]],
    out: TextIO,
    *,
    columns: Sequence[str],
    fmt: str,
    progress: Progress | None,
) -> int:
    if fmt == "csv":
        writer = csv.writer(out)
        writer.writerow(columns)

        def emit(row: Mapping[str, Any]) -> None:
            writer.writerow([_csv_value(row[c]) for c in columns])

    else:
        encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode

        def emit(row: Mapping[str, Any]) -> None:
            out.write(encode(row) + "\n")

    done = 0
    for row in rows:
        emit(row)
        done += 1
        if progress is not None and not done % 1000:
            progress.update(done)
    if progress is not None:
        progress.finish(done)
    return done


class OutputError(ValueError):
    """``--out`` names a file the export must not write; the message names it."""


# SQLite keeps a live database in these files: writing over any of them corrupts it.
DATABASE_COMPANIONS = ("-wal", "-shm", "-journal")


def check_out(out: str | Path, *, engine: Engine | None = None, force: bool = False) -> None:
    """Refuse an ``out`` the export must not write, before any row is read.

    Never the SQLite database or a companion file, compared as real paths (``./``, ``..``
    and symlinks resolved, hard links by inode), even with ``force``: the export renamed
    over it would swap the live database for a CSV under every open connection. An
    existing file only with ``force``.
    """
    if str(out) == "-":
        return
    path = Path(out)
    database = _sqlite_file(engine)
    if database is not None:
        real = os.path.realpath(path)
        for suffix in ("", *DATABASE_COMPANIONS):
            protected = Path(database + suffix)
            if real == os.path.realpath(protected) or _same_file(path, protected):
                what = f"the database's {suffix} file" if suffix else "the database"
                raise OutputError(
                    f"{out} is {what} ({os.path.realpath(protected)}); export to another file"
                )
    if path.is_dir():
        raise OutputError(f"{out} is a directory")
    if not path.parent.is_dir():
        raise OutputError(f"the directory {path.parent} does not exist")
    if os.path.lexists(path) and not force:
        raise OutputError(f"{out} already exists; pass --force to replace it")


def _sqlite_file(engine: Engine | None) -> str | None:
    if engine is None or engine.dialect.name != "sqlite":
        return None
    database = engine.url.database
    return database if database and database != ":memory:" else None


def _same_file(a: Path, b: Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:  # either one missing
        return False


@contextmanager
def atomic_file(path: Path, *, replace: bool = False) -> Iterator[TextIO]:
    """A file that appears at ``path`` complete or not at all.

    It is written beside ``path`` (``os.replace`` is atomic only within a file system) and
    removed on any exception, Ctrl-C included. It is created 0600: it holds customer messages.
    Without ``replace`` it never takes the place of a file that appeared meanwhile.
    """
    fd, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as stream:
            yield stream
            stream.flush()
            os.fsync(stream.fileno())
        if replace:
            os.replace(temporary, path)
        else:
            _publish_new(temporary, path)
    except BaseException:
        with suppress(FileNotFoundError):
            os.unlink(temporary)
        raise


def _publish_new(temporary: str, path: Path) -> None:
    # A hard link fails on an existing name, atomically, where a rename would overwrite it.
    try:
        os.link(temporary, path)
    except FileExistsError:
        raise OutputError(f"{path} already exists; pass --force to replace it") from None
    except OSError:  # a file system without hard links: check, then rename
        if os.path.lexists(path):
            raise OutputError(f"{path} already exists; pass --force to replace it") from None
        os.replace(temporary, path)
        return
    os.unlink(temporary)


def write(
    rows: Iterable[Mapping[str, Any]],
    out: str | Path,
    *,
    columns: Sequence[str],
    fmt: str,
    progress: Progress | None = None,
    force: bool = False,
) -> int:
    """Write ``rows`` as ``fmt`` to the file ``out`` atomically, or to stdout for ``-``.

    An existing ``out`` is replaced only with ``force``; otherwise it raises OutputError.
    """
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}; expected one of {', '.join(FORMATS)}")
    if str(out) == "-":
        stdout = sys.stdout
        return _write_rows(rows, stdout, columns=columns, fmt=fmt, progress=progress)
    with atomic_file(Path(out), replace=force) as stream:
        return _write_rows(rows, stream, columns=columns, fmt=fmt, progress=progress)


def export(
    engine: Engine,
    out: str | Path,
    *,
    per: str = "message",
    fmt: str = "jsonl",
    filters: Filters = Filters(),  # noqa: B008 - frozen, so sharing the default is safe
    prices: Prices = Prices(),  # noqa: B008
    pseudonym_key: str | None = None,
    progress: TextIO | None = None,
    yield_per: int = YIELD_PER,
    force: bool = False,
) -> int:
    """Export to ``out`` and return the number of rows; a bar goes to ``progress`` if given.

    With ``pseudonym_key``, contact ids become keyed hashes (see ``pseudonymizer``). Raises
    OutputError for an ``out`` that ``check_out`` refuses.
    """
    if per not in PER:
        raise ValueError(f"unknown --per {per!r}; expected one of {', '.join(PER)}")
    check_out(out, engine=engine, force=force)
    contact = pseudonymizer(pseudonym_key) if pseudonym_key else _same
    query = message_query(filters) if per == "message" else conversation_query(filters)
    with reading(engine) as connection:
        bar = None
        if progress is not None:
            bar = Progress(progress, count(connection, query), unit=f"{per}s")
        records = stream(connection, query, yield_per)
        if per == "message":
            rows = message_rows(records, contact=contact)
            columns: Sequence[str] = MESSAGE_COLUMNS
        else:
            rows = conversation_rows(records, prices=prices, contact=contact)
            columns = CONVERSATION_COLUMNS
        return write(rows, out, columns=columns, fmt=fmt, progress=bar, force=force)


# --- the command ---------------------------------------------------------------------------


class When(click.ParamType):
    """YYYY-MM-DD or an ISO 8601 datetime, read as UTC unless it names an offset.

    A bare date for an exclusive upper bound means the end of that day, so
    ``--since 2026-06-01 --until 2026-06-30`` covers all of June.
    """

    name = "date"

    def __init__(self, *, end_of_day: bool = False) -> None:
        self.end_of_day = end_of_day

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, datetime):
            return value
        text = str(value).strip()
        try:
            day = date.fromisoformat(text)
        except ValueError:
            pass
        else:
            start = datetime(day.year, day.month, day.day, tzinfo=UTC)
            return start + timedelta(days=1) if self.end_of_day else start
        try:
            parsed = datetime.fromisoformat(text)
        except ValueError:
            self.fail(
                f"{text!r} is not a date: use YYYY-MM-DD or an ISO 8601 datetime such as "
                "2026-06-18T09:30:00Z (UTC unless an offset is given)",
                param,
                ctx,
            )
        return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).astimezone(UTC)


def _settings_pseudonym_key() -> str | None:
    settings = current_app.extensions["wingman"].settings
    # By name, so this command works before and after Settings gains the field.
    key = settings.export_pseudonym_key
    return key


def make_command(
    pseudonym_key: Callable[[], str | None] = _settings_pseudonym_key,
) -> click.Command:
    """The ``export`` command; ``pseudonym_key`` supplies EXPORT_PSEUDONYM_KEY in an app context.

    The key is never a command-line option, so it stays out of shell history and ``ps``.
    """

    @click.command("export")
    @click.option("--since", type=When(), help="From this date or time (inclusive, UTC).")
    @click.option(
        "--until", type=When(end_of_day=True), help="Up to this date or time (exclusive, UTC)."
    )
    @click.option(
        "--inbox",
        "inboxes",
        type=click.IntRange(min=1),
        multiple=True,
        help="Only this inbox (repeat for more).",
    )
    @click.option(
        "--per",
        type=click.Choice(PER),
        default="message",
        show_default=True,
        help="One row per message, or per conversation.",
    )
    @click.option(
        "--format",
        "fmt",
        type=click.Choice(FORMATS),
        default="jsonl",
        show_default=True,
        help="JSON Lines or CSV.",
    )
    @click.option("--out", default="-", show_default=True, help="The file to write; - is stdout.")
    @click.option("--force", is_flag=True, help="Replace --out if it exists.")
    @click.option("--pseudonymize", is_flag=True, help="Replace contact ids with keyed hashes.")
    @click.option(
        "--progress/--no-progress",
        default=None,
        help="A progress bar on stderr. [default: when stderr is a terminal, unless the rows go "
        "to the same terminal]",
    )
    @with_appcontext
    def command(
        since: datetime | None,
        until: datetime | None,
        inboxes: tuple[int, ...],
        per: str,
        fmt: str,
        out: str,
        force: bool,
        pseudonymize: bool,
        progress: bool | None,
    ) -> None:
        """Export messages (or conversations) for analysis, as JSON Lines or CSV."""
        if since is not None and until is not None and since >= until:
            raise click.BadParameter(
                f"{since.isoformat()} is not before --until {until.isoformat()}",
                param_hint="'--since'",
            )
        services: Services = current_app.extensions["wingman"]
        try:
            check_out(out, engine=services.engine, force=force)
        except OutputError as exc:
            raise click.BadParameter(str(exc), param_hint="'--out'") from None
        key = None
        if pseudonymize:
            key = pseudonym_key()
            if not key:
                raise click.UsageError(
                    "--pseudonymize needs EXPORT_PSEUDONYM_KEY: set it to a long random secret, "
                    "and keep it to get the same pseudonyms in later exports"
                )
        stderr = sys.stderr
        if progress is None:  # not over rows scrolling past on the same terminal
            progress = stderr.isatty() and not (out == "-" and sys.stdout.isatty())
        started = time.monotonic()
        try:
            written = export(
                services.engine,
                out,
                per=per,
                fmt=fmt,
                filters=Filters(since, until, inboxes),
                prices=services.settings.claude_prices,
                pseudonym_key=key,
                progress=stderr if progress else None,
                force=force,
            )
        except OutputError as exc:  # the file appeared while the rows were written
            raise click.BadParameter(str(exc), param_hint="'--out'") from None
        where = "stdout" if out == "-" else out
        elapsed = time.monotonic() - started
        click.echo(f"exported {written:,} {per}s to {where} in {elapsed:.1f} s", err=True)

    return command


export_command = make_command()
