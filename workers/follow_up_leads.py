"""What the database says about possible dormant leads: the conversations whose customer
went quiet after our reply, and each one's facts for ``workers.follow_up_plan``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func
from sqlmodel import Session, col, select

from core.autonomy_levels import Autonomy
from core.models import Conversation, Draft, DraftMessage, FollowUp, Message
from core.opt_outs import opted_out
from experiments.outcomes import outcome
from workers.drafts import DECIDED_LIVE
from workers.follow_up_plan import LeadFacts

# States that count towards the per-contact cap: follow-ups out, or on their way.
COUNTED = ("queued", "pending", "sent")


@dataclass(frozen=True)
class Quiet:
    """A conversation whose customer has not written since ``last_customer_at``."""

    conversation: Conversation
    last_customer_id: int
    # As Meta counts its window: Chatwoot's time, or Wingman's receive time if earlier.
    last_customer_at: datetime


def quiet_since(
    session: Session, inbox_id: int, *, before: datetime, statuses: tuple[str, ...]
) -> list[Quiet]:
    """Conversations of the inbox in one of ``statuses``, not muted, with a contact, whose
    customer last wrote before ``before`` (the first step's delay ago)."""
    last = (
        select(Message.conversation_id, func.max(Message.id).label("last_id"))
        .where(
            Message.sender_kind == "customer",
            Message.message_type == "incoming",
            col(Message.private).is_(False),
        )
        .group_by(col(Message.conversation_id))
        .subquery()
    )
    query = (
        select(Conversation, Message)
        .join(last, last.c.conversation_id == col(Conversation.id))
        .join(Message, col(Message.id) == last.c.last_id)
        .where(
            Conversation.inbox_id == inbox_id,
            col(Conversation.status).in_(statuses),
            col(Conversation.bot_muted).is_(False),
            col(Conversation.contact_id).is_not(None),
            Message.created_at < before,
        )
        .order_by(col(Conversation.id))
    )
    return [
        Quiet(conversation, message.id, min(message.created_at, message.received_at))
        for conversation, message in session.exec(query)
    ]


def replied_after(session: Session, conversation_id: int, message_id: int) -> bool:
    """Whether our answer followed the customer's message: a human's or the bot's public
    reply after it, or a sent draft that covers it (its echo may not be stored yet)."""
    reply = session.exec(
        select(Message.id).where(
            Message.conversation_id == conversation_id,
            col(Message.sender_kind).in_(("human", "bot")),
            Message.message_type == "outgoing",
            col(Message.private).is_(False),
            col(Message.id) > message_id,
        )
    ).first()
    if reply is not None:
        return True
    covering = session.exec(
        select(Draft.id)
        .join(DraftMessage, col(DraftMessage.draft_id) == col(Draft.id))
        .where(DraftMessage.message_id == message_id, col(Draft.state).in_(DECIDED_LIVE))
    ).first()
    return covering is not None


def facts(session: Session, quiet: Quiet, *, autonomy: Autonomy) -> LeadFacts:
    conversation = quiet.conversation
    assert conversation.id is not None
    replied = replied_after(session, conversation.id, quiet.last_customer_id)
    return LeadFacts(
        status=conversation.status,
        human_assignee=conversation.assignee_type == "User",
        muted=conversation.bot_muted,
        opted_out=opted_out(session, conversation.contact_id),
        outcome_known=outcome(conversation).known,
        customer_messages=1,
        replied=replied,
        last_word_ours=replied,
        autonomy=autonomy,
    )


def recorded_steps(session: Session, conversation_id: int, after_message_id: int) -> set[int]:
    query = select(FollowUp.step).where(
        FollowUp.conversation_id == conversation_id,
        FollowUp.after_message_id == after_message_id,
    )
    return set(session.exec(query))


def recent_follow_ups(
    session: Session, contact_id: int, *, now: datetime, period: timedelta
) -> int:
    """Follow-ups out (or on their way) to the contact within the period, for the cap."""
    query = select(func.count()).where(
        FollowUp.contact_id == contact_id,
        col(FollowUp.state).in_(COUNTED),
        FollowUp.created_at >= now - period,
    )
    return int(session.exec(query).one())


def newest_customer_message(session: Session, conversation_id: int) -> int | None:
    query = select(func.max(Message.id)).where(
        Message.conversation_id == conversation_id,
        Message.sender_kind == "customer",
        Message.message_type == "incoming",
        col(Message.private).is_(False),
    )
    return session.exec(query).one()
