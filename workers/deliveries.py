"""Core work on stored deliveries: mark one processed, rescue the unprocessed, prune the old.

Plain functions of a session, a queue and the time, so tests call them directly. Routing a
delivery is ``workers.routing``'s; failing and parking one, ``workers.parking``'s.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from rq import Queue
from sqlalchemy import delete
from sqlmodel import Session, col, select

from core.models import Delivery
from workers.dispatch import delivery_job_id, enqueue_delivery, is_pending

log = logging.getLogger(__name__)

RESCUE_BATCH = 500
PRUNE_BATCH = 1000


def process_delivery(session: Session, delivery_id: int, *, now: datetime) -> bool:
    """Mark one stored delivery processed, once. Returns False if it already was.

    The row lock makes a second run of the same job (RQ may run a job twice) wait and
    then see ``processed_at`` set.
    """
    query = select(Delivery).where(Delivery.id == delivery_id).with_for_update()
    delivery = session.exec(query).first()
    if delivery is None:
        log.warning("delivery %s no longer exists (pruned?); nothing to do", delivery_id)
        return False
    if delivery.processed_at is not None:
        return False
    delivery.processed_at = now
    return True


def requeue_stale_deliveries(
    session: Session, queue: Queue, *, now: datetime, older_than: timedelta
) -> list[int]:
    """Re-enqueue deliveries stored but never processed, e.g. because Redis was down, or
    whose processing failed; never a parked one."""
    cutoff = now - older_than
    query = (
        select(Delivery.id)
        .where(
            col(Delivery.processed_at).is_(None),
            col(Delivery.parked_at).is_(None),
            Delivery.received_at < cutoff,
        )
        .order_by(col(Delivery.id))
        .limit(RESCUE_BATCH)
    )
    rescued = []
    for delivery_id in session.exec(query).all():
        if delivery_id is None or is_pending(queue, delivery_job_id(delivery_id)):
            continue
        if enqueue_delivery(queue, delivery_id):
            rescued.append(delivery_id)
    if rescued:
        log.warning(
            "re-enqueued %d deliveries stored but never processed (first %s); "
            "check that the worker runs and Redis keeps its data",
            len(rescued),
            rescued[0],
        )
    return rescued


def prune_deliveries(session: Session, *, now: datetime, retention: timedelta) -> int:
    """Delete processed raw deliveries past the retention period; stored messages stay."""
    cutoff = now - retention
    removed = 0
    while True:
        batch = session.exec(
            select(Delivery.id)
            .where(col(Delivery.processed_at).is_not(None), Delivery.received_at < cutoff)
            .limit(PRUNE_BATCH)
        ).all()
        if not batch:
            break
        session.execute(delete(Delivery).where(col(Delivery.id).in_(batch)))
        removed += len(batch)
    if removed:
        log.info("pruned %d raw deliveries older than %s", removed, cutoff.isoformat())
    return removed
