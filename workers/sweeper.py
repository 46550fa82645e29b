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
from core.models import Conversation, Message
from workers import drafts
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
