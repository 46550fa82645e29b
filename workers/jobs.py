"""RQ jobs: importable functions of ids that build real collaborators and call the core.

Jobs are enqueued by dotted path with the JSON serializer, so their arguments can only be
plain values; tests call the core functions with their own collaborators instead.
"""

from __future__ import annotations

from datetime import timedelta

from bot.db import session_scope
from workers import deliveries
from workers.runtime import services


def process_delivery(delivery_id: int) -> bool:
    rt = services()
    with session_scope(rt.engine) as session:
        return deliveries.process_delivery(session, delivery_id, now=rt.now())


def requeue_stale_deliveries() -> int:
    rt = services()
    older_than = timedelta(seconds=rt.settings.delivery_requeue_after_seconds)
    with session_scope(rt.engine) as session:
        rescued = deliveries.requeue_stale_deliveries(
            session, rt.queue, now=rt.now(), older_than=older_than
        )
    return len(rescued)


def prune_deliveries() -> int:
    rt = services()
    retention = timedelta(days=rt.settings.delivery_retention_days)
    with session_scope(rt.engine) as session:
        return deliveries.prune_deliveries(session, now=rt.now(), retention=retention)
