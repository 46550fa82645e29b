"""Routing a stored delivery: apply it, then decide what it asks Wingman to do.

A plain function of a session, the config and the time, so tests call it directly.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import update
from sqlmodel import Session, col, select

from chatwoot.event_data import MessageData
from chatwoot.events import parse_event
from chatwoot.senders import SenderKind
from core import stop_words
from core.autonomy import inbox_autonomy
from core.autonomy_levels import Autonomy
from core.config_store import ConfigStore
from core.models import Conversation, Delivery, Message
from core.opt_outs import opt_out
from core.store import apply_pending
from workers import commands, follow_ups, outbox
from workers.actions import Action, HandOff, HumanReplied, OwnEcho, RunCommand, Touch
from workers.gate import may_answer
from workers.parking import MAX_ATTEMPTS, park
from workers.windows import channel_name

log = logging.getLogger(__name__)


def route(
    session: Session,
    delivery_id: int,
    *,
    config: ConfigStore,
    now: datetime,
    serves: Callable[[int], bool] = lambda _account: True,
    max_attempts: int = MAX_ATTEMPTS,
    max_age: timedelta | None = None,
) -> list[Action] | None:
    """What a stored delivery asks Wingman to do; None if it was already processed or is
    parked.

    A customer message processed more than ``max_age`` after it arrived (its job was lost
    in an outage and the delivery sweeper brought it back) is too late for a bot reply: it
    goes to the team, as the reply sweeper does with one left unanswered that long.

    Each run counts an attempt, committed with the routing before any action runs, so a
    worker that dies mid-way leaves its count behind; a delivery that already had
    ``max_attempts`` runs is parked instead of run again (see ``record_failure``).

    Decisions use the conversation as stored (the newest state seen), not the payload's
    copy, which may be older than events applied before it. Events from accounts Wingman
    doesn't serve (``serves``) are kept but ask nothing. A message sets off actions once:
    the first delivery that routes it claims it, and any other delivery of the same message
    (a replay under a new delivery id, a second message_created) does nothing, so a
    replayed old ``/bot on`` can't undo a later ``/bot off``. The echo of Wingman's own
    message is the exception: each of its deliveries may carry news (``external_error``),
    and settling it twice changes nothing.
    """
    # Locked: a second run of the same job, or a job applying this delivery as an earlier
    # one of its conversation (store.apply_pending), waits and then reads what it did.
    delivery = session.exec(
        select(Delivery)
        .where(Delivery.id == delivery_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).first()
    if delivery is None or delivery.processed_at is not None or delivery.parked_at is not None:
        return None
    if delivery.attempts >= max_attempts:
        reason = f"processing stopped {delivery.attempts} times without finishing"
        if delivery.last_error:
            reason += f"; last error: {delivery.last_error}"
        park(delivery, reason=reason, now=now)
        return None
    delivery.attempts += 1
    apply_pending(session, delivery, now=now)
    if delivery.event not in ("message_created", "message_updated"):
        return []
    event = parse_event(json.loads(delivery.body))
    if not serves(event.account.id):
        _not_served(event.account.id)
        return []
    message, payload_conversation = event.message, event.conversation
    if message is None or payload_conversation is None:
        return []
    conversation = session.exec(
        select(Conversation).where(
            Conversation.account_id == payload_conversation.account_id,
            Conversation.display_id == payload_conversation.display_id,
        )
    ).first()
    stored = session.get(Message, message.id)
    if conversation is None or conversation.id is None or stored is None:
        return []  # deleted since it was stored (a forgotten contact's)
    if message.sender_kind is SenderKind.BOT:
        key = message.content_attributes.get(outbox.MARKER)
        if not isinstance(key, str):
            return []
        error = message.content_attributes.get("external_error")
        failed = str(error)[:500] if error else None
        return [OwnEcho(conversation.id, message.id, key, channel_error=failed)]
    # message_updated asks nothing more: a voice note's transcription that follows it lands
    # within the quiet period and is read from the database when the draft is written.
    if delivery.event != "message_created":
        return []
    actions = _actions(session, message, conversation, stored, config=config)
    if max_age is not None and any(isinstance(a, Touch) for a in actions):
        arrived = stored.received_at
        if now - arrived > max_age:
            minutes = int(max_age.total_seconds() // 60)
            actions = [
                HandOff(
                    conversation.id,
                    "overdue",
                    key=f"overdue:{conversation.id}:{int(arrived.timestamp())}",
                    why=f"Wingman could not answer within {minutes} minutes",
                )
            ]
    if actions:
        holder = _claim(session, message.id, delivery_id)
        if holder is not None:
            log.warning(
                "delivery %s repeats message %s, already acted on by delivery %s: "
                "ignored (a replay?)",
                delivery_id,
                message.id,
                holder,
            )
            return []
    return actions


def _actions(
    session: Session,
    message: MessageData,
    conversation: Conversation,
    stored: Message,
    *,
    config: ConfigStore,
) -> list[Action]:
    assert conversation.id is not None
    if message.sender_kind is SenderKind.CUSTOMER and not message.private:
        _warn_unknown_channel(conversation)
        _customer_wrote(session, conversation, message, config=config, now=stored.received_at)
        autonomy = inbox_autonomy(session, conversation.inbox_id or 0, config)
        verdict = may_answer(
            message_type=message.message_type,
            sender_kind=message.sender_kind.value,
            private=message.private,
            status=conversation.status,
            autonomy=autonomy,
            muted=conversation.bot_muted,
        )
        if verdict.answer:
            return [Touch(conversation.id, stored.received_at.timestamp())]
        if conversation.status == "pending" and autonomy is Autonomy.OFF:
            # With the bot attached but off, a new conversation would stay pending, hidden
            # from the team's default view, with nobody answering.
            return [HandOff(conversation.id, "autonomy_off", key=f"autonomy-off:{message.id}")]
    elif message.sender_kind is SenderKind.HUMAN and not message.private:
        text = message.content or ""
        return [HumanReplied(conversation.id, message.id, text, message.sender_id)]
    elif message.sender_kind is SenderKind.HUMAN and message.private:
        command = commands.parse(message.content)
        if command is not None:
            return [RunCommand(conversation.id, command, message.id, message.sender_id)]
    return []


def _customer_wrote(
    session: Session,
    conversation: Conversation,
    message: MessageData,
    *,
    config: ConfigStore,
    now: datetime,
) -> None:
    """Every customer message, whatever the bot does next (muted, assigned, Claude down):
    it cancels the conversation's follow-ups on their way, and an opt-out in the inbox's
    languages is recorded for good. Both are idempotent, so a re-run changes nothing."""
    assert conversation.id is not None
    follow_ups.cancel_open(
        session,
        conversation.id,
        reason="customer_wrote: the customer wrote again before it went out",
        now=now,
    )
    if conversation.contact_id is None:
        return
    locales = config.inbox(conversation.inbox_id or 0).locales
    phrase = stop_words.opt_out_phrase(message.content, locales)
    if phrase is not None:
        opt_out(
            session,
            conversation.contact_id,
            source="keyword",
            detail=phrase,
            conversation_id=conversation.id,
            now=now,
        )
        follow_ups.cancel_for_contact(
            session, conversation.contact_id, reason="opted_out: the contact opted out", now=now
        )


_UNKNOWN_CHANNEL_LOGGED: set[int] = set()


def _warn_unknown_channel(conversation: Conversation) -> None:
    """Say once per inbox (and process) that its channel fails closed."""
    name, known = channel_name(conversation.channel, conversation.contact_source_id)
    inbox = conversation.inbox_id or 0
    if known or inbox in _UNKNOWN_CHANNEL_LOGGED:
        return
    _UNKNOWN_CHANNEL_LOGGED.add(inbox)
    log.warning(
        "inbox %s is on %s: Wingman doesn't know its messaging window, so it writes drafts "
        "only (never autopilot) and treats the window as 24 hours",
        inbox,
        name,
    )


_NOT_SERVED_LOGGED: set[int] = set()


def _not_served(account_id: int) -> None:
    """Say once per account (and process) that its events are kept but not acted on."""
    if account_id in _NOT_SERVED_LOGGED:
        return
    _NOT_SERVED_LOGGED.add(account_id)
    log.warning(
        "events from Chatwoot account %s are stored but not acted on: it is not in "
        "CHATWOOT_ACCOUNT_IDS (add it there, or detach the bot from that account's inboxes)",
        account_id,
    )


def _claim(session: Session, message_id: int, delivery_id: int) -> int | None:
    """Make ``delivery_id`` the delivery that acts on the message, in the routing
    transaction, before anything is done; returns the other delivery if one holds it.

    On PostgreSQL a concurrent claim waits for the row lock, then re-reads the row and
    finds it taken; SQLite's BEGIN IMMEDIATE serialises the two.
    """
    session.execute(
        update(Message)
        .where(col(Message.id) == message_id, col(Message.handled_by_delivery_id).is_(None))
        .values(handled_by_delivery_id=delivery_id)
    )
    query = select(Message.handled_by_delivery_id).where(Message.id == message_id)
    holder = session.exec(query).one()
    return None if holder == delivery_id else holder
