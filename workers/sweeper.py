"""The safety net that leaves no customer unanswered.

Something upstream went wrong when a customer message is still unanswered well past the
longest wait (Redis flushed, a timer job lost, a worker killed). The sweeper finds such
conversations from the database alone and starts their reply timer again. Each rescue is
logged as a warning, because each is a bug somewhere else.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import Session, col, select

from core.autonomy import inbox_autonomy
from core.config_store import ConfigStore
from core.db import session_scope
from core.models import Conversation, Message
from core.settings import Settings
from workers import drafts, handoffs, outbox, outgoing
from workers.context import WorkerContext
from workers.debounce import ReplyTimer
from workers.gate import bot_may_act

log = logging.getLogger(__name__)

# A pending draft needs no rescue either: a rep has it, and reminders follow.
ANSWERING = ("pending", *drafts.ANSWERED)


@dataclass(frozen=True)
class Rescue:
    conversation_id: int
    display_id: int
    first_waiting: datetime  # Wingman's receive time of the oldest unanswered message
    # Even the newest unanswered message is older than the sweeper's reach: too late for a
    # bot reply, so the conversation goes to a human instead.
    overdue: bool = False


def unanswered(
    session: Session,
    *,
    now: datetime,
    max_age: timedelta,
    max_wait: timedelta,
    config: ConfigStore,
    serves: Callable[[int], bool] = lambda _account: True,
) -> list[Rescue]:
    """Conversations the bot should answer whose customer messages nobody has answered.

    Only messages that arrived by webhook (not by import), not covered by a pending or
    answering draft, and with no human's reply after them, in conversations the bot may
    act in. A conversation is rescued once its oldest such message is older than
    ``max_wait``; it is overdue once even its newest is older than ``max_age`` (after an
    outage, say). Whether a job is already queued or running is the caller's check (Redis).
    """
    candidates = session.exec(
        select(Message, Conversation)
        .join(Conversation, col(Message.conversation_id) == col(Conversation.id))
        .where(
            Message.sender_kind == "customer",
            Message.message_type == "incoming",
            col(Message.private).is_(False),
            Message.origin == "webhook",
            Conversation.status == "pending",
            col(Message.id).not_in(drafts.covered_by(ANSWERING)),
            ~drafts.human_replied_after(),
        )
        .order_by(col(Message.received_at))
    ).all()
    waiting: dict[int, tuple[Conversation, datetime, datetime]] = {}
    for message, conversation in candidates:
        assert conversation.id is not None
        oldest = waiting[conversation.id][1] if conversation.id in waiting else message.received_at
        waiting[conversation.id] = (conversation, oldest, message.received_at)
    rescues = []
    for conversation, oldest, newest in waiting.values():
        assert conversation.id is not None
        if oldest > now - max_wait or not serves(conversation.account_id):
            continue
        if not bot_may_act(
            status=conversation.status,
            autonomy=inbox_autonomy(session, conversation.inbox_id or 0, config),
            muted=conversation.bot_muted,
        ).answer:
            continue
        overdue = newest < now - max_age
        rescues.append(Rescue(conversation.id, conversation.display_id, oldest, overdue))
    return rescues


def rescue_unanswered(deps: WorkerContext, reply_timer: ReplyTimer, settings: Settings) -> int:
    """Restart the reply timer of conversations left unanswered; an overdue one goes to the
    team instead. Returns how many were rescued."""
    with session_scope(deps.engine) as session:
        rescues = unanswered(
            session,
            now=deps.now(),
            max_age=timedelta(seconds=settings.reply_sweep_max_age_seconds),
            max_wait=timedelta(seconds=settings.reply_max_wait_seconds),
            config=deps.config,
            serves=settings.serves,
        )
    rescued = 0
    for rescue in rescues:
        if reply_timer.busy(rescue.conversation_id):
            continue  # a timer is queued or a draft is being written
        if rescue.overdue:
            key = f"overdue:{rescue.conversation_id}:{int(rescue.first_waiting.timestamp())}"
            with session_scope(deps.engine) as session:
                if outbox.exists(session, f"{key}:open"):
                    continue  # handed off already; Chatwoot's status change is on its way
            log.warning(
                "conversation %s: customer messages since %s went unanswered for longer than "
                "REPLY_SWEEP_MAX_AGE_SECONDS (a worker or Redis outage?); handing it to the team",
                rescue.display_id,
                rescue.first_waiting.isoformat(),
            )
            minutes = int(settings.reply_sweep_max_age_seconds // 60)
            handoffs.hand_over(
                rescue.conversation_id,
                deps,
                reason="overdue",
                key=key,
                why=f"Wingman could not answer within {minutes} minutes",
            )
            outgoing.post(rescue.conversation_id, deps)
            rescued += 1
            continue
        log.warning(
            "rescuing conversation %s: a customer message from %s is unanswered and no reply "
            "job is queued (was Redis flushed or a worker killed?)",
            rescue.display_id,
            rescue.first_waiting.isoformat(),
        )
        reply_timer.touch(rescue.conversation_id, rescue.first_waiting.timestamp())
        rescued += 1
    return rescued
