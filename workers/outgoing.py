"""Posting what the outbox holds for a conversation, and settling Chatwoot's echoes of it.

Every core function that queues a message ends by calling ``post``; a transient Chatwoot
failure schedules a retry through ``WorkerContext.retry_later``.
"""

from __future__ import annotations

from sqlmodel import Session

from core.db import session_scope
from core.models import Conversation
from workers import drafts, notes, outbox, posting, undelivered
from workers.actions import OwnEcho
from workers.context import WorkerContext


def post(conversation_id: int, deps: WorkerContext, *, attempt: int = 0) -> None:
    """Post what the outbox holds for the conversation; schedule a retry if Chatwoot fails.

    Chatwoot failures don't count against Claude's budget: the outbox keeps retrying. A
    public post refused for good hands the conversation to a human, whose note then goes
    out in the same call.
    """
    if deps.chatwoot is None:
        return
    for _ in range(2):
        try:
            posting.deliver_pending(
                deps.engine, conversation_id, deps.chatwoot, now=deps.now, pause=deps.pause
            )
        except outbox.RetryLater:
            deps.retry_later(conversation_id, attempt)
            return
        with session_scope(deps.engine) as session:
            drafts.record_sent(session, conversation_id)
            if not _hand_off_refused(session, conversation_id, deps):
                return


def _hand_off_refused(session: Session, conversation_id: int, deps: WorkerContext) -> bool:
    conversation = session.get(Conversation, conversation_id)
    if conversation is None:
        return False
    inbox = deps.config.inbox(conversation.inbox_id or 0)
    return undelivered.hand_off_refused(
        session,
        conversation_id,
        now=deps.now(),
        inbox=inbox,
        mention=notes.mention_for(conversation, inbox),
    )


def settle_echo(action: OwnEcho, deps: WorkerContext) -> None:
    """Chatwoot echoed one of Wingman's messages: settle its outbox item if still open, and
    hand the conversation over if the channel refused it."""
    with session_scope(deps.engine) as session:
        changed = outbox.settle_echo(
            session,
            conversation_id=action.conversation_id,
            message_id=action.message_id,
            key=action.key,
            now=deps.now(),
        )
        if action.channel_error is not None:
            refused = outbox.channel_refused(
                session,
                conversation_id=action.conversation_id,
                key=action.key,
                error=action.channel_error,
            )
            changed = changed or (refused.key if refused else None)
    if changed is not None:
        post(action.conversation_id, deps)
