"""The long-lived collaborators shared by the web app and the worker, built once per process."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from redis import Redis
from rq import Queue
from sqlalchemy.engine import Engine

from core.config_store import ConfigStore
from core.db import make_engine
from core.settings import Settings
from workers.queue import REPLY_QUEUE_NAME, connect, make_queue


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass
class Services:
    settings: Settings
    engine: Engine
    redis: Redis
    queue: Queue
    config: ConfigStore
    now: Callable[[], datetime] = field(default=utcnow)
    reply_queue: Queue = field(init=False)

    def __post_init__(self) -> None:
        self.reply_queue = make_queue(self.redis, REPLY_QUEUE_NAME)

    @classmethod
    def build(
        cls,
        settings: Settings,
        *,
        engine: Engine | None = None,
        redis: Redis | None = None,
        now: Callable[[], datetime] | None = None,
        config: ConfigStore | None = None,
    ) -> Services:
        """Real collaborators from settings; tests pass their own for any of them.

        Raises ConfigError if the per-inbox config file is invalid.
        """
        config = config or ConfigStore.from_settings(settings)
        engine = engine or make_engine(settings.database_url)
        redis = redis or connect(settings.effective_redis_url)
        return cls(settings, engine, redis, make_queue(redis), config, now or utcnow)

    def close(self) -> None:
        self.engine.dispose()
        self.redis.close()
