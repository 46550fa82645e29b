"""When a human speaks: a copied draft counts as sent, anything else is a takeover.

A bot that talks over a human is worse than none, so a human's own public reply (from
Chatwoot, or from the WhatsApp/Instagram phone app as an ``external_echo``) mutes the bot
in that conversation, and a muted conversation is set open so the team sees it.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlmodel import Session, col, select

from core.db import session_scope
from core.models import Conversation, Draft
from workers import drafts, outbox, outgoing
from workers.actions import HumanReplied
from workers.context import WorkerContext
from workers.text import join_bubbles, normalised_distance

log = logging.getLogger(__name__)

# A rep often pastes a multi-bubble draft one bubble at a time; later bubbles of a draft
# copied this recently are part of the same approval, not a takeover.
COPY_WINDOW = timedelta(minutes=10)


def closeness(draft: Draft, text: str) -> float:
    """The smallest distance from ``text`` to the whole draft or any one of its bubbles."""
    candidates = [join_bubbles(draft.bubbles), *draft.bubbles]
    return min(normalised_distance(candidate, text) for candidate in candidates)


def human_replied(
    session: Session,
    conversation_id: int,
    *,
    message_id: int,
    text: str,
    user_id: int | None,
    now: datetime,
    threshold: float,
) -> str:
    """Decide what a human's public reply means; returns "copied" or "took_over"."""
    pending = drafts.pending_draft(session, conversation_id, lock=True)
    if pending is not None:
        distance = closeness(pending, text)
        if distance < threshold:
            drafts.retire(session, pending, "sent" if distance == 0 else "edited", now=now)
            pending.sent_text, pending.edit_distance = text, distance
            pending.decided_by, pending.sent_at = user_id, now
            return "copied"
        drafts.retire(session, pending, "superseded", now=now)
        pending.sent_text, pending.decided_by = text, user_id
        pending.edit_distance = distance
    elif _continues_a_copy(session, conversation_id, text, now=now, threshold=threshold):
        return "copied"
    mute(session, conversation_id, reason="human_reply", key=f"takeover:{message_id}", now=now)
    return "took_over"


def mute(session: Session, conversation_id: int, *, reason: str, key: str, now: datetime) -> None:
    """Silence the bot here and open the conversation, so it isn't left hidden in pending."""
    conversation = session.get(Conversation, conversation_id, with_for_update=True)
    if conversation is None:
        return
    if not conversation.bot_muted:
        conversation.bot_muted = True
        conversation.bot_muted_reason = reason
        conversation.bot_muted_at = now
        log.info("conversation %s: bot muted (%s)", conversation.display_id, reason)
    if conversation.status != "open":
        outbox.set_status(session, conversation_id, "open", key=key, now=now)


def unmute(session: Session, conversation_id: int, *, key: str, now: datetime) -> None:
    """Let the bot answer again; an open conversation goes back to pending (bot-owned)."""
    conversation = session.get(Conversation, conversation_id, with_for_update=True)
    if conversation is None:
        return
    conversation.bot_muted = False
    conversation.bot_muted_reason = None
    conversation.bot_muted_at = None
    if conversation.status == "open":
        outbox.set_status(session, conversation_id, "pending", key=key, now=now)


def _continues_a_copy(
    session: Session, conversation_id: int, text: str, *, now: datetime, threshold: float
) -> bool:
    recent = session.exec(
        select(Draft)
        .where(
            Draft.conversation_id == conversation_id,
            col(Draft.state).in_(("sent", "edited")),
            col(Draft.decided_at) >= now - COPY_WINDOW,
        )
        .order_by(col(Draft.decided_at).desc())
    ).first()
    return recent is not None and closeness(recent, text) < threshold


def on_human_reply(action: HumanReplied, deps: WorkerContext) -> None:
    """A human answered publicly: count a copied draft as sent, or let the human take over."""
    with session_scope(deps.engine) as session:
        outcome = human_replied(
            session,
            action.conversation_id,
            message_id=action.message_id,
            text=action.text,
            user_id=action.user_id,
            now=deps.now(),
            threshold=deps.takeover_distance,
        )
    log.info("conversation %s: a human replied (%s)", action.conversation_id, outcome)
    outgoing.post(action.conversation_id, deps)
