"""Where a message of unknown fate may show up: its stored echo, or Chatwoot itself.

The evidence ``workers.posting`` weighs before posting an outbox item again; each message
carries Wingman's key (``outbox.MARKER``), which is what is looked for.
"""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import Session, col, select

from core.models import Message, OutboxItem
from workers.outbox import MARKER, Poster, marker

# Clocks of Chatwoot and Wingman differ a little; an echo may be stamped slightly early.
ECHO_SKEW = timedelta(seconds=30)
# How far back the user-token check pages through a conversation (20 messages a page).
SETTLE_PAGES = 5


def chatwoot_has(chatwoot: Poster, display_id: int, item: OutboxItem) -> tuple[int | None, bool]:
    """(the id of the message carrying the item's key, or None; whether a None is
    conclusive). Only the message list (user token) can show a message is absent, and only
    when it reaches back past the attempt."""
    key = marker(item)
    snapshot = chatwoot.get_conversation(display_id)
    for message in (snapshot.last_message, snapshot.last_non_activity_message):
        if message is not None and message.content_attributes.get(MARKER) == key:
            return message.id, True
    if not chatwoot.can_list_messages:
        return None, False
    oldest = (item.attempt_started_at or item.created_at) - ECHO_SKEW
    before: int | None = None
    for _ in range(SETTLE_PAGES):
        page = chatwoot.list_messages(display_id, before=before)
        for message in page:
            if message.content_attributes.get(MARKER) == key:
                return message.id, True
        if not page or page[0].created_at < oldest:
            return None, True
        before = page[0].id
    return None, False  # busier than SETTLE_PAGES pages since: can't tell


def stored_echo(session: Session, item: OutboxItem) -> int | None:
    """The id of the item's webhook echo, if Wingman has already stored it."""
    key = marker(item)
    started = item.attempt_started_at
    query = select(Message).where(
        Message.conversation_id == item.conversation_id, Message.sender_kind == "bot"
    )
    if started is not None:
        query = query.where(Message.created_at >= started - ECHO_SKEW)
    for message in session.exec(query.order_by(col(Message.id))):
        if (message.content_attributes or {}).get(MARKER) == key:
            return message.id
    return None
