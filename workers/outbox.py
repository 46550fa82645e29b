"""Posting to Chatwoot exactly once.

Every note, reply bubble and status change is written to the outbox before it is sent, and
marked when Chatwoot confirms it. A POST whose fate is unknown (the worker died after
Chatwoot's 200, or the connection dropped mid-request) is never simply re-posted: first the
bot's own echo is looked for among the stored messages, then Chatwoot is asked
(show-conversation returns the last message, and a bot token may call it). If it is still
unclear, a public message is not re-posted; the rep is told instead. A private note may be
re-posted, because a duplicate note is never seen by the customer.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Protocol

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from bot.db import session_scope
from bot.models import Conversation, Message, OutboxItem
from bot.store import dialect_insert
from chatwoot.errors import ChatwootError
from chatwoot.types import ChatwootMessage, ConversationSnapshot
from workers.drafts import last_customer_message_at
from workers.windows import window

log = logging.getLogger(__name__)

# A "sending" item younger than this may still be in flight in another worker.
LEASE_SECONDS = 60.0
# pending: never tried, or Chatwoot refused it; sending: an attempt is (or was, if the
# worker died) in flight; unknown: an attempt ended without Chatwoot's answer.
UNSENT = ("pending", "sending", "unknown")
# Actions that post a message ("autoreply": an autopilot bubble, paced like a person types).
MESSAGES = ("message", "autoreply")
# Autopilot types like a person: a pause before each bubble that grows with its length.
TYPING_SECONDS_PER_CHAR = 0.03
TYPING_SECONDS_MAX = 4.0
# Clocks of Chatwoot and Wingman differ a little; an echo may be stamped slightly early.
ECHO_SKEW = timedelta(seconds=30)


class Poster(Protocol):
    """The part of ``chatwoot.client.ChatwootClient`` the outbox uses."""

    def create_message(
        self, conversation_id: int, content: str, *, private: bool = False
    ) -> ChatwootMessage: ...

    def toggle_status(self, conversation_id: int, status: str) -> str: ...

    def toggle_typing(self, conversation_id: int, on: bool) -> None: ...

    def assign(
        self, conversation_id: int, *, assignee_id: int | None = None, team_id: int | None = None
    ) -> None: ...

    def get_conversation(self, conversation_id: int) -> ConversationSnapshot: ...


class RetryLater(Exception):
    """Chatwoot failed transiently; the job should run again after a wait."""


def add(
    session: Session,
    *,
    key: str,
    conversation_id: int,
    content: str,
    now: datetime,
    private: bool = True,
    action: str = "message",
    draft_id: int | None = None,
    position: int = 0,
) -> None:
    """Queue one item. A second add with the same key is ignored: that is the point."""
    session.execute(
        dialect_insert(session, OutboxItem)
        .values(
            key=key,
            conversation_id=conversation_id,
            content=content,
            private=private,
            action=action,
            draft_id=draft_id,
            position=position,
            state="pending",
            attempts=0,
            created_at=now,
        )
        .on_conflict_do_nothing()
    )


def set_status(
    session: Session, conversation_id: int, status: str, *, key: str, now: datetime
) -> None:
    """Queue a status change (a bot setting ``open`` is Chatwoot's handoff), once per key."""
    add(
        session,
        key=f"{key}:{status}",
        conversation_id=conversation_id,
        content=status,
        action="status",
        now=now,
    )


def exists(session: Session, key: str) -> bool:
    return session.exec(select(OutboxItem.id).where(OutboxItem.key == key)).first() is not None


def stuck_conversations(session: Session, *, now: datetime, older_than: timedelta) -> list[int]:
    """Conversations whose outbox still holds items written before ``now - older_than``.

    The safety net behind the retries: if a retry job was lost (Redis flushed, a worker
    killed), the clock's sweep finds what is still unsent.
    """
    query = (
        select(OutboxItem.conversation_id)
        .where(col(OutboxItem.state).in_(UNSENT), OutboxItem.created_at < now - older_than)
        .distinct()
    )
    return sorted(session.exec(query))


def deliver_pending(
    engine: Engine,
    conversation_id: int,
    chatwoot: Poster,
    *,
    now: Callable[[], datetime],
    after_post: Callable[[OutboxItem], None] | None = None,
    pause: Callable[[float], None] = time.sleep,
) -> int:
    """Send a conversation's unsent items in order; returns how many were confirmed.

    Stops at the first item that can't be sent yet, so bubble 2 never overtakes bubble 1.
    Raises RetryLater when Chatwoot failed transiently, or when an earlier attempt may still
    be in flight: a retry must always be scheduled, or the conversation's outbox would
    stall. ``after_post`` runs between Chatwoot's answer and the commit; tests use it to
    kill the worker there.
    """
    confirmed = 0
    while True:
        with Session(engine) as session:
            item_id = session.exec(
                select(OutboxItem.id)
                .where(
                    OutboxItem.conversation_id == conversation_id,
                    col(OutboxItem.state).in_(UNSENT),
                )
                .order_by(col(OutboxItem.created_at), col(OutboxItem.position), col(OutboxItem.id))
            ).first()
        if item_id is None:
            return confirmed
        state = deliver(engine, item_id, chatwoot, now=now, after_post=after_post, pause=pause)
        if state == "busy":
            raise RetryLater(f"outbox item {item_id} may still be in flight")
        if state == "sent":
            confirmed += 1


def deliver(
    engine: Engine,
    item_id: int,
    chatwoot: Poster,
    *,
    now: Callable[[], datetime],
    after_post: Callable[[OutboxItem], None] | None = None,
    pause: Callable[[float], None] = time.sleep,
) -> str:
    """Send one item at most once; returns its state afterwards (or "busy")."""
    with session_scope(engine) as session:
        item = session.exec(
            select(OutboxItem).where(OutboxItem.id == item_id).with_for_update()
        ).one()
        conversation = session.get(Conversation, item.conversation_id)
        assert conversation is not None
        display_id = conversation.display_id
        if item.state not in UNSENT:
            return item.state
        if item.state in ("sending", "unknown"):
            started = item.attempt_started_at
            lease = timedelta(seconds=LEASE_SECONDS)
            if item.state == "sending" and started is not None and now() - started < lease:
                return "busy"
            outcome = _settle_unknown(session, item, display_id, chatwoot, now=now())
            if outcome != "retry":
                return outcome
        if item.action in MESSAGES and not item.private:
            closed = _window_closed(session, conversation, now())
            if closed is not None:
                # Never late: a retry after the window closed must not reach the customer.
                item.state, item.last_error = "expired", closed
                add(
                    session,
                    key=f"expired:{item.id}",
                    conversation_id=item.conversation_id,
                    content=f"⏰ Not sent, because {closed}:\n\n{item.content}",
                    now=now(),
                )
                log.warning("outbox item %s expired: %s", item.id, closed)
                return "expired"
        item.state = "sending"
        item.attempts += 1
        item.attempt_started_at = now()
        snapshot = OutboxItem.model_validate(item)

    try:
        message_id = _post(chatwoot, display_id, snapshot, pause)
    except ChatwootError as exc:
        return _record_failure(engine, item_id, exc)
    if after_post is not None:
        after_post(snapshot)
    with session_scope(engine) as session:
        item = session.exec(
            select(OutboxItem).where(OutboxItem.id == item_id).with_for_update()
        ).one()
        item.state = "sent"
        item.chatwoot_message_id = message_id
        item.sent_at = now()
        item.last_error = None
    return "sent"


def _window_closed(session: Session, conversation: Conversation, now: datetime) -> str | None:
    assert conversation.id is not None
    last = last_customer_message_at(session, conversation.id)
    result = window(conversation.channel, last, now)
    return None if result.open else result.reason


def typing_pause(text: str) -> float:
    return min(0.5 + len(text) * TYPING_SECONDS_PER_CHAR, TYPING_SECONDS_MAX)


def _post(
    chatwoot: Poster, display_id: int, item: OutboxItem, pause: Callable[[float], None]
) -> int | None:
    if item.action == "status":
        chatwoot.toggle_status(display_id, item.content)
        return None
    if item.action == "assign":
        kind, _, target = item.content.partition(":")
        if kind == "agent":
            chatwoot.assign(display_id, assignee_id=int(target))
        else:
            chatwoot.assign(display_id, team_id=int(target))
        return None
    if item.action == "autoreply":
        try:
            chatwoot.toggle_typing(display_id, True)
        except ChatwootError as exc:  # cosmetic: never a reason not to answer
            log.info("typing indicator failed (%s)", exc)
        pause(typing_pause(item.content))
    return chatwoot.create_message(display_id, item.content, private=item.private).id


def _record_failure(engine: Engine, item_id: int, exc: ChatwootError) -> str:
    with session_scope(engine) as session:
        item = session.exec(
            select(OutboxItem).where(OutboxItem.id == item_id).with_for_update()
        ).one()
        item.last_error = str(exc)[:500]
        if not exc.transient:
            item.state = "failed"
            log.error("outbox item %s (%s) failed for good: %s", item.id, item.key, exc)
            return "failed"
        # A status code means Chatwoot answered and created nothing; without one (timeout,
        # dropped connection) the POST may have landed. Then the item is "unknown": nothing
        # is in flight any more, and the next attempt checks before posting again.
        item.state = "pending" if exc.status is not None else "unknown"
    log.warning("outbox item %s: Chatwoot failed transiently (%s); will retry", item_id, exc)
    raise RetryLater(str(exc))


def _settle_unknown(
    session: Session, item: OutboxItem, display_id: int, chatwoot: Poster, *, now: datetime
) -> str:
    """Decide the fate of an attempt that never got its confirmation recorded.

    Returns "sent" or "uncertain" when decided, "retry" when posting again is safe.
    """
    if item.action not in MESSAGES:
        return "retry"  # setting a status or an assignee twice is harmless
    echo = _stored_echo(session, item)
    if echo is not None:
        _mark_sent(item, echo, now)
        log.info("outbox item %s: found its echo %s; not posting again", item.id, echo)
        return "sent"
    if item.private:
        return "retry"  # a duplicate private note is never seen by the customer
    try:
        last = chatwoot.get_conversation(display_id).last_message
    except ChatwootError as exc:
        log.warning("outbox item %s: could not check Chatwoot (%s)", item.id, exc)
        raise RetryLater(str(exc)) from None
    if (
        last is not None
        and last.sender_type == "agent_bot"
        and _same_text(last.content, item.content)
        and not _claimed(session, last.id)
    ):
        _mark_sent(item, last.id, now)
        log.info("outbox item %s: Chatwoot shows it was posted; not posting again", item.id)
        return "sent"
    item.state = "uncertain"
    log.error(
        "outbox item %s (%s): can't tell whether Chatwoot posted it; not re-posting, "
        "asking the rep to check",
        item.id,
        item.key,
    )
    add(
        session,
        key=f"uncertain:{item.id}",
        conversation_id=item.conversation_id,
        content=(
            "⚠️ I may not have sent this message to the customer (Chatwoot didn't confirm "
            f"it). Please check the conversation and send it yourself if it's missing:\n\n"
            f"{item.content}"
        ),
        now=now,
    )
    return "uncertain"


def _stored_echo(session: Session, item: OutboxItem) -> int | None:
    started = item.attempt_started_at
    query = select(Message).where(
        Message.conversation_id == item.conversation_id,
        Message.sender_kind == "bot",
        Message.private == item.private,
    )
    if started is not None:
        query = query.where(Message.created_at >= started - ECHO_SKEW)
    for message in session.exec(query.order_by(col(Message.id))):
        if _same_text(message.content, item.content) and not _claimed(session, message.id):
            return message.id
    return None


def _claimed(session: Session, message_id: int) -> bool:
    query = select(OutboxItem.id).where(OutboxItem.chatwoot_message_id == message_id)
    return session.exec(query).first() is not None


def _same_text(a: str | None, b: str | None) -> bool:
    # Chatwoot's webhook content strips trailing newlines and hard breaks.
    return a is not None and b is not None and " ".join(a.split()) == " ".join(b.split())


def _mark_sent(item: OutboxItem, message_id: int, now: datetime) -> None:
    item.state = "sent"
    item.chatwoot_message_id = message_id
    item.sent_at = now
