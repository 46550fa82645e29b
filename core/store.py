"""Write deliveries and apply them, idempotently, on SQLite and PostgreSQL.

The webhook only stores a delivery (``store_delivery``: one INSERT); the worker applies it
(``apply_pending``) before acting on it, together with every earlier delivery of the same
conversation not yet applied, in id order. Applying one upserts what it says
(``core.upserts``).
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col, or_, select

from chatwoot.event_data import Event
from chatwoot.events import parse_event
from core.models import Delivery
from core.upserts import apply_event

log = logging.getLogger(__name__)
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
