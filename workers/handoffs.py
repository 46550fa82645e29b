"""Handing a conversation to humans: status open, the on-duty agent or team, and why.

Chatwoot treats a bot setting a pending conversation open as a bot handoff
(``Conversation#bot_handoff!``): it notifies the inbox's agents.
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session

from bot.config import InboxConfig
from bot.models import Handoff
from workers import outbox

REASONS = (
    "customer_asked",
    "upset",
    "ready_to_pay",
    "missing_knowledge",
    "claude_failed",
    "not_configured",
    "rep_command",
    "autonomy_off",
    "spend_cap",
    "send_failed",
    "overdue",
)


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
