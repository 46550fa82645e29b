"""The clock: enqueues each periodic job once per period, however many clocks run.

Periods are aligned to the Unix epoch (``floor(now / interval)``), so clocks on different
processes or hosts agree on what "this period" is without talking to each other; the
first one to ``SET NX`` the period's key in Redis enqueues the job, the others skip it.

RQ's own cron (rq/cron.py, ``CronScheduler``) is not used: each scheduler keeps its
last-enqueue time in process memory and enqueues without any Redis lock, so N running
schedulers enqueue N copies per interval; an interval job is enqueued as soon as a
scheduler starts (so every restart runs it again); it needs the job function imported
rather than a dotted path; and it enqueues on a queue with the default pickle serializer,
where ours only ever carries JSON.
"""

from __future__ import annotations

import logging
import math
import signal
import sys
import threading
import time
from collections.abc import Callable, Sequence
from types import FrameType

from redis import Redis
from redis.exceptions import RedisError
from rq import Queue

from workers.queue import connect, make_queue
from workers.schedule import Periodic, periodic_jobs
from workers.startup import settings_or_exit

# Named, not __name__: run with -m this module is __main__.
log = logging.getLogger("workers.clock")

# Sleeping at most this long keeps the loop responsive to a stop request and to a wall
# clock that jumps (NTP, a suspended laptop).
MAX_SLEEP_SECONDS = 1.0
# A period's claim outlives the period by this much, so a clock on a host whose time lags
# ours by up to a minute still sees the claim instead of enqueueing the period again.
CLAIM_SLACK_SECONDS = 60


def period(now: float, interval: float) -> int:
    """The number of the epoch-aligned period of length ``interval`` that contains ``now``."""
    return math.floor(now / interval)


def claim_key(name: str, number: int) -> str:
    return f"wingman:clock:{name}:{number}"


def tick(redis: Redis, queue: Queue, periodics: Sequence[Periodic], now: float) -> list[str]:
    """Enqueue every periodic whose period containing ``now`` nobody has claimed yet.

    Returns the names of the jobs this call enqueued.
    """
    enqueued = []
    for job in periodics:
        number = period(now, job.interval)
        key = claim_key(job.name, number)
        ttl = math.ceil(job.interval) + CLAIM_SLACK_SECONDS
        if not redis.set(key, 1, nx=True, ex=ttl):
            continue
        try:
            queue.enqueue(job.func, job_id=f"clock-{job.name}-{number}")
        except Exception:
            # Give the period back so the next tick (ours or another clock's) retries it.
            redis.delete(key)
            raise
        log.info("enqueued %s (%s) for period %d of %gs", job.name, job.func, number, job.interval)
        enqueued.append(job.name)
    return enqueued


def seconds_until_next(periodics: Sequence[Periodic], now: float) -> float:
    """Time from ``now`` to the earliest start of a new period of any periodic."""
    return min((period(now, p.interval) + 1) * p.interval - now for p in periodics)


def run(
    redis: Redis,
    queue: Queue,
    periodics: Sequence[Periodic],
    *,
    stop: threading.Event,
    clock: Callable[[], float] = time.time,
    sleep: Callable[[float], object] | None = None,
) -> None:
    """Tick until ``stop`` is set.

    ``sleep`` defaults to waiting on ``stop``, so setting it ends the loop at once.
    """
    wait = sleep or stop.wait
    while not stop.is_set():
        try:
            tick(redis, queue, periodics, clock())
        except RedisError as exc:
            if stop.is_set():
                break
            # A Redis restart should not take the clock (and with it the supervisor) down.
            log.warning("clock tick failed, retrying: %s", exc)
        delay = seconds_until_next(periodics, clock()) if periodics else MAX_SLEEP_SECONDS
        wait(min(max(delay, 0.0), MAX_SLEEP_SECONDS))


def main() -> int:
    settings = settings_or_exit("wingman clock")
    stop = threading.Event()

    def request_stop(_signum: int, _frame: FrameType | None) -> None:
        stop.set()
        # After a Ctrl-C the supervisor forwards a SIGTERM too; once Python has begun
        # exiting it no longer runs handlers, and that second signal would kill us.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)

    periodics = periodic_jobs(settings)
    for job in periodics:
        log.info("clock: %s every %gs", job.name, job.interval)
    connection = connect(settings.effective_redis_url)
    try:
        run(connection, make_queue(connection), periodics, stop=stop)
    finally:
        connection.close()
    log.info("clock stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
