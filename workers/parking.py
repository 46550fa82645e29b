"""Failed deliveries: count the failures, park one that keeps failing, and let an
operator list, retry or drop the parked.
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import func
from sqlmodel import Session, col, select

from core.models import Delivery

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 3
# Where an operator settles a parked delivery; every parking log line names it.
PARKED_HELP = "see: flask --app bot deliveries parked | retry ID | drop ID"


def record_failure(
    session: Session,
    delivery_id: int,
    error: str,
    *,
    now: datetime,
    counted: bool,
    max_attempts: int = MAX_ATTEMPTS,
) -> bool:
    """Remember why processing failed; park the delivery once it has failed
    ``max_attempts`` times. Returns True if it is now parked.

    ``counted`` says whether ``route`` committed this run's attempt; a failure before that
    (the routing itself failed) counts here.
    """
    delivery = session.exec(
        select(Delivery).where(Delivery.id == delivery_id).with_for_update()
    ).first()
    if delivery is None or delivery.processed_at is not None or delivery.parked_at is not None:
        return False
    if not counted:
        delivery.attempts += 1
    delivery.last_error = error[:500]
    if delivery.attempts < max_attempts:
        log.warning(
            "delivery %s failed (attempt %d of %d): %s; the delivery sweeper retries it",
            delivery_id,
            delivery.attempts,
            max_attempts,
            delivery.last_error,
        )
        return False
    park(delivery, reason=delivery.last_error, now=now)
    return True


def park(delivery: Delivery, *, reason: str, now: datetime) -> None:
    """Stop running ``delivery``: it is kept, with ``reason``, until an operator settles it."""
    delivery.parked_at = now
    delivery.last_error = reason[:500]
    log.error(
        "delivery %s (%s) parked after %d attempts: %s; it is kept and won't run again "
        "until an operator retries it (%s)",
        delivery.id,
        delivery.event,
        delivery.attempts,
        delivery.last_error,
        PARKED_HELP,
    )


def parked(session: Session) -> list[Delivery]:
    """Deliveries parked and not dropped, oldest first."""
    query = (
        select(Delivery)
        .where(col(Delivery.parked_at).is_not(None), col(Delivery.processed_at).is_(None))
        .order_by(col(Delivery.id))
    )
    return list(session.exec(query).all())


def parked_count(session: Session) -> int:
    query = select(func.count()).where(
        col(Delivery.parked_at).is_not(None), col(Delivery.processed_at).is_(None)
    )
    return int(session.exec(query).one())


class NotParked(Exception):
    """An operator named a delivery that isn't parked; the message says what it is."""


def _parked_one(session: Session, delivery_id: int) -> Delivery:
    delivery = session.exec(
        select(Delivery).where(Delivery.id == delivery_id).with_for_update()
    ).first()
    if delivery is None:
        raise NotParked(f"no delivery {delivery_id} (never stored, or pruned)")
    if delivery.processed_at is not None:
        raise NotParked(f"delivery {delivery_id} is not parked: it was processed or dropped")
    if delivery.parked_at is None:
        raise NotParked(
            f"delivery {delivery_id} is not parked: it has had {delivery.attempts} of its "
            "attempts and the delivery sweeper still retries it"
        )
    return delivery


def unpark(session: Session, delivery_id: int) -> Delivery:
    """Give a parked delivery a fresh set of attempts; the caller enqueues it."""
    delivery = _parked_one(session, delivery_id)
    log.warning(
        "delivery %s unparked for a retry by an operator (it had failed %d times: %s)",
        delivery_id,
        delivery.attempts,
        delivery.last_error,
    )
    delivery.parked_at = None
    delivery.attempts = 0
    return delivery


def drop(session: Session, delivery_id: int, *, now: datetime) -> Delivery:
    """Settle a parked delivery without running it: it counts as processed, keeps its
    reason, and is pruned with the rest."""
    delivery = _parked_one(session, delivery_id)
    delivery.processed_at = now
    log.warning(
        "delivery %s dropped by an operator without being processed (it had failed %d times: %s)",
        delivery_id,
        delivery.attempts,
        delivery.last_error,
    )
    return delivery
