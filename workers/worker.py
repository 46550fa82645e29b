"""`python -m workers.worker`: one RQ worker on Wingman's queue, with RQ's scheduler.

The scheduler (``rq worker --with-scheduler``) is what moves delayed jobs (``enqueue_in``)
and retries with intervals onto the queue; without it they would wait forever.
"""

from __future__ import annotations

import sys

from rq import Worker
from rq.serializers import JSONSerializer

from bot import logs
from bot.settings import Settings, SettingsError
from workers.queue import connect, make_queue


def main() -> int:
    try:
        settings = Settings.load()
    except SettingsError as exc:
        print(f"wingman worker: {exc}", file=sys.stderr)
        return 2
    # Before rq sets up logging: with a root handler in place it adds none of its own, so
    # its lines come out once, in our format, through the secret filter.
    logs.configure(settings.log_level, settings.secrets())
    connection = connect(settings.effective_redis_url)
    worker = Worker([make_queue(connection)], connection=connection, serializer=JSONSerializer)
    worker.work(with_scheduler=True, logging_level=settings.log_level)
    return 0


if __name__ == "__main__":
    sys.exit(main())
