"""Replies that never got through are no answer: a human takes the conversation.

Chatwoot may refuse a post for good (a 4xx), or accept it and have the channel refuse it
later (``external_error``, e.g. WhatsApp outside its 24-hour window). Either way the
customer's question is still open, so the draft is marked ``undelivered`` (its messages
are no longer answered by it) and the conversation is handed to a human with what went
wrong, once per draft. A draft note Chatwoot refused is the same story one step earlier:
no rep ever saw the draft, so it is marked ``failed`` and handed over too.
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session

from core.config import InboxConfig
from core.models import Draft
from workers import drafts, handoffs, notes, outbox


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
