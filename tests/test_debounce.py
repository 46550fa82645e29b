"""Waiting for the customer to finish: the pure decision, then the Redis timer on real Redis.

Time is a fake clock. It starts in 1970, so every job the timer schedules is already due for
the real RQ scheduler, while the timer itself judges quietness by the fake clock.
"""

from __future__ import annotations

import random
import signal
import threading
import time
from collections import Counter
from contextlib import ExitStack
from datetime import UTC, datetime
from typing import Any

import pytest
from redis import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from rq import Queue, get_current_job
from rq.job import Job, JobStatus
from rq.registry import ScheduledJobRegistry
from rq.scheduler import RQScheduler
from rq.serializers import JSONSerializer

from tests.clock import FakeClock
from workers.debounce import Decision, Reason, ReplyTimer, decide
from workers.queue import make_queue
from workers.worker import QuickRQScheduler, WingmanSimpleWorker

EPOCH = 1_000_000.0
DEBOUNCE = 0.5
MAX_WAIT = 2.0
CONVERSATION = 42
JOB = "tests.test_debounce.fake_reply_job"

# What the end-to-end job reads and writes: the fake time, and the runs it made.
NOW_KEY = "test:debounce:now"
RUNS_KEY = "test:debounce:runs"


@pytest.fixture
def queue(redis_conn: Redis) -> Queue:
    return make_queue(redis_conn)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(EPOCH)


@pytest.fixture
def timer(redis_conn: Redis, queue: Queue, clock: FakeClock) -> ReplyTimer:
    return ReplyTimer(
        redis_conn,
        queue,
        job=JOB,
        debounce=DEBOUNCE,
        max_wait=MAX_WAIT,
        clock=clock,
        rng=random.Random(7),
    )


def scheduled(queue: Queue) -> list[tuple[float, Any]]:
    """The pending jobs as (time the scheduler will move it, job)."""
    registry = ScheduledJobRegistry(queue=queue)
    return [
        (registry.get_scheduled_time(job_id).timestamp(), queue.fetch_job(job_id))
        for job_id in registry.get_job_ids()
    ]


def fire_pending(timer: ReplyTimer, queue: Queue) -> Decision:
    """Run the one pending timer job by hand, as the scheduler and a worker would."""
    [(_, job)] = scheduled(queue)
    ScheduledJobRegistry(queue=queue).remove(job, delete_job=True)
    assert job.func_name == JOB
    return timer.fire(*job.args, **job.kwargs)


def timer_token(redis_conn: Redis) -> bytes | None:
    token = redis_conn.get(ReplyTimer.key(CONVERSATION, "timer"))
    assert token is None or isinstance(token, bytes)
    return token


# --- decide() ----------------------------------------------------------------------------


def run(reason: Reason, *, without_transcription: bool = False) -> Decision:
    return Decision(True, reason, without_transcription=without_transcription)


def wait(until: float, reason: Reason = "waiting") -> Decision:
    return Decision(False, reason, recheck_at=until)


@pytest.mark.parametrize(
    ("now", "last_at", "options", "expected"),
    [
        pytest.param(1030.0, 1000.0, {}, run("quiet"), id="exactly-at-debounce"),
        pytest.param(1029.999, 1000.0, {}, wait(1030.0), id="just-before-debounce"),
        pytest.param(1000.0, 1000.0, {}, wait(1030.0), id="at-the-first-message"),
        pytest.param(1045.0, 1020.0, {}, wait(1050.0), id="a-new-message-extends"),
        pytest.param(1119.0, 1110.0, {}, wait(1120.0), id="stream-capped-before-quiet"),
        pytest.param(1119.999, 1119.0, {}, wait(1120.0), id="stream-just-before-cap"),
        pytest.param(1120.0, 1110.0, {}, run("max_wait"), id="stream-at-cap"),
        pytest.param(1120.0, 1120.0, {}, run("max_wait"), id="message-at-the-cap"),
        pytest.param(1500.0, 1090.0, {}, run("quiet"), id="both-passed-is-quiet"),
        pytest.param(
            1010.0, 1000.0, {"awaiting_transcription": True}, wait(1030.0), id="voice-in-quiet"
        ),
        pytest.param(
            1030.0,
            1000.0,
            {"awaiting_transcription": True},
            run("quiet", without_transcription=True),
            id="voice-after-quiet",
        ),
        pytest.param(
            1119.0, 1115.0, {"awaiting_transcription": True}, wait(1120.0), id="voice-before-cap"
        ),
        pytest.param(
            1120.0,
            1115.0,
            {"awaiting_transcription": True},
            run("max_wait", without_transcription=True),
            id="voice-never-past-cap",
        ),
        pytest.param(1010.0, 1000.0, {"busy": True}, wait(1030.0), id="busy-not-yet-due"),
        pytest.param(1031.0, 1000.0, {"busy": True}, wait(1061.0, "busy"), id="busy-when-due"),
        pytest.param(
            1000.0, 1000.0, {"debounce": 0.0}, run("quiet"), id="no-debounce-runs-at-once"
        ),
    ],
)
def test_decide(now: float, last_at: float, options: dict[str, Any], expected: Decision) -> None:
    kwargs: dict[str, Any] = {"debounce": 30.0, "max_wait": 120.0, **options}
    assert decide(now, first_at=1000.0, last_at=last_at, **kwargs) == expected


@pytest.mark.parametrize("awaiting_transcription", [False, True])
def test_decide_never_waits_past_max_wait_for_a_stream(awaiting_transcription: bool) -> None:
    now, ran_at = 0.0, None
    while ran_at is None:
        decision = decide(
            now,
            first_at=0.0,
            last_at=now,  # a message every step: never quiet
            debounce=30.0,
            max_wait=120.0,
            awaiting_transcription=awaiting_transcription,
        )
        if decision.run_now:
            ran_at = now
        now += 15.0
    assert ran_at == 120.0


# --- The timer on real Redis -------------------------------------------------------------


@pytest.mark.redis
def test_a_burst_schedules_one_timer(timer: ReplyTimer, queue: Queue, redis_conn: Redis) -> None:
    assert timer.touch(CONVERSATION, EPOCH)
    assert not timer.touch(CONVERSATION, EPOCH + 0.1)
    assert not timer.touch(CONVERSATION, EPOCH + 0.2)

    [(when, job)] = scheduled(queue)
    assert when == pytest.approx(EPOCH + DEBOUNCE)
    assert job.args == [CONVERSATION]
    assert job.kwargs["timer"].encode() == timer_token(redis_conn)
    assert timer.snapshot(CONVERSATION) == (EPOCH, EPOCH + 0.2)
    # Every key expires, so a flushed queue or a dead worker never blocks a conversation.
    for part in ("times", "timer"):
        assert 0 < redis_conn.pttl(ReplyTimer.key(CONVERSATION, part)) <= 600_000


@pytest.mark.redis
def test_an_early_fire_reschedules_itself_and_a_quiet_one_runs(
    timer: ReplyTimer, queue: Queue, clock: FakeClock, redis_conn: Redis
) -> None:
    for offset in (0.0, 0.1, 0.2):
        timer.touch(CONVERSATION, EPOCH + offset)
    token = timer_token(redis_conn)

    clock.now = EPOCH + 0.5
    early = fire_pending(timer, queue)
    assert (early.run_now, early.reason) == (False, "waiting")
    assert early.recheck_at == pytest.approx(EPOCH + 0.7)
    assert early.recheck_at is not None
    [(when, job)] = scheduled(queue)
    assert when == pytest.approx(early.recheck_at)
    assert timer_token(redis_conn) == token == job.kwargs["timer"].encode()

    clock.now = early.recheck_at
    assert fire_pending(timer, queue) == Decision(True, "quiet")
    assert timer_token(redis_conn) is None
    assert scheduled(queue) == []
    # The times stay until the draft settles them: Redis only said when.
    assert timer.snapshot(CONVERSATION) == (EPOCH, EPOCH + 0.2)


@pytest.mark.redis
def test_a_steady_stream_runs_at_max_wait(
    timer: ReplyTimer, queue: Queue, clock: FakeClock
) -> None:
    decision = None
    while decision is None or not decision.run_now:
        timer.touch(CONVERSATION, clock.now)
        [(when, _)] = scheduled(queue)
        if when <= clock.now:
            decision = fire_pending(timer, queue)
        clock.now += DEBOUNCE / 2
    assert decision == Decision(True, "max_wait")
    assert clock.now - DEBOUNCE / 2 == EPOCH + MAX_WAIT


@pytest.mark.redis
def test_a_message_during_generation_gets_exactly_one_follow_up(
    timer: ReplyTimer, queue: Queue, clock: FakeClock, redis_conn: Redis
) -> None:
    timer.touch(CONVERSATION, EPOCH)
    clock.now = EPOCH + DEBOUNCE
    assert fire_pending(timer, queue).run_now
    with timer.lock(CONVERSATION, ttl=60) as held:
        assert held
        clock.now = EPOCH + 0.6
        timer.touch(CONVERSATION, EPOCH + 0.6)
        assert timer.settle(CONVERSATION, covered_up_to=EPOCH)
        assert len(scheduled(queue)) == 1
    assert timer.snapshot(CONVERSATION) == (EPOCH + 0.6, EPOCH + 0.6)

    clock.now = EPOCH + 0.6 + DEBOUNCE
    assert fire_pending(timer, queue).run_now
    with timer.lock(CONVERSATION, ttl=60) as held:
        assert held
        assert not timer.settle(CONVERSATION, covered_up_to=EPOCH + 0.6)
    assert scheduled(queue) == []
    assert redis_conn.keys("wingman:reply:*") == []


@pytest.mark.redis
def test_a_timer_due_during_generation_waits_for_it(
    timer: ReplyTimer, queue: Queue, clock: FakeClock
) -> None:
    timer.touch(CONVERSATION, EPOCH)
    clock.now = EPOCH + DEBOUNCE
    assert fire_pending(timer, queue).run_now
    with timer.lock(CONVERSATION, ttl=60):
        timer.touch(CONVERSATION, EPOCH + 0.6)
        clock.now = EPOCH + 5.0
        assert fire_pending(timer, queue) == Decision(False, "busy", recheck_at=EPOCH + 5.5)
        assert timer.settle(CONVERSATION, covered_up_to=EPOCH)
        assert len(scheduled(queue)) == 1
    clock.now = EPOCH + 5.5
    assert fire_pending(timer, queue) == Decision(True, "quiet")


@pytest.mark.redis
def test_settle_restarts_a_lost_timer(timer: ReplyTimer, queue: Queue, redis_conn: Redis) -> None:
    timer.touch(CONVERSATION, EPOCH)
    timer.touch(CONVERSATION, EPOCH + 0.3)
    [(_, job)] = scheduled(queue)
    ScheduledJobRegistry(queue=queue).remove(job, delete_job=True)
    redis_conn.delete(ReplyTimer.key(CONVERSATION, "timer"))  # as if it had expired

    assert timer.settle(CONVERSATION, covered_up_to=EPOCH)
    [(when, _)] = scheduled(queue)
    assert when == pytest.approx(EPOCH + 0.3 + DEBOUNCE)
    assert timer.snapshot(CONVERSATION) == (EPOCH + 0.3, EPOCH + 0.3)


@pytest.mark.redis
def test_a_stale_timer_leaves_the_pending_one_alone(
    timer: ReplyTimer, queue: Queue, clock: FakeClock, redis_conn: Redis
) -> None:
    timer.touch(CONVERSATION, EPOCH)
    token = timer_token(redis_conn)
    clock.now = EPOCH + 10
    assert timer.fire(CONVERSATION, timer="someone-else") == Decision(False, "stale")
    assert timer.fire(CONVERSATION) == Decision(False, "stale")
    assert timer_token(redis_conn) == token
    assert len(scheduled(queue)) == 1


@pytest.mark.redis
def test_a_timer_with_nothing_to_answer_lets_go(
    timer: ReplyTimer, queue: Queue, redis_conn: Redis
) -> None:
    assert timer.fire(CONVERSATION) == Decision(False, "idle")
    assert timer_token(redis_conn) is None
    assert scheduled(queue) == []


@pytest.mark.redis
def test_touches_out_of_order_and_repeated(timer: ReplyTimer) -> None:
    timer.touch(CONVERSATION, EPOCH + 1)
    timer.touch(CONVERSATION, EPOCH)
    timer.touch(CONVERSATION, EPOCH + 1)
    assert timer.snapshot(CONVERSATION) == (EPOCH, EPOCH + 1)
    assert timer.snapshot(CONVERSATION + 1) is None


@pytest.mark.redis
def test_only_one_of_many_concurrent_lockers_gets_the_lock(timer: ReplyTimer) -> None:
    # Every thread tries at the same moment and holds on until all have tried.
    start, tried = threading.Barrier(8, timeout=10), threading.Barrier(8, timeout=10)
    results: list[bool] = []

    def attempt() -> None:
        start.wait()
        with timer.lock(CONVERSATION, ttl=10) as held:
            results.append(held)
            tried.wait()

    threads = [threading.Thread(target=attempt) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == [False] * 7 + [True]


@pytest.mark.redis
def test_an_expired_lock_is_not_released_by_its_old_holder(
    timer: ReplyTimer, redis_conn: Redis
) -> None:
    key = ReplyTimer.key(CONVERSATION, "lock")
    later = ExitStack()
    with timer.lock(CONVERSATION, ttl=10) as old:
        assert old
        redis_conn.delete(key)  # as if it had expired mid-generation
        assert later.enter_context(timer.lock(CONVERSATION, ttl=10))
        new_token = redis_conn.get(key)
    assert redis_conn.get(key) == new_token
    later.close()
    assert redis_conn.get(key) is None


@pytest.mark.redis
def test_a_failed_generation_releases_the_lock(timer: ReplyTimer, redis_conn: Redis) -> None:
    with pytest.raises(RuntimeError), timer.lock(CONVERSATION, ttl=10):
        raise RuntimeError("the model timed out")
    assert redis_conn.get(ReplyTimer.key(CONVERSATION, "lock")) is None


@pytest.mark.redis
def test_touch_after_a_flush_schedules_again(
    timer: ReplyTimer, queue: Queue, redis_conn: Redis
) -> None:
    timer.touch(CONVERSATION, EPOCH)
    redis_conn.flushdb()
    assert timer.touch(CONVERSATION, EPOCH + 0.1)
    assert len(scheduled(queue)) == 1


@pytest.mark.redis
def test_a_failed_enqueue_gives_the_timer_back(
    timer: ReplyTimer, queue: Queue, redis_conn: Redis
) -> None:
    # The queue's Redis is gone; the timer's claim lives in the one that answers.
    gone = make_queue(Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.5))
    broken = ReplyTimer(redis_conn, gone, job=JOB, debounce=DEBOUNCE, max_wait=MAX_WAIT)
    with pytest.raises(RedisConnectionError):
        broken.touch(CONVERSATION, EPOCH)
    assert timer_token(redis_conn) is None
    assert timer.touch(CONVERSATION, EPOCH + 0.1)
    assert len(scheduled(queue)) == 1


def test_negative_intervals_are_refused(redis_conn: Redis) -> None:
    with pytest.raises(ValueError, match="negative"):
        ReplyTimer(redis_conn, make_queue(redis_conn), job=JOB, debounce=-1, max_wait=2)


# --- End to end: the real RQ scheduler and worker ----------------------------------------


def e2e_timer(connection: Redis) -> ReplyTimer:
    def clock() -> float:
        return float(connection.get(NOW_KEY) or 0)

    return ReplyTimer(
        connection, make_queue(connection), job=JOB, debounce=0.05, max_wait=0.2, clock=clock
    )


def fake_reply_job(conversation_id: int, timer: str | None = None) -> None:
    """The shape of the real reply job, recording each generation instead of drafting."""
    job = get_current_job()
    assert job is not None
    reply_timer = e2e_timer(job.connection)
    if not reply_timer.fire(conversation_id, timer=timer).run_now:
        return
    with reply_timer.lock(conversation_id, ttl=10) as held:
        if not held:
            return
        times = reply_timer.snapshot(conversation_id)
        assert times is not None
        job.connection.rpush(RUNS_KEY, f"{conversation_id}:{times[0]!r}-{times[1]!r}")
    reply_timer.settle(conversation_id, covered_up_to=times[1])


@pytest.mark.redis
def test_a_burst_gives_one_run_through_a_real_worker(redis_conn: Redis, queue: Queue) -> None:
    reply_timer = e2e_timer(redis_conn)
    scheduler = RQScheduler([queue.name], connection=redis_conn, serializer=JSONSerializer)
    scheduler.prepare_registries([queue.name])
    worker = WingmanSimpleWorker([queue], connection=redis_conn, serializer=JSONSerializer)

    def at(now: float) -> None:
        redis_conn.set(NOW_KEY, repr(now))

    def drain() -> None:
        scheduler.enqueue_scheduled_jobs()
        worker.work(burst=True)

    try:
        for offset in (0.0, 0.01, 0.02):
            at(EPOCH + offset)
            reply_timer.touch(CONVERSATION, EPOCH + offset)
            reply_timer.touch(CONVERSATION + 1, EPOCH)
        at(EPOCH + 0.06)
        drain()  # the other conversation is quiet; this one is not yet
        assert redis_conn.lrange(RUNS_KEY, 0, -1) == [
            f"{CONVERSATION + 1}:{EPOCH!r}-{EPOCH!r}".encode()
        ]
        assert len(scheduled(queue)) == 1

        at(EPOCH + 0.1)
        drain()
        assert redis_conn.lrange(RUNS_KEY, 0, -1)[1:] == [
            f"{CONVERSATION}:{EPOCH!r}-{EPOCH + 0.02!r}".encode()
        ]
        drain()
    finally:
        scheduler.connection.connection_pool.disconnect()
    assert redis_conn.llen(RUNS_KEY) == 2
    assert scheduled(queue) == []
    assert redis_conn.keys("wingman:reply:*") == []


def nothing() -> None:
    """A job that touches nothing outside the test."""


@pytest.mark.redis
def test_the_workers_scheduler_is_ours(redis_conn: Redis, queue: Queue) -> None:
    queue.enqueue_at(datetime.fromtimestamp(1, tz=UTC), "tests.test_debounce.nothing")
    worker = WingmanSimpleWorker([queue], connection=redis_conn, serializer=JSONSerializer)
    worker.work(burst=True, with_scheduler=True)
    assert isinstance(worker.scheduler, QuickRQScheduler)
    assert scheduled(queue) == []
    assert len(queue.finished_job_registry) == 1


@pytest.mark.redis
def test_the_scheduler_moves_a_reply_timer_within_a_fifth_of_a_second_of_its_time(
    redis_conn: Redis, queue: Queue
) -> None:
    # RQ keeps whole seconds and polls once a second: a timer due at x.3 s would move at
    # the next whole second or later, 0.7 s late at least. Ours keeps the exact time.
    debounce = 0.6
    timer = ReplyTimer(redis_conn, queue, job=JOB, debounce=debounce, max_wait=5)
    now = time.time()
    time.sleep((0.7 - now % 1) % 1)  # so the timer is due 0.3 s past a whole second
    touched = time.time()
    assert timer.touch(CONVERSATION, touched)
    due = touched + debounce
    [(score, _job)] = scheduled(queue)
    assert score == pytest.approx(due, abs=1e-6)  # not RQ's whole second
    scheduler = QuickRQScheduler([queue], connection=redis_conn, serializer=JSONSerializer)
    scheduler.acquire_locks()
    assert scheduler.acquired_locks
    moved: list[float] = []

    def watch() -> None:
        deadline = time.monotonic() + 5
        while not moved and time.monotonic() < deadline:
            if queue.count:
                moved.append(time.time())
            time.sleep(0.01)
        scheduler.request_stop()

    handlers = signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)
    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        scheduler.work()
    finally:
        watcher.join()
        signal.signal(signal.SIGINT, handlers[0])
        signal.signal(signal.SIGTERM, handlers[1])
    assert moved, "the due timer was never moved onto the queue"
    assert 0 <= moved[0] - due < 0.35


@pytest.mark.redis
def test_timers_due_at_once_are_never_lost_to_a_scheduler_running_meanwhile(
    redis_conn: Redis, queue: Queue
) -> None:
    """The race behind a reply that came minutes late in the pipeline benchmark: RQ's
    ``enqueue_at`` adds a job's id to the scheduled registry before the job is saved, and a
    scheduler pass in between dropped the id. Here a scheduler moves due jobs in a tight
    loop while many timers come due at once; every job must reach the queue."""
    timer = ReplyTimer(redis_conn, queue, job=JOB, debounce=0.0, max_wait=5)
    scheduler = QuickRQScheduler([queue], connection=redis_conn, serializer=JSONSerializer)
    scheduler.prepare_registries([queue.name])
    stop = threading.Event()

    def move() -> None:
        while not stop.is_set():
            scheduler.enqueue_scheduled_jobs()

    mover = threading.Thread(target=move)
    mover.start()
    try:
        count = 600
        for conversation in range(count):
            assert timer.touch(CONVERSATION + conversation, time.time() - 1)  # due at once
    finally:
        stop.set()
        mover.join()
    scheduler.enqueue_scheduled_jobs()  # whatever was still due
    statuses = Counter(
        job.get_status() for job in Job.fetch_many(queue.job_ids, connection=redis_conn) if job
    )
    assert queue.count == count, (
        f"{count - queue.count} of {count} timer jobs never reached the queue "
        f"({len(scheduled(queue))} still in the scheduled registry)"
    )
    assert statuses == Counter({JobStatus.QUEUED: count})
