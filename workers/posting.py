"""Posting the outbox to Chatwoot, each item at most once, in order.

A POST whose fate is unknown is never simply re-posted. Unknown means: the worker died
after Chatwoot's answer, the connection dropped or timed out, or Chatwoot (or a proxy in
front of it) answered 5xx, which can come after Rails committed. Each message carries
Wingman's key (``outbox.MARKER``), so the evidence, best first, is:

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
uncertain message as sent (``outbox.settle_echo``).

No database transaction is held while Chatwoot is called: on SQLite that would keep the
write lock, and webhooks (which Chatwoot gives 5 seconds) would wait behind it. An item is
claimed first (``sending``, or ``checked_at`` while its fate is asked), then the call is
made, then the outcome recorded.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from chatwoot.errors import ChatwootError
from core.db import session_scope
from core.models import Conversation, Message, OutboxItem
from workers import notes
from workers.drafts import conversation_window
from workers.outbox import MARKER, MESSAGES, UNSENT, Poster, RetryLater, add, mark_sent, marker

log = logging.getLogger(__name__)

# A "sending" item, or one whose fate is being asked, younger than this may still be in
# another worker's hands.
LEASE_SECONDS = 60.0
# Autopilot types like a person: a pause before each bubble that grows with its length.
TYPING_SECONDS_PER_CHAR = 0.03
TYPING_SECONDS_MAX = 4.0
# Clocks of Chatwoot and Wingman differ a little; an echo may be stamped slightly early.
ECHO_SKEW = timedelta(seconds=30)
# How long after an attempt of unknown fate a message it created may still appear: a proxy
# answers 504 after its own timeout while Chatwoot may still be writing behind it.
SETTLE_GRACE_SECONDS = 60.0
# How far back the user-token check pages through a conversation (20 messages a page).
SETTLE_PAGES = 5


@dataclass(frozen=True)
class _Claim:
    """An item this worker may act on: post it, or (``check``) first ask Chatwoot whether
    an earlier attempt landed."""

    item: OutboxItem
    account_id: int
    display_id: int
    check: bool = False


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
    claim = _claim(engine, item_id, now())
    if isinstance(claim, str):
        return claim
    # Always the conversation's own account, as its events said: never a setting.
    poster = chatwoot.for_account(claim.account_id)
    if claim.check:
        try:
            found, conclusive = _chatwoot_has(poster, claim.display_id, claim.item)
        except ChatwootError as exc:
            _release_check(engine, item_id)
            log.warning("outbox item %s: could not check Chatwoot (%s)", item_id, exc)
            raise RetryLater(str(exc)) from None
        after = _after_check(engine, item_id, found, conclusive, now())
        if isinstance(after, str):
            if after == "wait":
                raise RetryLater(f"outbox item {item_id}: waiting for its echo before deciding")
            return after
        claim = after
    try:
        message_id = _post(poster, claim.display_id, claim.item, pause)
    except ChatwootError as exc:
        return _record_failure(engine, item_id, exc)
    if after_post is not None:
        after_post(claim.item)
    with session_scope(engine) as session:
        item = _locked(session, item_id)
        mark_sent(item, message_id, now())
        item.last_error = None
    return "sent"


def _claim(engine: Engine, item_id: int, now: datetime) -> _Claim | str:
    """Take the item for this worker, or say why not (its final state, or "busy")."""
    with session_scope(engine) as session:
        item = _locked(session, item_id)
        conversation = session.get(Conversation, item.conversation_id)
        assert conversation is not None
        if item.state not in UNSENT:
            return item.state
        lease = timedelta(seconds=LEASE_SECONDS)
        started = item.attempt_started_at
        if item.state == "sending" and started is not None and now - started < lease:
            return "busy"
        if item.checked_at is not None and now - item.checked_at < lease:
            return "busy"  # another worker is asking Chatwoot about it
        claim = _Claim(item, conversation.account_id, conversation.display_id)
        tried = item.state in ("sending", "unknown")
        if tried and item.action in MESSAGES:
            echo = _stored_echo(session, item)
            if echo is not None:
                mark_sent(item, echo, now)
                log.info("outbox item %s: found its echo %s; not posting again", item.id, echo)
                return "sent"
            item.checked_at = now
            return _Claim(OutboxItem.model_validate(item), claim.account_id, claim.display_id, True)
        # Setting a status or an assignee twice is harmless: those are simply sent again.
        expired = _expire_if_late(session, item, conversation, now, tried=tried)
        return expired or _sending(item, claim, now)


def _after_check(
    engine: Engine, item_id: int, found: int | None, conclusive: bool, now: datetime
) -> _Claim | str:
    """Record what Chatwoot showed; post again only where that can't make a duplicate.

    Returns "wait" when it can't tell yet (the echo may still come)."""
    with session_scope(engine) as session:
        item = _locked(session, item_id)
        item.checked_at = None
        if item.state not in ("sending", "unknown"):
            return item.state  # settled meanwhile (its echo arrived)
        if found is not None:
            mark_sent(item, found, now)
            log.info("outbox item %s: Chatwoot shows it was posted; not posting again", item.id)
            return "sent"
        conversation = session.get(Conversation, item.conversation_id)
        assert conversation is not None
        claim = _Claim(item, conversation.account_id, conversation.display_id)
        if item.private:
            return _sending(item, claim, now)  # a duplicate note is never seen by the customer
        expired = _expire_if_late(session, item, conversation, now, tried=True)
        if expired:
            return expired  # it can't go out again anyway
        started = item.attempt_started_at or item.created_at
        if now - started < timedelta(seconds=SETTLE_GRACE_SECONDS):
            return "wait"
        if conclusive:
            log.info("outbox item %s: Chatwoot never created it; posting it again", item.id)
            return _sending(item, claim, now)
        return _uncertain(session, item, now)


def _release_check(engine: Engine, item_id: int) -> None:
    with session_scope(engine) as session:
        _locked(session, item_id).checked_at = None


def _sending(item: OutboxItem, claim: _Claim, now: datetime) -> _Claim:
    item.state = "sending"
    item.attempts += 1
    item.attempt_started_at = now
    return _Claim(OutboxItem.model_validate(item), claim.account_id, claim.display_id)


def _expire_if_late(
    session: Session, item: OutboxItem, conversation: Conversation, now: datetime, *, tried: bool
) -> str | None:
    """Never late: a public message whose channel window closed is not sent, even by a
    retry; the rep is told. Returns "expired" if so."""
    if item.action not in MESSAGES or item.private:
        return None
    window = conversation_window(session, conversation, now)
    if window.open:
        return None
    item.state, item.last_error = "expired", window.reason
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
            f"⏰ Not sent, because {window.reason}.{unconfirmed}\n\n{notes.defang(item.content)}"
        ),
        now=now,
    )
    log.warning("outbox item %s expired: %s", item.id, window.reason)
    return "expired"


def _uncertain(session: Session, item: OutboxItem, now: datetime) -> str:
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
        item = _locked(session, item_id)
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


def _chatwoot_has(chatwoot: Poster, display_id: int, item: OutboxItem) -> tuple[int | None, bool]:
    """(the id of the message carrying the item's key, or None; whether a None is
    conclusive). Only the message list (user token) can show a message is absent, and only
    when it reaches back past the attempt."""
    key = marker(item)
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


def _stored_echo(session: Session, item: OutboxItem) -> int | None:
    key = marker(item)
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


def _locked(session: Session, item_id: int) -> OutboxItem:
    return session.exec(select(OutboxItem).where(OutboxItem.id == item_id).with_for_update()).one()
