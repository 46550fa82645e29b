"""Redis connections and the RQ queue, always with the JSON serializer.

JSON, not pickle, so a job can only ever be called with plain ids and strings:
rq's own advice (no objects in arguments) is enforced rather than agreed on.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from redis import Redis
from rq import Queue
from rq.job import Job, JobStatus
from rq.serializers import JSONSerializer

QUEUE_NAME = "wingman"
# Reply jobs wait on Claude for seconds; on a queue of their own, with workers of their own,
# they never hold up routing, commands or posting.
REPLY_QUEUE_NAME = "wingman-replies"


def connect(url: str) -> Redis:
    """A Redis client with timeouts, so a dead Redis fails fast instead of hanging a request."""
    return Redis.from_url(url, socket_timeout=5, socket_connect_timeout=2, health_check_interval=30)


def make_queue(connection: Redis, name: str = QUEUE_NAME) -> Queue:
    return Queue(name, connection=connection, serializer=JSONSerializer)


def make_queues(connection: Redis) -> list[Queue]:
    """Every queue Wingman uses, routing first: a worker for all of them (tests, the
    simulation) takes routing work before reply work."""
    return [make_queue(connection), make_queue(connection, REPLY_QUEUE_NAME)]


def schedule_at(
    queue: Queue,
    when: datetime | float,
    func: str,
    *args: Any,
    job_timeout: int | None = None,
    **kwargs: Any,
) -> Job:
    """Enqueue ``func(*args, **kwargs)`` to run at ``when`` (a datetime, or unix seconds to the
    microsecond): the job and its entry in the ScheduledJobRegistry written in one MULTI.

    Not RQ's ``enqueue_at``: it adds the registry entry at once, outside the pipeline it is
    given (``ScheduledJobRegistry.schedule`` ignores its ``pipeline``, rq 2.12), and saves
    the job only when that pipeline runs. A scheduler pass in between reads the id, finds no
    job, skips it and removes the id; the job then waits "scheduled" in no registry and
    never runs. A job due at once (a reply timer firing late under load) hits that window:
    it was the reply that came minutes late in the pipeline benchmark, rescued only by the
    sweeper. Written together, an id in the registry always has its job.
    """
    at = when.timestamp() if isinstance(when, datetime) else when
    job = queue.create_job(
        func, args=args, kwargs=kwargs, timeout=job_timeout, status=JobStatus.SCHEDULED
    )
    with queue.connection.pipeline() as pipe:
        pipe.sadd(queue.redis_queues_keys, queue.key)
        job.set_status(JobStatus.SCHEDULED, pipeline=pipe)
        job.save(pipeline=pipe)
        pipe.zadd(queue.scheduled_job_registry.key, {job.id: at})
        pipe.execute()
    return job
