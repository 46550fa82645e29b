"""Redis connections and the RQ queue, always with the JSON serializer.

JSON, not pickle, so a job can only ever be called with plain ids and strings:
rq's own advice (no objects in arguments) is enforced rather than agreed on.
"""

from __future__ import annotations

from redis import Redis
from rq import Queue
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
