"""Posting to Chatwoot exactly once.

Every note, reply bubble and status change is written to the outbox before it is sent, and
marked when Chatwoot confirms it. Each message carries Wingman's own key in its
``content_attributes`` (``MARKER``); Chatwoot stores such keys and returns them in the
create response, in webhooks and in show-conversation (CONTRACT-NEXT §7-8), so the key
identifies the message whatever its text.

A POST whose fate is unknown is never simply re-posted. Unknown means: the worker died
after Chatwoot's answer, the connection dropped or timed out, or Chatwoot (or a proxy in
front of it) answered 5xx, which can come after Rails committed. The evidence, best first:

1. the webhook echo of the message, already stored (it may be late, or never come);
2. the conversation's last message and newest non-activity message (show-conversation,
   which a bot token may call);
3. with ``CHATWOOT_USER_TOKEN``, the conversation's messages: once the attempt is older
   than ``SETTLE_GRACE_SECONDS`` (a proxy's upstream may still be writing until then),
   a key absent from them means the message was never created, and it is posted again.

When none of them can tell, a public message is not posted again: no public message twice
wins over delivery, and the rep gets a note with the text to send themselves. A private
note of unknown fate is posted again once the echo and show-conversation don't have it,
because a duplicate note is never seen by the customer. A late echo still settles an
uncertain message as sent (``settle_echo``).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from bot.db import session_scope
from bot.models import Conversation, Message, OutboxItem
from bot.store import dialect_insert
from chatwoot.errors import ChatwootError
from chatwoot.types import ChatwootMessage, ConversationSnapshot
from workers import notes
from workers.drafts import conversation_window

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
# The content_attributes key every message Wingman posts carries (see the module docs).
MARKER = "wingman"
# How long after an attempt of unknown fate a message it created may still appear: a proxy
# answers 504 after its own timeout while Chatwoot may still be writing behind it.
SETTLE_GRACE_SECONDS = 60.0
# How far back the user-token check pages through a conversation (20 messages a page).
SETTLE_PAGES = 5


class Poster(Protocol):
    """The part of ``chatwoot.client.ChatwootClient`` the outbox uses."""

    def for_account(self, account_id: int) -> Poster: ...

    @property
    def can_list_messages(self) -> bool: ...

    def create_message(
        self,
        conversation_id: int,
        content: str,
        *,
        private: bool = False,
        content_attributes: Mapping[str, Any] | None = None,
    ) -> ChatwootMessage: ...

    def list_messages(
        self, conversation_id: int, *, before: int | None = None, after: int | None = None
    ) -> list[ChatwootMessage]: ...

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


def marker(item: OutboxItem) -> str:
    """Wingman's key for one item's message: its outbox key, and when it was written, so a
    reinstalled Wingman whose draft numbers start again never matches an old message."""
    return f"{item.key}@{int(item.created_at.timestamp() * 1000)}"


def settle_echo(
    session: Session, *, conversation_id: int, message_id: int, key: str, now: datetime
) -> str | None:
    """The echo of one of Wingman's own messages arrived: it was posted, whatever the outbox
    concluded meanwhile. Returns the item's key if this settled it."""
    for item in session.exec(
        select(OutboxItem)
        .where(
            OutboxItem.conversation_id == conversation_id,
            # Expired too: a post of unknown fate expires when the window closes meanwhile.
            col(OutboxItem.state).in_((*UNSENT, "uncertain", "expired")),
        )
        .with_for_update()
    ):
        if marker(item) != key:
            continue
        was = item.state
        _mark_sent(item, message_id, now)
        if was in ("uncertain", "expired"):
            add(
                session,
                key=f"confirmed:{item.id}",
                conversation_id=conversation_id,
                content=(
                    "✅ Update: Chatwoot confirms this message did reach the customer; "
                    f"nothing to send:\n\n{notes.defang(item.content)}"
                ),
                now=now,
            )
            log.info("outbox item %s: its late echo shows it was posted", item.id)
        return item.key
    return None


def channel_refused(
    session: Session, *, conversation_id: int, key: str, error: str
) -> OutboxItem | None:
    """The channel refused one of Wingman's messages after Chatwoot accepted it (Meta
    outside the window, a Twilio error). Returns the item if this is news."""
    for item in session.exec(
        select(OutboxItem)
        .where(OutboxItem.conversation_id == conversation_id, OutboxItem.state != "undelivered")
        .with_for_update()
    ):
        if item.action in MESSAGES and marker(item) == key:
            item.state, item.last_error = "undelivered", error
            log.warning("outbox item %s (%s): the channel refused it: %s", item.id, item.key, error)
            return item
    return None


def refused(session: Session, conversation_id: int) -> list[OutboxItem]:
    """Messages a customer's answer depended on that never got through: public messages
    Chatwoot refused for good or the channel refused after Chatwoot accepted them, and
    draft notes Chatwoot refused (no rep ever saw the draft)."""
    query = select(OutboxItem).where(
        OutboxItem.conversation_id == conversation_id,
        col(OutboxItem.state).in_(("failed", "undelivered")),
        col(OutboxItem.action).in_(MESSAGES),
    )
    return [
        item
        for item in session.exec(query.order_by(col(OutboxItem.id)))
        if not item.private or (item.draft_id is not None and item.key.endswith(":note"))
    ]


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
        # Always the conversation's own account, as its events said: never a setting.
        chatwoot = chatwoot.for_account(conversation.account_id)
        if item.state not in UNSENT:
            return item.state
        public = item.action in MESSAGES and not item.private
        closed = _window_closed(session, conversation, now()) if public else None
        tried = item.state in ("sending", "unknown")
        if tried:
            started = item.attempt_started_at
            lease = timedelta(seconds=LEASE_SECONDS)
            if item.state == "sending" and started is not None and now() - started < lease:
                return "busy"
            outcome = _settle_unknown(
                session, item, display_id, chatwoot, now=now(), window_closed=closed is not None
            )
            if outcome != "retry":
                return outcome
        if closed is not None:
            # Never late: a retry after the window closed must not reach the customer.
            item.state, item.last_error = "expired", closed
            unconfirmed = (
                " Chatwoot never confirmed the earlier attempt, so please check the conversation."
                if tried
                else ""
            )
            add(
                session,
                key=f"expired:{item.id}",
                conversation_id=item.conversation_id,
                content=(
                    f"⏰ Not sent, because {closed}.{unconfirmed}\n\n{notes.defang(item.content)}"
                ),
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
    result = conversation_window(session, conversation, now)
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
    attributes = {MARKER: marker(item)}
    message = chatwoot.create_message(
        display_id, item.content, private=item.private, content_attributes=attributes
    )
    return message.id


def _record_failure(engine: Engine, item_id: int, exc: ChatwootError) -> str:
    with session_scope(engine) as session:
        item = session.exec(
            select(OutboxItem).where(OutboxItem.id == item_id).with_for_update()
        ).one()
        item.last_error = str(exc)[:500]
        if item.state == "sent":
            return "sent"  # its echo arrived first and settled it
        if not exc.transient:
            item.state = "failed"
            log.error("outbox item %s (%s) failed for good: %s", item.id, item.key, exc)
            if item.draft_id is not None and item.action in MESSAGES and not item.private:
                _drop_rest_of_draft(session, item)
            return "failed"
        # 429 is Chatwoot's rate limiter (rack-attack), which answers before anything is
        # created. A 5xx may come from a proxy while Chatwoot is still writing, or from
        # Rails after its commit, and a timeout or dropped connection says nothing: those
        # are "unknown". Nothing is in flight any more, and the next attempt finds out
        # before posting again.
        item.state = "pending" if exc.status == 429 else "unknown"
    log.warning("outbox item %s: Chatwoot failed transiently (%s); will retry", item_id, exc)
    raise RetryLater(str(exc))


def _drop_rest_of_draft(session: Session, failed: OutboxItem) -> None:
    """A reply missing a bubble reads wrong: its later bubbles don't go out alone."""
    for item in session.exec(
        select(OutboxItem).where(
            OutboxItem.draft_id == failed.draft_id,
            OutboxItem.id != failed.id,
            OutboxItem.state == "pending",
            col(OutboxItem.private).is_(False),
        )
    ):
        item.state, item.last_error = "failed", f"not sent: bubble {failed.position} failed"


def _settle_unknown(
    session: Session,
    item: OutboxItem,
    display_id: int,
    chatwoot: Poster,
    *,
    now: datetime,
    window_closed: bool,
) -> str:
    """Decide the fate of an attempt that never got its confirmation recorded.

    Returns "sent" or "uncertain" when decided, "retry" when posting again is safe (or
    can't happen: the window closed, so the caller expires it); raises RetryLater while it
    can't tell yet (the echo may still come).
    """
    if item.action not in MESSAGES:
        return "retry"  # setting a status or an assignee twice is harmless
    key = marker(item)
    echo = _stored_echo(session, item, key)
    if echo is not None:
        _mark_sent(item, echo, now)
        log.info("outbox item %s: found its echo %s; not posting again", item.id, echo)
        return "sent"
    try:
        found, conclusive = _chatwoot_has(chatwoot, display_id, item, key, now=now)
    except ChatwootError as exc:
        log.warning("outbox item %s: could not check Chatwoot (%s)", item.id, exc)
        raise RetryLater(str(exc)) from None
    if found is not None:
        _mark_sent(item, found, now)
        log.info("outbox item %s: Chatwoot shows it was posted; not posting again", item.id)
        return "sent"
    if item.private:
        return "retry"  # a duplicate private note is never seen by the customer
    if window_closed:
        return "retry"  # it can't go out again: the caller expires it and tells the rep
    started = item.attempt_started_at or item.created_at
    settled = now - started >= timedelta(seconds=SETTLE_GRACE_SECONDS)
    if settled and conclusive:
        log.info("outbox item %s: Chatwoot never created it; posting it again", item.id)
        return "retry"
    if not settled:
        raise RetryLater(f"outbox item {item.id}: waiting for its echo before deciding")
    item.state = "uncertain"
    log.error(
        "outbox item %s (%s): can't tell whether Chatwoot posted it; not re-posting, "
        "asking the rep to check (CHATWOOT_USER_TOKEN lets Wingman find out)",
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
            f"{notes.defang(item.content)}"
        ),
        now=now,
    )
    return "uncertain"


def _chatwoot_has(
    chatwoot: Poster, display_id: int, item: OutboxItem, key: str, *, now: datetime
) -> tuple[int | None, bool]:
    """(the id of the message carrying ``key``, or None; whether a None is conclusive).

    Only the message list (user token) can show a message is absent, and only when it
    reaches back past the attempt.
    """
    snapshot = chatwoot.get_conversation(display_id)
    for message in (snapshot.last_message, snapshot.last_non_activity_message):
        if message is not None and message.content_attributes.get(MARKER) == key:
            return message.id, True
    if not chatwoot.can_list_messages:
        return None, False
    oldest = (item.attempt_started_at or item.created_at) - ECHO_SKEW
    before: int | None = None
    for _ in range(SETTLE_PAGES):
        page = chatwoot.list_messages(display_id, before=before)
        for message in page:
            if message.content_attributes.get(MARKER) == key:
                return message.id, True
        if not page or page[0].created_at < oldest:
            return None, True
        before = page[0].id
    return None, False  # busier than SETTLE_PAGES pages since: can't tell


def _stored_echo(session: Session, item: OutboxItem, key: str) -> int | None:
    started = item.attempt_started_at
    query = select(Message).where(
        Message.conversation_id == item.conversation_id, Message.sender_kind == "bot"
    )
    if started is not None:
        query = query.where(Message.created_at >= started - ECHO_SKEW)
    for message in session.exec(query.order_by(col(Message.id))):
        if (message.content_attributes or {}).get(MARKER) == key:
            return message.id
    return None


def _mark_sent(item: OutboxItem, message_id: int, now: datetime) -> None:
    item.state = "sent"
    item.chatwoot_message_id = message_id
    item.sent_at = now
