"""`python -m workers.worker`: one RQ worker on Wingman's queue, with RQ's scheduler.

The scheduler (``rq worker --with-scheduler``) is what moves delayed jobs (``enqueue_in``)
and retries with intervals onto the queue; without it they would wait forever.
"""

from __future__ import annotations

import sys

from rq import Worker
from rq.serializers import JSONSerializer

# RQ forks a work horse per job, and a child imports the job's module afresh unless the
# parent already has: importing the jobs (and with them the anthropic SDK, ~1.5 s) here,
# before any fork, takes that off every job. Only imports: clients and pools are built in
# the child, because connections don't survive a fork.
import workers.jobs  # noqa: F401
from workers.queue import connect, make_queue
from workers.startup import settings_or_exit


def main() -> int:
    # This also sets up logging before rq would: with a root handler in place rq adds none
    # of its own, so its lines come out once, in our format, through the secret filter.
    settings = settings_or_exit("wingman worker")
    connection = connect(settings.effective_redis_url)
    worker = Worker([make_queue(connection)], connection=connection, serializer=JSONSerializer)
    worker.work(with_scheduler=True, logging_level=settings.log_level)
    return 0


if __name__ == "__main__":
    sys.exit(main())
