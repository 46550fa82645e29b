"""Redis connections and the RQ queue, always with the JSON serializer.

JSON, not pickle, so a job can only ever be called with plain ids and strings:
rq's own advice (no objects in arguments) is enforced rather than agreed on.
"""

from __future__ import annotations

from redis import Redis
from rq import Queue
from rq.serializers import JSONSerializer

QUEUE_NAME = "wingman"


def connect(url: str) -> Redis:
    """A Redis client with timeouts, so a dead Redis fails fast instead of hanging a request."""
    return Redis.from_url(url, socket_timeout=5, socket_connect_timeout=2, health_check_interval=30)


def make_queue(connection: Redis, name: str = QUEUE_NAME) -> Queue:
    return Queue(name, connection=connection, serializer=JSONSerializer)
