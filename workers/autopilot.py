"""Autopilot: a draft that passed every guardrail, in an open window, goes out as public
messages, marked as automated, with the model's handoff suggestion acted on."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, select

from core.config import InboxConfig
from core.models import Draft, Message, OutboxItem
from workers import drafts, handoffs, notes, outbox
from workers.llm import Reply
from workers.text import join_bubbles

# The model's handoff suggestions, as the handoff reasons the bot records itself.
AUTOPILOT_HANDOFFS = {
    "upset": "upset",
    "ready_to_pay": "ready_to_pay",
    "missing_knowledge": "missing_knowledge",
}


def send(
    session: Session,
    conversation_id: int,
    draft: Draft,
    reply: Reply,
    *,
    inbox: InboxConfig,
    waiting: list[Message],
    now: datetime,
) -> None:
    """Send the bubbles as public messages, marked as automated; hand off if the model says so.

    Only called once every guardrail passed and the channel window is open.
    """
    assert draft.id is not None
    bubbles = list(draft.bubbles)
    if not _has_sent_before(session, conversation_id):
        # Some channels and laws require automated messages to say so; once per conversation.
        bubbles[0] = f"{bubbles[0]} {inbox.disclosure}"
    drafts.retire(session, draft, "sent", now=now)
    draft.sent_text, draft.edit_distance, draft.sent_at = join_bubbles(bubbles), 0.0, None
    for position, bubble in enumerate(bubbles):
        outbox.add(
            session,
            key=f"draft:{draft.id}:bubble:{position}",
            conversation_id=conversation_id,
            draft_id=draft.id,
            content=bubble,
            private=False,
            action="autoreply",
            position=position,
            now=now,
        )
    if reply.handoff is not None and reply.handoff.reason in AUTOPILOT_HANDOFFS:
        handoffs.hand_off(
            session,
            conversation_id,
            reason=AUTOPILOT_HANDOFFS[reply.handoff.reason],
            key=f"draft:{draft.id}:handoff",
            now=now,
            inbox=inbox,
            note=notes.handoff_note(
                notes.HANDOFF_LABELS[reply.handoff.reason], reply.handoff.note, waiting
            ),
            draft_id=draft.id,
        )


def _has_sent_before(session: Session, conversation_id: int) -> bool:
    query = select(OutboxItem.id).where(
        OutboxItem.conversation_id == conversation_id, OutboxItem.action == "autoreply"
    )
    return session.exec(query).first() is not None
