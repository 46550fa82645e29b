"""The outbox: every note, reply bubble and status change Wingman sends to Chatwoot.

Each is written here first, in the same transaction as the decision that makes it, under
a key that can only be written once, and marked when Chatwoot confirms it; posting is
``workers.posting``'s job. Each message carries Wingman's own key in its
``content_attributes`` (``MARKER``): Chatwoot stores such keys and returns them in the
create response, in webhooks and in show-conversation (CONTRACT-NEXT §7-8), so the key
identifies the message whatever its text, and its echo settles what the outbox couldn't.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlmodel import Session, col, select

from chatwoot.types import ChatwootMessage, ConversationSnapshot
from core.models import OutboxItem
from core.upserts import dialect_insert
from workers import notes

log = logging.getLogger(__name__)

# pending: never tried, or Chatwoot refused it; sending: an attempt is (or was, if the
# worker died) in flight; unknown: an attempt ended without Chatwoot's answer.
UNSENT = ("pending", "sending", "unknown")
# Actions that post a message ("autoreply": an autopilot bubble, paced like a person types;
# "template": an approved WhatsApp template, which no messaging window holds back).
MESSAGES = ("message", "autoreply", "template")
# The content_attributes key every message Wingman posts carries (see the module docs).
MARKER = "wingman"


class Poster(Protocol):
    """The part of ``chatwoot.client.ChatwootClient`` the outbox uses."""

    def for_account(self, account_id: int) -> Poster: ...

    @property
    def can_list_messages(self) -> bool: ...

    def create_message(
        self,
        conversation_id: int,
        content: str,
        *,
        private: bool = False,
        content_attributes: Mapping[str, Any] | None = None,
        template_params: Mapping[str, Any] | None = None,
    ) -> ChatwootMessage: ...

    def list_messages(
        self, conversation_id: int, *, before: int | None = None, after: int | None = None
    ) -> list[ChatwootMessage]: ...

    def toggle_status(self, conversation_id: int, status: str) -> str: ...

    def toggle_typing(self, conversation_id: int, on: bool) -> None: ...

    def assign(
        self, conversation_id: int, *, assignee_id: int | None = None, team_id: int | None = None
    ) -> None: ...

    def get_conversation(self, conversation_id: int) -> ConversationSnapshot: ...


class RetryLater(Exception):
    """Chatwoot failed transiently; the job should run again after a wait."""


def add(
    session: Session,
    *,
    key: str,
    conversation_id: int,
    content: str,
    now: datetime,
    private: bool = True,
    action: str = "message",
    draft_id: int | None = None,
    position: int = 0,
    template_params: dict[str, Any] | None = None,
) -> None:
    """Queue one item. A second add with the same key is ignored: that is the point."""
    session.execute(
        dialect_insert(session, OutboxItem)
        .values(
            key=key,
            conversation_id=conversation_id,
            content=content,
            private=private,
            action=action,
            draft_id=draft_id,
            position=position,
            template_params=template_params,
            state="pending",
            attempts=0,
            created_at=now,
        )
        .on_conflict_do_nothing()
    )


def set_status(
    session: Session, conversation_id: int, status: str, *, key: str, now: datetime
) -> None:
    """Queue a status change (a bot setting ``open`` is Chatwoot's handoff), once per key."""
    add(
        session,
        key=f"{key}:{status}",
        conversation_id=conversation_id,
        content=status,
        action="status",
        now=now,
    )


def marker(item: OutboxItem) -> str:
    """Wingman's key for one item's message: its outbox key, and when it was written, so a
    reinstalled Wingman whose draft numbers start again never matches an old message."""
    return f"{item.key}@{int(item.created_at.timestamp() * 1000)}"


def settle_echo(
    session: Session, *, conversation_id: int, message_id: int, key: str, now: datetime
) -> str | None:
    """The echo of one of Wingman's own messages arrived: it was posted, whatever the outbox
    concluded meanwhile. Returns the item's key if this settled it."""
    for item in session.exec(
        select(OutboxItem)
        .where(
            OutboxItem.conversation_id == conversation_id,
            # Expired too: a post of unknown fate expires when the window closes meanwhile.
            # Failed too: an attempt of unknown fate may have landed before a retry was
            # refused (a 422 on the second try); the echo proves the first one did.
            col(OutboxItem.state).in_((*UNSENT, "uncertain", "expired", "failed")),
        )
        .with_for_update()
    ):
        if marker(item) != key:
            continue
        was = item.state
        mark_sent(item, message_id, now)
        if was in ("uncertain", "expired") or (was == "failed" and not item.private):
            add(
                session,
                key=f"confirmed:{item.id}",
                conversation_id=conversation_id,
                content=(
                    "✅ Update: Chatwoot confirms this message did reach the customer; "
                    f"nothing to send:\n\n{notes.defang(item.content)}"
                ),
                now=now,
            )
            log.info("outbox item %s: its late echo shows it was posted", item.id)
        return item.key
    return None


def channel_refused(
    session: Session, *, conversation_id: int, key: str, error: str
) -> OutboxItem | None:
    """The channel refused one of Wingman's messages after Chatwoot accepted it (Meta
    outside the window, a Twilio error). Returns the item if this is news."""
    for item in session.exec(
        select(OutboxItem)
        .where(OutboxItem.conversation_id == conversation_id, OutboxItem.state != "undelivered")
        .with_for_update()
    ):
        if item.action in MESSAGES and marker(item) == key:
            item.state, item.last_error = "undelivered", error
            log.warning("outbox item %s (%s): the channel refused it: %s", item.id, item.key, error)
            return item
    return None


def refused(session: Session, conversation_id: int) -> list[OutboxItem]:
    """Messages a customer's answer depended on that never got through: public messages
    Chatwoot refused for good or the channel refused after Chatwoot accepted them, and
    draft notes Chatwoot refused (no rep ever saw the draft)."""
    query = select(OutboxItem).where(
        OutboxItem.conversation_id == conversation_id,
        col(OutboxItem.state).in_(("failed", "undelivered")),
        col(OutboxItem.action).in_(MESSAGES),
    )
    return [
        item
        for item in session.exec(query.order_by(col(OutboxItem.id)))
        if not item.private or (item.draft_id is not None and item.key.endswith(":note"))
    ]


def exists(session: Session, key: str) -> bool:
    return session.exec(select(OutboxItem.id).where(OutboxItem.key == key)).first() is not None


def stuck_conversations(session: Session, *, now: datetime, older_than: timedelta) -> list[int]:
    """Conversations whose outbox still holds items written before ``now - older_than``.

    The safety net behind the retries: if a retry job was lost (Redis flushed, a worker
    killed), the clock's sweep finds what is still unsent.
    """
    query = (
        select(OutboxItem.conversation_id)
        .where(col(OutboxItem.state).in_(UNSENT), OutboxItem.created_at < now - older_than)
        .distinct()
    )
    return sorted(session.exec(query))


def mark_sent(item: OutboxItem, message_id: int | None, now: datetime) -> None:
    item.state = "sent"
    item.chatwoot_message_id = message_id
    item.sent_at = now
