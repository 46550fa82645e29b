"""Drafts that never wait unnoticed: remind the rep, then the on-duty agent or team.

Self-hosted mobile push is known to be unreliable, so a pending draft is mentioned again
after a while. Reminders keep to the inbox's working hours, unless the channel's window
would close before the inbox opens again.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote

from sqlmodel import Session

from core.config import InboxConfig
from workers import drafts, notes, notify, outbox
from workers.context import WorkerContext
from workers.notes import mention
from workers.windows import Window


@dataclass(frozen=True)
class Reminder:
    stage: int  # 1: the rep again; 2: the on-duty agent or team
    text: str


def due_stage(ready_at: datetime, now: datetime, interval: timedelta) -> int:
    """How many reminders a draft ready since ``ready_at`` should have had by ``now``."""
    waited = now - ready_at
    return 0 if waited < interval else (1 if waited < 2 * interval else 2)


def may_remind_now(inbox: InboxConfig, window: Window, now: datetime) -> bool:
    """Inside working hours; outside them only if the window closes before the morning."""
    hours = inbox.working_hours
    if hours is None or hours.is_open(now):
        return True
    return window.closes_at is not None and window.closes_at <= hours.next_open(now)


def reminder(
    draft_id: int, stage: int, *, inbox: InboxConfig, rep: str | None, waited: timedelta
) -> Reminder:
    minutes = int(waited.total_seconds() // 60)
    if stage == 1 or (inbox.on_duty_agent is None and inbox.on_duty_team is None):
        who = rep or "team"
        text = (
            f"⏰ {who}: D{draft_id} has waited {minutes} min for approval. "
            "Reply /send, /skip or /redo."
        )
        return Reminder(stage, text)
    if inbox.on_duty_agent is not None:
        who = mention(inbox.on_duty_agent.id, inbox.on_duty_agent.name)
    else:
        team = inbox.on_duty_team
        assert team is not None
        who = f"[@{team.name}](mention://team/{team.id}/{quote(team.name, safe='')})"
    text = f"⏰ {who}: D{draft_id} has waited {minutes} min and nobody has approved it yet."
    return Reminder(stage, text)


def queue_due(
    session: Session, deps: WorkerContext, *, interval: timedelta
) -> list[tuple[int, dict[str, Any]]]:
    """Queue due reminders for pending drafts: (conversation, notice) for each new one.

    Each stage's note has its own outbox key, so a reminder is written (and noticed) once.
    """
    now = deps.now()
    due: list[tuple[int, dict[str, Any]]] = []
    for draft, conversation in drafts.pending_with_conversations(session):
        assert draft.id is not None and conversation.id is not None
        stage = due_stage(draft.ready_at or draft.created_at, now, interval)
        if stage == 0:
            continue
        inbox = deps.config.inbox(conversation.inbox_id or 0)
        channel_window = drafts.conversation_window(session, conversation, now)
        if not may_remind_now(inbox, channel_window, now):
            continue  # waits for the morning
        note = reminder(
            draft.id,
            stage,
            inbox=inbox,
            rep=notes.mention_for(conversation, inbox),
            waited=now - (draft.ready_at or draft.created_at),
        )
        key = f"draft:{draft.id}:remind:{stage}"
        if outbox.exists(session, key):
            continue
        outbox.add(session, key=key, conversation_id=conversation.id, content=note.text, now=now)
        body = notify.notice(
            "reminder",
            at=now,
            conversation=conversation.display_id,
            draft=f"D{draft.id}",
            stage=stage,
        )
        due.append((conversation.id, body))
    return due
