"""Claiming an outbox item for one post, and recording how it went.

An item is claimed first (``sending``, or ``checked_at`` while its fate is asked), then
``workers.posting`` calls Chatwoot, then the outcome is recorded here: each step in a short
transaction of its own, never held open across the call.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from chatwoot.errors import ChatwootError
from core.db import session_scope
from core.models import Conversation, OutboxItem
from workers import notes
from workers.drafts import conversation_window
from workers.outbox import MESSAGES, UNSENT, RetryLater, add, mark_sent
from workers.posting_evidence import stored_echo

log = logging.getLogger(__name__)

# A "sending" item, or one whose fate is being asked, younger than this may still be in
# another worker's hands.
LEASE_SECONDS = 60.0
# How long after an attempt of unknown fate a message it created may still appear: a proxy
# answers 504 after its own timeout while Chatwoot may still be writing behind it.
SETTLE_GRACE_SECONDS = 60.0


@dataclass(frozen=True)
class Claim:
    """An item this worker may act on: post it, or (``check``) first ask Chatwoot whether
    an earlier attempt landed."""

    item: OutboxItem
    account_id: int
    display_id: int
    check: bool = False


def claim_item(engine: Engine, item_id: int, now: datetime) -> Claim | str:
    """Take the item for this worker, or say why not (its final state, or "busy")."""
    with session_scope(engine) as session:
        item = locked(session, item_id)
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
        claim = Claim(item, conversation.account_id, conversation.display_id)
        tried = item.state in ("sending", "unknown")
        if tried and item.action in MESSAGES:
            echo = stored_echo(session, item)
            if echo is not None:
                mark_sent(item, echo, now)
                log.info("outbox item %s: found its echo %s; not posting again", item.id, echo)
                return "sent"
            item.checked_at = now
            return Claim(OutboxItem.model_validate(item), claim.account_id, claim.display_id, True)
        # Setting a status or an assignee twice is harmless: those are simply sent again.
        expired = _expire_if_late(session, item, conversation, now, tried=tried)
        return expired or _sending(item, claim, now)


def after_check(
    engine: Engine, item_id: int, found: int | None, conclusive: bool, now: datetime
) -> Claim | str:
    """Record what Chatwoot showed; post again only where that can't make a duplicate.

    Returns "wait" when it can't tell yet (the echo may still come)."""
    with session_scope(engine) as session:
        item = locked(session, item_id)
        item.checked_at = None
        if item.state not in ("sending", "unknown"):
            return item.state  # settled meanwhile (its echo arrived)
        if found is not None:
            mark_sent(item, found, now)
            log.info("outbox item %s: Chatwoot shows it was posted; not posting again", item.id)
            return "sent"
        conversation = session.get(Conversation, item.conversation_id)
        assert conversation is not None
        claim = Claim(item, conversation.account_id, conversation.display_id)
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


def release_check(engine: Engine, item_id: int) -> None:
    with session_scope(engine) as session:
        locked(session, item_id).checked_at = None


def _sending(item: OutboxItem, claim: Claim, now: datetime) -> Claim:
    item.state = "sending"
    item.attempts += 1
    item.attempt_started_at = now
    return Claim(OutboxItem.model_validate(item), claim.account_id, claim.display_id)


def _expire_if_late(
    session: Session, item: OutboxItem, conversation: Conversation, now: datetime, *, tried: bool
) -> str | None:
    """Never late: a public message whose channel window closed is not sent, even by a
    retry; the rep is told. Returns "expired" if so."""
    if item.action not in MESSAGES or item.private or item.action == "template":
        return None  # an approved template is what a closed window still takes
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


def record_failure(engine: Engine, item_id: int, exc: ChatwootError) -> str:
    with session_scope(engine) as session:
        item = locked(session, item_id)
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


def locked(session: Session, item_id: int) -> OutboxItem:
    return session.exec(select(OutboxItem).where(OutboxItem.id == item_id).with_for_update()).one()
