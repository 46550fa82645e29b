"""Replies that never got through are no answer: a human takes the conversation.

Chatwoot may refuse a post for good (a 4xx), or accept it and have the channel refuse it
later (``external_error``, e.g. WhatsApp outside its 24-hour window). Either way the
customer's question is still open, so the draft is marked ``undelivered`` (its messages
are no longer answered by it) and the conversation is handed to a human with what went
wrong, once per draft. A draft note Chatwoot refused is the same story one step earlier:
no rep ever saw the draft, so it is marked ``failed`` and handed over too.
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlmodel import Session

from core.config import InboxConfig
from core.models import Draft, OutboxItem
from workers import drafts, follow_up_decisions, handoffs, notes, outbox

log = logging.getLogger(__name__)


def hand_off_refused(
    session: Session,
    conversation_id: int,
    *,
    now: datetime,
    inbox: InboxConfig,
    mention: str | None,
) -> bool:
    """Handle every refused public post of the conversation not handled yet; True if any."""
    handled = False
    for item in outbox.refused(session, conversation_id):
        key = f"undelivered:{item.draft_id}" if item.draft_id else f"undelivered:item:{item.id}"
        if outbox.exists(session, f"{key}:open"):
            continue  # this draft's refusal was handed off already
        draft = session.get(Draft, item.draft_id) if item.draft_id else None
        error = item.last_error or "refused"
        if draft is not None and draft.follow_up_id is not None:
            handled |= _follow_up_refused(session, draft, item, error, key=key, now=now)
            continue
        if item.private:  # the draft's note: no rep saw the draft
            if draft is not None and draft.state == "pending":
                drafts.retire(session, draft, "failed", now=now)
                draft.failure = f"its note could not be posted: {error}"
            note = notes.unposted_draft_note(draft_id=item.draft_id, error=error)
        else:
            if draft is not None and draft.state in drafts.DECIDED_LIVE:
                drafts.retire(session, draft, "undelivered", now=now)
                draft.failure = error
            note = notes.undelivered_note(
                draft_id=item.draft_id,
                error=error,
                text=draft.sent_text if draft is not None and draft.sent_text else item.content,
            )
        handled |= handoffs.hand_off(
            session,
            conversation_id,
            reason="send_failed",
            key=key,
            now=now,
            inbox=inbox,
            note=f"{mention} {note}" if mention else note,
            draft_id=item.draft_id,
        )
    return handled


def _follow_up_refused(
    session: Session, draft: Draft, item: OutboxItem, error: str, *, key: str, now: datetime
) -> bool:
    """A follow-up that never got through counts as not sent, and the rep hears why; no
    customer waits on it, so the conversation is not handed over."""
    if outbox.exists(session, f"{key}:note"):
        return False
    drafts.retire(session, draft, "failed" if item.private else "undelivered", now=now)
    draft.failure = error
    follow_up = follow_up_decisions.refused(session, draft, error, now=now)
    step = f" (step {follow_up.step})" if follow_up else ""
    log.warning(
        "conversation %s: follow-up D%s%s was not delivered: %s",
        item.conversation_id,
        draft.id,
        step,
        error,
    )
    outbox.add(
        session,
        key=f"{key}:note",
        conversation_id=item.conversation_id,
        content=f"⚠️ Follow-up D{draft.id}{step} did not reach the customer: {notes.defang(error)}",
        now=now,
    )
    return True
