"""Handing a conversation to humans: status open, the on-duty agent or team, and why.

Chatwoot treats a bot setting a pending conversation open as a bot handoff
(``Conversation#bot_handoff!``): it notifies the inbox's agents.
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session

from core.config import InboxConfig
from core.models import Conversation, Handoff
from core.vocabulary import HANDOFF_REASONS
from workers import outbox

REASONS = HANDOFF_REASONS


def hand_off(
    session: Session,
    conversation_id: int,
    *,
    reason: str,
    key: str,
    now: datetime,
    inbox: InboxConfig,
    note: str | None = None,
    draft_id: int | None = None,
    actor: int | None = None,
    assign: bool = True,
) -> bool:
    """Record the handoff and queue what Chatwoot must do, under ``key``; a second call with
    the same key does nothing. Returns whether this call handed off."""
    if reason not in REASONS:
        raise ValueError(f"unknown handoff reason {reason!r}; expected one of {REASONS}")
    if outbox.exists(session, f"{key}:open"):
        return False
    conversation = session.get(Conversation, conversation_id, with_for_update=True)
    if conversation is not None and not conversation.bot_muted:
        # Silent from now on, not from when Chatwoot's status change comes back as a
        # webhook (late, or never): until then the conversation still looks pending.
        # Like a takeover, /bot on or the customer reopening a resolved chat lifts it.
        conversation.bot_muted, conversation.bot_muted_reason = True, "handoff"
        conversation.bot_muted_at = now
    session.add(
        Handoff(
            conversation_id=conversation_id,
            reason=reason,
            note=note,
            draft_id=draft_id,
            actor=actor,
            created_at=now,
        )
    )
    if note:
        outbox.add(
            session, key=f"{key}:note", conversation_id=conversation_id, content=note, now=now
        )
    outbox.set_status(session, conversation_id, "open", key=key, now=now)
    if assign and inbox.on_duty_agent is not None:
        target = f"agent:{inbox.on_duty_agent.id}"
    elif assign and inbox.on_duty_team is not None:
        target = f"team:{inbox.on_duty_team.id}"
    else:
        return True
    outbox.add(
        session,
        key=f"{key}:assign",
        conversation_id=conversation_id,
        content=target,
        action="assign",
        now=now,
    )
    return True
