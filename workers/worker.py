"""`python -m workers.worker [routing|replies]`: one RQ worker, with RQ's scheduler.

`make run` starts ROUTING_WORKERS of the first kind (deliveries, commands, posting, the
periodic jobs) and REPLY_WORKERS of the second (replies, which wait on Claude). Neither
forks per job: a fork costs hundreds of milliseconds under load and buys isolation that
nothing here needs. Job timeouts still hold (RQ's SIGALRM death penalty runs in-process),
and a worker that dies mid-job is restarted by the supervisor; what it was doing is
rescued by the sweepers, as after any crash.

The scheduler (``rq worker --with-scheduler``) is what moves delayed jobs (``enqueue_at``)
onto the queue; without it they would wait forever.
"""

from __future__ import annotations

import os
import sys

from rq import SimpleWorker, Worker
from rq.serializers import JSONSerializer
from rq.worker import BaseWorker

# Imported up front (the anthropic SDK takes ~1.5 s), so the first job isn't slow.
import workers.jobs  # noqa: F401
from workers.queue import REPLY_QUEUE_NAME, connect, make_queue, make_queues
from workers.startup import settings_or_exit

KINDS = ("routing", "replies")
# Below the web processes: on a small machine under a burst, acknowledging Chatwoot within
# its 5 s wins the CPU, and the workers catch up after.
NICENESS = 5


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
    """RQ's forking worker, for whoever wants a job's crash contained."""


class WingmanSimpleWorker(QuickUnsubscribe, SimpleWorker):
    """RQ's in-process worker: what `make run` starts, and what tests and the simulation
    run (a burst ends promptly)."""


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    kind = args[0] if args else "routing"
    if kind not in KINDS:
        print(f"usage: python -m workers.worker [{'|'.join(KINDS)}]", file=sys.stderr)
        return 2
    # This also sets up logging before rq would: with a root handler in place rq adds none
    # of its own, so its lines come out once, in our format, through the secret filter.
    settings = settings_or_exit(f"wingman {kind} worker")
    os.nice(NICENESS)
    connection = connect(settings.effective_redis_url)
    if kind == "routing":
        queues = make_queues(connection)[:1]
    else:
        queues = [make_queue(connection, REPLY_QUEUE_NAME)]
    worker = WingmanSimpleWorker(queues, connection=connection, serializer=JSONSerializer)
    worker.work(with_scheduler=True, logging_level=settings.log_level)
    return 0


if __name__ == "__main__":
    sys.exit(main())
