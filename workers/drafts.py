"""Draft bookkeeping in the database: which customer messages wait, and draft state changes."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ColumnElement, update
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select
from sqlmodel.sql.expression import SelectOfScalar

from core.models import Conversation, Draft, DraftMessage, Message, OutboxItem
from workers import follow_up_decisions
from workers.windows import Window, window

LIVE = ("pending", "sent", "edited")
DECIDED_LIVE = ("sent", "edited")


# A draft decided this way answers the customer messages it covers: sent or edited (the
# bot's bubbles answer exactly what their draft covered, however late their echo comes),
# skipped (a rep chose not to answer) or expired (the rep was told the window closed).
ANSWERED = ("sent", "edited", "skipped", "expired")


def covered_by(states: tuple[str, ...]) -> SelectOfScalar[int]:
    """Ids of the messages covered by drafts in one of ``states``."""
    return select(DraftMessage.message_id).join(Draft).where(col(Draft.state).in_(states))


def human_replied_after() -> ColumnElement[bool]:
    """True for a message that a human's public reply follows in its conversation.

    Only a human's reply answers whatever it follows; the bot's own bubbles never do.
    Chatwoot's message ids grow with every message it stores, so they give the order.
    """
    reply = aliased(Message)
    return (
        select(reply.id)
        .where(
            reply.conversation_id == Message.conversation_id,
            reply.sender_kind == "human",
            reply.message_type == "outgoing",
            col(reply.private).is_(False),
            col(reply.id) > col(Message.id),
        )
        .exists()
    )


def waiting_messages(session: Session, conversation_id: int) -> list[Message]:
    """Customer messages a reply should answer, oldest first.

    That is every public customer message no answering draft covers (see ``ANSWERED``) and
    no human's reply follows. Messages a pending draft covers still wait: a new draft
    replaces the pending one and covers them too.
    """
    query = select(Message).where(
        Message.conversation_id == conversation_id,
        Message.sender_kind == "customer",
        col(Message.private).is_(False),
        col(Message.id).not_in(covered_by(ANSWERED)),
        ~human_replied_after(),
    )
    return list(session.exec(query.order_by(col(Message.created_at), col(Message.id))))


def last_customer_message_at(session: Session, conversation_id: int) -> datetime | None:
    """When the customer last wrote, as Meta counts its window: Chatwoot's timestamp, or
    Wingman's receive time if that is earlier (never later than the truth)."""
    row = session.exec(
        select(Message.created_at, Message.received_at)
        .where(
            Message.conversation_id == conversation_id,
            Message.sender_kind == "customer",
            col(Message.private).is_(False),
        )
        .order_by(col(Message.created_at).desc())
    ).first()
    return min(row) if row else None


def conversation_window(session: Session, conversation: Conversation, now: datetime) -> Window:
    """The conversation's messaging window now: its channel, the contact's channel id,
    Chatwoot's latest ``can_reply``, and the customer's last message."""
    assert conversation.id is not None
    return window(
        conversation.channel,
        last_customer_message_at(session, conversation.id),
        now,
        source_id=conversation.contact_source_id,
        can_reply=conversation.can_reply,
    )


def history(session: Session, conversation_id: int) -> list[Message]:
    query = select(Message).where(Message.conversation_id == conversation_id)
    return list(session.exec(query.order_by(col(Message.created_at), col(Message.id))))


def earlier_messages(
    session: Session, contact_id: int, conversation_id: int, *, limit: int
) -> list[Message]:
    """The newest ``limit`` messages of the contact's other conversations, oldest first."""
    query = (
        select(Message)
        .join(Conversation, col(Conversation.id) == col(Message.conversation_id))
        .where(Conversation.contact_id == contact_id, Conversation.id != conversation_id)
        .order_by(col(Message.created_at).desc(), col(Message.id).desc())
        .limit(limit)
    )
    return list(reversed(session.exec(query).all()))


def pending_draft(session: Session, conversation_id: int, *, lock: bool = False) -> Draft | None:
    """The newest pending draft of a conversation (there is at most one)."""
    query = (
        select(Draft)
        .where(Draft.conversation_id == conversation_id, Draft.state == "pending")
        .order_by(col(Draft.id).desc())
    )
    return session.exec(query.with_for_update() if lock else query).first()


def covered_ids(session: Session, draft: Draft) -> set[int]:
    query = select(DraftMessage.message_id).where(DraftMessage.draft_id == draft.id)
    return set(session.exec(query))


def retire(session: Session, draft: Draft, state: str, *, now: datetime | None = None) -> None:
    """Move a draft out of "pending"; a draft that is no longer live releases its messages."""
    draft.state = state
    if now is not None:
        draft.decided_at = now
    if state not in LIVE:
        session.execute(
            update(DraftMessage)
            .where(col(DraftMessage.draft_id) == draft.id)
            .values(live_message_id=None)
        )


def cover(session: Session, draft: Draft, messages: list[Message]) -> None:
    assert draft.id is not None
    for message in messages:
        session.add(
            DraftMessage(draft_id=draft.id, message_id=message.id, live_message_id=message.id)
        )


def pending_with_conversations(session: Session) -> list[tuple[Draft, Conversation]]:
    query = (
        select(Draft, Conversation)
        .join(Conversation, col(Draft.conversation_id) == col(Conversation.id))
        .where(Draft.state == "pending")
        .order_by(col(Draft.id))
    )
    return [(draft, conversation) for draft, conversation in session.exec(query)]


def expire_closed_windows(session: Session, *, now: datetime) -> list[Draft]:
    """Pending drafts that can no longer be sent inside their channel's window: expired."""
    expired = []
    for draft, conversation in pending_with_conversations(session):
        if follow_up_decisions.template_of(session, draft) is not None:
            continue  # an approved template is what a closed window still takes
        if not conversation_window(session, conversation, now).open:
            retire(session, draft, "expired", now=now)
            follow_up_decisions.decided(session, draft, "expired", now=now)
            expired.append(draft)
    return expired


def record_sent(session: Session, conversation_id: int) -> None:
    """Stamp ``sent_at`` on approved drafts whose every bubble Chatwoot has confirmed."""
    drafts = session.exec(
        select(Draft).where(
            Draft.conversation_id == conversation_id,
            col(Draft.state).in_(DECIDED_LIVE),
            col(Draft.sent_at).is_(None),
        )
    ).all()
    for draft in drafts:
        bubbles = session.exec(
            select(OutboxItem).where(
                OutboxItem.draft_id == draft.id, col(OutboxItem.key).contains(":bubble:")
            )
        ).all()
        if bubbles and all(item.state == "sent" for item in bubbles):
            draft.sent_at = max(item.sent_at for item in bubbles if item.sent_at)
