"""Handing a conversation to humans: status open, the on-duty agent or team, and why.

Chatwoot treats a bot setting a pending conversation open as a bot handoff
(``Conversation#bot_handoff!``): it notifies the inbox's agents.
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session

from core.config import InboxConfig
from core.db import session_scope
from core.models import Conversation, Handoff
from core.vocabulary import HANDOFF_REASONS
from workers import drafts, notes, notify, outbox
from workers.context import WorkerContext

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


def hand_over(
    conversation_id: int, deps: WorkerContext, *, reason: str, key: str, why: str | None = None
) -> None:
    """Hand a conversation to humans. Without ``why`` (autonomy off) there is no note and no
    assignment; with it, a note for the rep or on-duty agent and the inbox's assignment.
    The caller posts what it queued (``outgoing.post``), which hands off in turn."""
    with session_scope(deps.engine) as session:
        conversation = session.get(Conversation, conversation_id)
        if conversation is None:
            return
        inbox = deps.config.inbox(conversation.inbox_id or 0)
        note = None
        if why is not None:
            waiting = drafts.waiting_messages(session, conversation_id)
            note = notes.handoff_note(why, None, waiting)
            mention = notes.mention_for(conversation, inbox)
            note = f"{mention} {note}" if mention else note
        hand_off(
            session,
            conversation_id,
            reason=reason,
            key=key,
            now=deps.now(),
            inbox=inbox,
            note=note,
            assign=why is not None,
        )
        display_id = conversation.display_id
    deps.notify(notify.notice("handoff", at=deps.now(), conversation=display_id, reason=reason))
