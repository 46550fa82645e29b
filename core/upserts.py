"""Upsert the account, inbox, contact, conversation and message an event describes.

Each upsert first inserts-or-ignores the row (so concurrent deliveries never race on a
unique key) and then locks it and merges. The merge rules are pure functions in
``core.merges``.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, SQLModel, select

from chatwoot.event_data import ContactData, ConversationData, Event, InboxData, MessageData
from core.merges import conversation_changes, message_changes
from core.models import Account, Contact, Conversation, Inbox, Message

M = TypeVar("M", bound=SQLModel)


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
