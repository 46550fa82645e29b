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

import logging
import os
import signal
import sys
import time
from types import FrameType

from rq import Queue, SimpleWorker, Worker
from rq.defaults import DEFAULT_LOGGING_DATE_FORMAT, DEFAULT_LOGGING_FORMAT
from rq.job import Job
from rq.scheduler import RQScheduler
from rq.serializers import JSONSerializer
from rq.utils import as_text
from rq.worker import BaseWorker

# Imported up front (the anthropic SDK takes ~1.5 s), so the first job isn't slow.
import workers.jobs  # noqa: F401
from workers import runtime
from workers.queue import REPLY_QUEUE_NAME, connect, make_queue, make_queues
from workers.startup import settings_or_exit

log = logging.getLogger("workers.worker")

KINDS = ("routing", "replies")
# Below the web processes: on a small machine under a burst, acknowledging Chatwoot within
# its 5 s wins the CPU, and the workers catch up after.
NICENESS = 5
# How often the scheduler moves due jobs onto the queue. RQ polls once a second, which
# with its whole-second scores made a quiet-period timer up to 2 s late; a fifth of a
# second is a cheap ZRANGEBYSCORE on a small set.
SCHEDULER_POLL_SECONDS = 0.2


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


class QuickRQScheduler(RQScheduler):
    """RQ's scheduler, moving due jobs every SCHEDULER_POLL_SECONDS instead of every second.

    Its heartbeat stays on RQ's whole-second interval: the lock's TTL is ``interval + 60``
    through EXPIRE, which takes whole seconds only.
    """

    def work(self) -> None:
        # RQ's loop (rq/scheduler.py, RQScheduler.work), with the heartbeat split off.
        self._install_signal_handlers()
        self.register_birth()
        next_beat = 0.0
        while True:
            if self._stop_requested:
                self.stop()
                break
            if self.should_reacquire_locks:
                self.acquire_locks()
            if time.monotonic() >= next_beat:
                self.heartbeat()
                next_beat = time.monotonic() + self.interval
            self.enqueue_scheduled_jobs()
            time.sleep(SCHEDULER_POLL_SECONDS)

    def enqueue_scheduled_jobs(self) -> None:
        self._status = self.Status.WORKING
        if not self._scheduled_job_registries and self._acquired_locks:
            self.prepare_registries()
        self.move_due(time.time())
        self._status = self.Status.STARTED

    def move_due(self, now: float) -> int:
        """Move every job due by ``now`` onto its queue; returns how many ids it took.

        RQ's pass (rq/scheduler.py, ``enqueue_scheduled_jobs``), comparing the registry's
        scores with ``now`` to the microsecond rather than in whole seconds: a reply timer's
        score is its exact due time. An id whose job is gone is dropped, as RQ does; that is
        safe only because Wingman writes a job and its id together (``queue.schedule_at``).
        """
        taken = 0
        for registry in self._scheduled_job_registries:
            raw = self.connection.zrangebyscore(registry.key, 0, now, start=0, num=1000)
            job_ids = [as_text(job_id) for job_id in raw]
            if not job_ids:
                continue
            queue = Queue(registry.name, connection=self.connection, serializer=self.serializer)
            with self.connection.pipeline() as pipeline:
                jobs = Job.fetch_many(
                    job_ids, connection=self.connection, serializer=self.serializer
                )
                for job in jobs:
                    if job is not None:
                        queue._enqueue_job(
                            job, pipeline=pipeline, at_front=job.should_enqueue_at_front()
                        )
                for job_id in job_ids:
                    registry.remove(job_id, pipeline=pipeline)
                pipeline.execute()
            taken += len(job_ids)
        return taken


class QuickScheduler(BaseWorker):
    """A worker whose scheduler is QuickRQScheduler."""

    def _start_scheduler(
        self,
        burst: bool = False,
        logging_level: str | None = "INFO",
        date_format: str = DEFAULT_LOGGING_DATE_FORMAT,
        log_format: str = DEFAULT_LOGGING_FORMAT,
    ) -> None:
        # RQ builds its scheduler here without a way to choose its class; this is RQ's
        # method (rq/worker/base.py) with ours (burst mode, which enqueues once, included).
        # RQ installs the worker's signal handlers only after forking the scheduler, whose
        # start is what a supervisor sees; a stop signal in between killed the worker
        # outright. Installed first, the stop is a warm one wherever it lands.
        self._install_signal_handlers()
        self.scheduler = QuickRQScheduler(
            self.queues,
            connection=self.connection,
            logging_level=logging_level if logging_level is not None else self.log.level,
            date_format=date_format,
            log_format=log_format,
            serializer=self.serializer,
        )
        self.scheduler.acquire_locks()
        if not self.scheduler.acquired_locks:
            return
        if not burst:
            self.scheduler.start()
            return
        try:
            self.scheduler.register_birth()
            self.scheduler.enqueue_scheduled_jobs()
        finally:
            self.scheduler.release_locks()
            self.scheduler.register_death()


class WingmanWorker(QuickUnsubscribe, QuickScheduler, Worker):
    """RQ's forking worker, for whoever wants a job's crash contained."""


class WingmanSimpleWorker(QuickUnsubscribe, QuickScheduler, SimpleWorker):
    """RQ's in-process worker: what `make run` starts, and what tests and the simulation
    run (a burst ends promptly)."""


def _exit_before_start(signum: int, _frame: FrameType | None) -> None:
    raise SystemExit(0)


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
    # Until rq takes over the signals, a stop is a clean exit: nothing has started yet.
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, _exit_before_start)
    connection = connect(settings.effective_redis_url)
    if kind == "routing":
        queues = make_queues(connection)[:1]
    else:
        queues = [make_queue(connection, REPLY_QUEUE_NAME)]
    try:
        runtime.warm_up()
    except Exception as exc:  # the first job will meet the same problem, and report it
        log.warning("wingman %s worker: warming up failed (%s); starting cold", kind, exc)
    worker = WingmanSimpleWorker(queues, connection=connection, serializer=JSONSerializer)
    worker.work(with_scheduler=True, logging_level=settings.log_level)
    # Stopped. Python puts its handlers back to the default on the way out, so the
    # supervisor's own SIGTERM, following the group's, would kill a process already
    # exiting cleanly; ignored, it can't.
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, signal.SIG_IGN)
    return 0


if __name__ == "__main__":
    sys.exit(main())
