"""Posting the outbox to Chatwoot, each item at most once, in order.

A POST whose fate is unknown is never simply re-posted. Unknown means: the worker died
after Chatwoot's answer, the connection dropped or timed out, or Chatwoot (or a proxy in
front of it) answered 5xx, which can come after Rails committed. Each message carries
Wingman's key (``outbox.MARKER``), so the evidence, best first, is:

1. the webhook echo of the message, already stored (it may be late, or never come);
2. the conversation's last message and newest non-activity message (show-conversation,
   which a bot token may call);
3. with ``CHATWOOT_USER_TOKEN``, the conversation's messages: once the attempt is older
   than ``posting_claims.SETTLE_GRACE_SECONDS`` (a proxy's upstream may still be writing
   until then), a key absent from them means the message was never created, and it is
   posted again.

When none of them can tell, a public message is not posted again: no public message twice
wins over delivery, and the rep gets a note with the text to send themselves. A private
note of unknown fate is posted again once the echo and show-conversation don't have it,
because a duplicate note is never seen by the customer. A late echo still settles an
uncertain message as sent (``outbox.settle_echo``).

No database transaction is held while Chatwoot is called: on SQLite that would keep the
write lock, and webhooks (which Chatwoot gives 5 seconds) would wait behind it. An item is
claimed first (``sending``, or ``checked_at`` while its fate is asked), then the call is
made, then the outcome recorded (``workers.posting_claims``); the evidence is looked up in
``workers.posting_evidence``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import datetime

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from chatwoot.errors import ChatwootError
from core.db import session_scope
from core.models import OutboxItem
from workers.outbox import MARKER, UNSENT, Poster, RetryLater, mark_sent, marker
from workers.posting_claims import after_check, claim_item, locked, record_failure, release_check
from workers.posting_evidence import chatwoot_has

log = logging.getLogger(__name__)

# Autopilot types like a person: a pause before each bubble that grows with its length.
TYPING_SECONDS_PER_CHAR = 0.03
TYPING_SECONDS_MAX = 4.0


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
    claim = claim_item(engine, item_id, now())
    if isinstance(claim, str):
        return claim
    # Always the conversation's own account, as its events said: never a setting.
    poster = chatwoot.for_account(claim.account_id)
    if claim.check:
        try:
            found, conclusive = chatwoot_has(poster, claim.display_id, claim.item)
        except ChatwootError as exc:
            release_check(engine, item_id)
            log.warning("outbox item %s: could not check Chatwoot (%s)", item_id, exc)
            raise RetryLater(str(exc)) from None
        after = after_check(engine, item_id, found, conclusive, now())
        if isinstance(after, str):
            if after == "wait":
                raise RetryLater(f"outbox item {item_id}: waiting for its echo before deciding")
            return after
        claim = after
    try:
        message_id = _post(poster, claim.display_id, claim.item, pause)
    except ChatwootError as exc:
        return record_failure(engine, item_id, exc)
    if after_post is not None:
        after_post(claim.item)
    with session_scope(engine) as session:
        item = locked(session, item_id)
        mark_sent(item, message_id, now())
        item.last_error = None
    return "sent"


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
        display_id,
        item.content,
        private=item.private,
        content_attributes=attributes,
        template_params=item.template_params if item.action == "template" else None,
    )
    return message.id
