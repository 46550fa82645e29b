"""Write deliveries and upsert what they say, idempotently, on SQLite and PostgreSQL.

The webhook only stores a delivery (``store_delivery``: one INSERT); the worker applies it
(``apply_pending``) before acting on it, together with every earlier delivery of the same
conversation not yet applied, in id order.

Each upsert first inserts-or-ignores the row (so concurrent deliveries never race on a
unique key) and then locks it and merges. The merge rules are pure functions below.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import Connection, Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, SQLModel, col, or_, select

from chatwoot.event_data import (
    MESSAGE_STATUSES,
    ContactData,
    ConversationData,
    Event,
    InboxData,
    MessageData,
)
from chatwoot.events import parse_event
from core.models import Account, Contact, Conversation, Delivery, Inbox, Message

log = logging.getLogger(__name__)
M = TypeVar("M", bound=SQLModel)
DELIVERIES: Table = Delivery.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True)
class Stored:
    delivery_id: int
    duplicate: bool


def store_delivery(
    connection: Connection,
    *,
    key: str,
    event_name: str,
    body: str,
    received_at: datetime,
    event: Event | None,
) -> Stored:
    """Store one delivery, unless the same delivery key or the same body was stored before.

    Chatwoot reuses X-Chatwoot-Delivery on retries, but anyone replaying a signed body
    within the timestamp window can send any delivery id, so the body counts too.
    ``event`` is None for events Wingman does not know; those are kept but not applied,
    and count as processed. One prepared INSERT: this is all the webhook writes.
    """
    values = _delivery_values(key, event_name, body, received_at, event)
    insert = _STORE[connection.dialect.name]
    inserted = connection.execute(insert, values).scalar()
    if inserted is not None:
        return Stored(delivery_id=inserted, duplicate=False)
    seen = or_(DELIVERIES.c.delivery_key == key, DELIVERIES.c.body_hash == values["body_hash"])
    existing = connection.execute(
        DELIVERIES.select().with_only_columns(DELIVERIES.c.id).where(seen).order_by("id")
    ).scalar()
    return Stored(delivery_id=existing or 0, duplicate=True)


def _delivery_values(
    key: str, event_name: str, body: str, received_at: datetime, event: Event | None
) -> dict[str, Any]:
    return {
        "delivery_key": key,
        "body_hash": hashlib.sha256(body.encode("utf-8")).hexdigest(),
        "event": event_name[:64],
        "body": body,
        "received_at": received_at,
        "account_id": event.account.id if event else None,
        "conversation_display_id": event.conversation.display_id
        if event and event.conversation
        else None,
        "message_id": event.message.id if event and event.message else None,
        "applied_at": None if event else received_at,
        "processed_at": None if event else received_at,
        "attempts": 0,
    }


# No conflict target: a clash on either unique column means "seen before". Built once:
# SQLAlchemy then reuses the compiled statement.
_STORE = {
    module.dialect.name: module.insert(DELIVERIES)
    .on_conflict_do_nothing()
    .returning(DELIVERIES.c.id)
    for module in (postgresql, sqlite)
}


def record_delivery(
    session: Session,
    *,
    key: str,
    event_name: str,
    body: str,
    received_at: datetime,
    event: Event | None,
    origin: str = "webhook",
) -> Stored:
    """Store one delivery and apply it at once, in the session's transaction (as the
    worker would): for tests and tools that need its rows right away."""
    stored = store_delivery(
        session.connection(),
        key=key,
        event_name=event_name,
        body=body,
        received_at=received_at,
        event=event,
    )
    if event is not None and not stored.duplicate:
        apply_event(session, event, now=received_at, origin=origin)
        delivery = session.get(Delivery, stored.delivery_id)
        assert delivery is not None
        delivery.applied_at = received_at
    return stored


def apply_pending(session: Session, delivery: Delivery, *, now: datetime) -> None:
    """Apply ``delivery`` (locked by the caller), after every earlier delivery of its
    conversation not yet applied, in id order.

    Chatwoot sends each event as its own job, and the worker runs deliveries in parallel;
    this keeps the stored state built in the order the deliveries arrived, as it was when
    the webhook applied them. An earlier delivery that can't be applied is left to its own
    job (which records the failure and, in the end, parks it) rather than blocking the
    conversation.
    """
    if delivery.applied_at is not None:
        return
    if delivery.account_id is not None and delivery.conversation_display_id is not None:
        earlier = session.exec(
            select(Delivery)
            .where(
                Delivery.account_id == delivery.account_id,
                Delivery.conversation_display_id == delivery.conversation_display_id,
                col(Delivery.id) < delivery.id,
                col(Delivery.applied_at).is_(None),
                col(Delivery.parked_at).is_(None),
            )
            .order_by(col(Delivery.id))
            .with_for_update()
        ).all()
        for other in earlier:
            try:
                with session.begin_nested():
                    _apply_stored(session, other, now=now)
            except Exception as exc:  # noqa: BLE001 - its own job reports it
                log.warning(
                    "delivery %s could not be applied before delivery %s (%s: %s); "
                    "its own job retries it",
                    other.id,
                    delivery.id,
                    exc.__class__.__name__,
                    exc,
                )
    _apply_stored(session, delivery, now=now)


def _apply_stored(session: Session, delivery: Delivery, *, now: datetime) -> None:
    # The message's received_at is the delivery's: the quiet period counts from arrival.
    event = parse_event(json.loads(delivery.body))
    apply_event(session, event, now=delivery.received_at, origin="webhook")
    delivery.applied_at = now


def apply_event(session: Session, event: Event, *, now: datetime, origin: str) -> None:
    """Upsert the account, inbox, contact, conversation and message an event describes."""
    _ensure(session, Account, {"id": event.account.id}, {"name": event.account.name})
    if event.inbox is not None:
        upsert_inbox(session, event.inbox)
    if event.contact is not None:
        upsert_contact(session, event.contact)
    conversation = None
    if event.conversation is not None:
        known: set[tuple[type[SQLModel], int | None]] = {
            (Inbox, event.inbox.id if event.inbox else None),
            (Contact, event.contact.id if event.contact else None),
        }
        conversation = upsert_conversation(session, event.conversation, now=now, known=known)
    if event.message is not None and conversation is not None:
        upsert_message(
            session, event.message, conversation_pk=_pk(conversation), origin=origin, now=now
        )


def upsert_inbox(session: Session, data: InboxData) -> Inbox:
    row = _ensure(session, Inbox, {"id": data.id}, {"account_id": data.account_id})
    row.name = data.name or row.name
    row.channel = data.channel or row.channel
    return row


def upsert_contact(session: Session, data: ContactData) -> Contact:
    # Contacts carry no timestamp, so the newest delivery's non-empty values win.
    row = _ensure(session, Contact, {"id": data.id}, {"account_id": data.account_id})
    for name in ("name", "email", "phone_number", "identifier"):
        value = getattr(data, name)
        if value is not None:
            setattr(row, name, value)
    if data.custom_attributes:
        row.custom_attributes = {**(row.custom_attributes or {}), **data.custom_attributes}
    if data.additional_attributes:
        row.additional_attributes = {
            **(row.additional_attributes or {}),
            **data.additional_attributes,
        }
    return row


def upsert_conversation(
    session: Session,
    data: ConversationData,
    *,
    now: datetime,
    known: Collection[tuple[type[SQLModel], int | None]] = (),
) -> Conversation:
    """``known`` names the (model, id) rows this transaction has already ensured."""
    if data.contact is not None and (Contact, data.contact.id) not in known:
        _ensure(session, Contact, {"id": data.contact.id}, {"account_id": data.account_id})
    if data.inbox_id is not None and (Inbox, data.inbox_id) not in known:
        _ensure(session, Inbox, {"id": data.inbox_id}, {"account_id": data.account_id})
    row = _ensure(
        session,
        Conversation,
        {"account_id": data.account_id, "display_id": data.display_id},
        {"first_seen_at": now},
    )
    for name, value in conversation_changes(row, data).items():
        setattr(row, name, value)
    return row


def conversation_changes(row: Conversation, data: ConversationData) -> dict[str, Any]:
    """What a conversation payload changes in the stored row.

    Chatwoot delivers each event as its own job with no ordering, so state is applied only
    from payloads at least as new (by Chatwoot's ``updated_at``) as what is stored. Facts
    that never change (inbox, contact, channel, the contact's source id) are filled in from
    any payload.
    """
    facts: dict[str, Any] = {
        "inbox_id": data.inbox_id,
        "channel": data.channel,
        "contact_source_id": data.contact_source_id[:255] if data.contact_source_id else None,
        "chatwoot_created_at": data.created_at,
        "contact_id": data.contact.id if data.contact else None,
    }
    changes = {k: v for k, v in facts.items() if getattr(row, k) is None and v is not None}
    stored, incoming = row.chatwoot_updated_at, data.updated_at
    if stored is not None and (incoming is None or incoming < stored):
        return changes
    if row.status == "resolved" and data.status in ("pending", "open") and row.bot_muted:
        # Reopened (by the customer writing again): the mute was for the old conversation.
        changes.update(bot_muted=False, bot_muted_reason=None, bot_muted_at=None)
    changes.update(
        status=data.status or row.status,
        assignee_id=data.assignee_id,
        assignee_type=data.assignee_type,
        assignee_name=data.assignee_name,
        team_id=data.team_id,
        team_name=data.team_name,
        labels=list(data.labels),
        custom_attributes=dict(data.custom_attributes),
        can_reply=data.can_reply,
        waiting_since=data.waiting_since,
        chatwoot_updated_at=incoming,
    )
    return {k: v for k, v in changes.items() if getattr(row, k) != v}


def upsert_message(
    session: Session, data: MessageData, *, conversation_pk: int, origin: str, now: datetime
) -> None:
    fresh = {
        "id": data.id,
        "conversation_id": conversation_pk,
        "account_id": data.account_id,
        "inbox_id": data.inbox_id,
        "message_type": data.message_type,
        "sender_kind": data.sender_kind.value,
        "sender_type": data.sender_type,
        "sender_id": data.sender_id,
        "sender_name": data.sender_name,
        "private": data.private,
        "content": data.content,
        "content_type": data.content_type,
        "content_attributes": data.content_attributes,
        "attachments": data.attachments,
        "source_id": data.source_id,
        "status": data.status,
        "deleted": data.deleted,
        "created_at": data.created_at,
        "received_at": now,
        "origin": origin,
    }
    inserted = session.execute(_insert(session, Message).values(**fresh).on_conflict_do_nothing())
    if getattr(inserted, "rowcount", 0) == 1:
        return
    row = session.exec(select(Message).where(Message.id == data.id).with_for_update()).one()
    for name, value in message_changes(row, data).items():
        setattr(row, name, value)


def message_changes(row: Message, data: MessageData) -> dict[str, Any]:
    """Merge a later delivery of a message into the stored one, field by field, forward only.

    Message payloads carry no ``updated_at``, so "newest wins" has nothing to order by.
    Instead: values fill in (a transcription, a ``source_id``), the status only advances,
    ``deleted`` stays set, and nothing is ever nulled.
    """
    changes: dict[str, Any] = {}
    if data.content is not None and data.content != row.content and not row.deleted:
        changes["content"] = data.content
    for name in ("source_id", "content_type", "sender_id", "sender_name", "sender_type"):
        if getattr(row, name) is None and getattr(data, name) is not None:
            changes[name] = getattr(data, name)
    if _status_rank(data.status) > _status_rank(row.status):
        changes["status"] = data.status
    attributes = merge_filled(row.content_attributes or {}, data.content_attributes)
    if row.deleted:
        attributes["deleted"] = True
    if attributes != (row.content_attributes or {}):
        changes["content_attributes"] = attributes
    if data.deleted and not row.deleted:
        changes["deleted"] = True
    attachments = merge_attachments(row.attachments or [], data.attachments)
    if attachments != (row.attachments or []):
        changes["attachments"] = attachments
    return changes


def merge_filled(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    """``old`` updated with the values of ``new`` that say something (not None or "")."""
    merged = dict(old)
    merged.update({k: v for k, v in new.items() if v is not None and v != ""})
    return merged


def merge_attachments(old: list[dict[str, Any]], new: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Merge attachments by id, so a voice note's later ``transcribed_text`` fills in."""
    by_id = {a.get("id"): dict(a) for a in old}
    order = [a.get("id") for a in old]
    for attachment in new:
        key = attachment.get("id")
        if key in by_id:
            by_id[key] = merge_filled(by_id[key], attachment)
        else:
            by_id[key] = dict(attachment)
            order.append(key)
    return [by_id[key] for key in order]


def _status_rank(status: str | None) -> int:
    return MESSAGE_STATUSES.index(status) if status in MESSAGE_STATUSES else -1


def dialect_insert(session: Session, model: type[SQLModel] | Table) -> Any:
    """An INSERT with ``on_conflict_do_nothing``, in the session's SQL dialect."""
    dialect = session.get_bind().dialect.name
    module = postgresql if dialect == "postgresql" else sqlite
    return module.insert(model)


def _insert(session: Session, model: type[SQLModel]) -> Any:
    """A Core INSERT into the model's table: the ORM's bulk-insert path costs more Python
    for the same statement, and these rows are read back with a SELECT anyway."""
    return dialect_insert(session, model.__table__)  # type: ignore[attr-defined]


def _ensure(session: Session, model: type[M], key: dict[str, Any], defaults: dict[str, Any]) -> M:
    """The row with ``key``, created with ``defaults`` if absent, locked for this transaction.

    Looked up first: nearly every delivery names rows that exist, and the INSERT that
    would find them is as costly as the lookup. A row inserted concurrently between the
    two is found by the lookup after the INSERT ... ON CONFLICT DO NOTHING.
    """
    query = select(model)
    for name, value in key.items():
        query = query.where(getattr(model, name) == value)
    query = query.with_for_update()
    row: M | None = session.exec(query).first()
    if row is None:
        session.execute(_insert(session, model).values(**key, **defaults).on_conflict_do_nothing())
        row = session.exec(query).one()
    for name, value in defaults.items():
        if getattr(row, name) is None and value is not None:
            setattr(row, name, value)
    return row


def _pk(row: Conversation) -> int:
    assert row.id is not None  # set by the insert in _ensure
    return row.id
