"""Enqueueing, in one place, so job ids and the failure policy are the same everywhere."""

from __future__ import annotations

import logging

from redis.exceptions import RedisError
from rq import Queue
from rq.exceptions import InvalidJobOperation, NoSuchJobError
from rq.job import Job, JobStatus

log = logging.getLogger(__name__)

# A job in one of these states will still run; enqueueing it again would run it twice.
PENDING_STATES = {
    JobStatus.QUEUED,
    JobStatus.STARTED,
    JobStatus.SCHEDULED,
    JobStatus.DEFERRED,
}


def delivery_job_id(delivery_id: int) -> str:
    return f"delivery-{delivery_id}"


def enqueue_delivery(queue: Queue, delivery_id: int) -> bool:
    """Enqueue processing of a stored delivery; False (and a log line) if Redis is down.

    The delivery is already stored, so losing the enqueue loses nothing: the delivery
    sweeper re-enqueues every delivery left unprocessed.
    """
    try:
        # In one pipeline: RQ alone makes several round trips, and this runs on the
        # webhook's path.
        pipeline = queue.connection.pipeline()
        queue.enqueue(
            "workers.jobs.process_delivery",
            delivery_id,
            job_id=delivery_job_id(delivery_id),
            pipeline=pipeline,
        )
        pipeline.execute()
    except (RedisError, OSError) as exc:
        log.warning(
            "delivery %s stored but not enqueued (%s: %s); the delivery sweeper will retry it",
            delivery_id,
            exc.__class__.__name__,
            exc,
        )
        return False
    return True


def is_pending(queue: Queue, job_id: str) -> bool:
    """True while a job with this id is queued, scheduled or running."""
    try:
        job = Job.fetch(job_id, connection=queue.connection, serializer=queue.serializer)
        # A finished job's hash expires with its result TTL, possibly right after the fetch.
        return job.get_status() in PENDING_STATES
    except (NoSuchJobError, InvalidJobOperation):
        return False
