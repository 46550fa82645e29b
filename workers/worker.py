"""`python -m workers.worker`: one RQ worker on Wingman's queue, with RQ's scheduler.

The scheduler (``rq worker --with-scheduler``) is what moves delayed jobs (``enqueue_in``)
and retries with intervals onto the queue; without it they would wait forever.
"""

from __future__ import annotations

import sys

from rq import SimpleWorker, Worker
from rq.serializers import JSONSerializer
from rq.worker import BaseWorker

# RQ forks a work horse per job, and a child imports the job's module afresh unless the
# parent already has: importing the jobs (and with them the anthropic SDK, ~1.5 s) here,
# before any fork, takes that off every job. Only imports: clients and pools are built in
# the child, because connections don't survive a fork.
import workers.jobs  # noqa: F401
from workers.queue import connect, make_queue
from workers.startup import settings_or_exit


class QuickUnsubscribe(BaseWorker):
    """A shutdown that can't hang on RQ's pub/sub thread."""

    def unsubscribe(self) -> None:
        # RQ runs the pub/sub listener with sleep_time=60, and since redis-py 8.2
        # PubSubWorkerThread.stop() joins it without a timeout: once unsubscribed, the
        # listener can sit in get_message() for the full minute, past the supervisor's
        # grace period, and the worker is killed. The thread is a daemon; a bounded wait
        # is enough.
        if self.pubsub_thread is None or self.pubsub is None:
            return
        self.pubsub.unsubscribe()
        try:
            self.pubsub_thread.stop(timeout=1)
        except TypeError:  # redis-py before 8.2: stop() only clears the flag
            self.pubsub_thread.stop()
            self.pubsub_thread.join(timeout=1)
        self.pubsub.close()


class WingmanWorker(QuickUnsubscribe, Worker):
    """RQ's forking worker, as `make run` starts it."""


class WingmanSimpleWorker(QuickUnsubscribe, SimpleWorker):
    """RQ's in-process worker, for tests and the simulation (a burst ends promptly)."""


def main() -> int:
    # This also sets up logging before rq would: with a root handler in place rq adds none
    # of its own, so its lines come out once, in our format, through the secret filter.
    settings = settings_or_exit("wingman worker")
    connection = connect(settings.effective_redis_url)
    queue = make_queue(connection)
    worker = WingmanWorker([queue], connection=connection, serializer=JSONSerializer)
    worker.work(with_scheduler=True, logging_level=settings.log_level)
    return 0


if __name__ == "__main__":
    sys.exit(main())
