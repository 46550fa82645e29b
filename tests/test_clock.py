"""The clock enqueues each periodic job once per epoch-aligned period, however many clocks run."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from redis import Redis

from core.settings import Settings
from tests.clock import FakeClock
from workers.clock import (
    CLAIM_SLACK_SECONDS,
    MAX_SLEEP_SECONDS,
    claim_key,
    period,
    run,
    seconds_until_next,
    tick,
)
from workers.queue import make_queue
from workers.schedule import Periodic, periodic_jobs

ROOT = Path(__file__).resolve().parent.parent

SWEEP = Periodic("sweep", "tests.jobs.sweep", 60)
PRUNE = Periodic("prune", "tests.jobs.prune", 3600)


def queued_funcs(conn: Redis) -> list[str]:
    return [job.func_name or "" for job in make_queue(conn).get_jobs()]


@pytest.mark.parametrize(
    ("now", "interval", "expected"),
    [
        (0.0, 60, 0),
        (59.999, 60, 0),
        (60.0, 60, 1),
        (119.999, 60, 1),
        (120.0, 60, 2),
        (3599.999, 3600, 0),
        (3600.0, 3600, 1),
        (1.0, 0.5, 2),
        (1.49, 0.5, 2),
        (1_700_000_000.0, 60, 28_333_333),
        (1_700_000_039.5, 60, 28_333_333),
    ],
)
def test_period_is_aligned_to_the_epoch(now: float, interval: float, expected: int) -> None:
    assert period(now, interval) == expected


@pytest.mark.parametrize(
    ("now", "expected"),
    [(0.0, 60.0), (59.5, 0.5), (60.0, 60.0), (3590.0, 10.0), (3600.0, 60.0)],
)
def test_seconds_until_next_is_the_nearest_boundary(now: float, expected: float) -> None:
    assert seconds_until_next([SWEEP, PRUNE], now) == pytest.approx(expected)


def test_periodic_jobs_follow_the_settings() -> None:
    settings = Settings.from_env(
        {
            "DELIVERY_SWEEP_INTERVAL_SECONDS": "15",
            "DELIVERY_PRUNE_INTERVAL_SECONDS": "900",
            "OUTBOX_SWEEP_INTERVAL_SECONDS": "45",
        }
    )
    assert periodic_jobs(settings) == [
        Periodic("requeue_stale_deliveries", "workers.jobs.requeue_stale_deliveries", 15.0),
        Periodic("prune_deliveries", "workers.jobs.prune_deliveries", 900.0),
        Periodic("sweep_replies", "workers.jobs.sweep_replies", 60.0),
        Periodic("check_drafts", "workers.jobs.check_drafts", 60.0),
        Periodic("scan_follow_ups", "workers.jobs.scan_follow_ups", 60.0),
        Periodic("retry_stuck_outbox", "workers.jobs.retry_stuck_outbox", 45.0),
    ]


def test_tick_claims_the_period_and_enqueues_by_dotted_path(redis_conn: Redis) -> None:
    now = 1_700_000_010.0
    assert tick(redis_conn, make_queue(redis_conn), [SWEEP], now) == ["sweep"]

    number = period(now, SWEEP.interval)
    key = claim_key("sweep", number)
    assert redis_conn.get(key) == b"1"
    assert 60 < redis_conn.ttl(key) <= 60 + CLAIM_SLACK_SECONDS
    [job] = make_queue(redis_conn).get_jobs()
    assert job.id == f"clock-sweep-{number}"
    assert job.func_name == "tests.jobs.sweep"
    assert not job.args and not job.kwargs


def test_two_clocks_in_the_same_period_enqueue_once(redis_conn: Redis, redis_url: str) -> None:
    other = Redis.from_url(redis_url)
    try:
        first = tick(redis_conn, make_queue(redis_conn), [SWEEP], 1_700_000_001.0)
        second = tick(other, make_queue(other), [SWEEP], 1_700_000_002.0)
        # The same clock again, late in the period.
        third = tick(redis_conn, make_queue(redis_conn), [SWEEP], 1_700_000_039.9)
    finally:
        other.close()
    assert (first, second, third) == (["sweep"], [], [])
    assert queued_funcs(redis_conn) == ["tests.jobs.sweep"]


def test_a_new_period_enqueues_again(redis_conn: Redis) -> None:
    queue = make_queue(redis_conn)
    assert tick(redis_conn, queue, [SWEEP], 1_700_000_039.9) == ["sweep"]
    assert tick(redis_conn, queue, [SWEEP], 1_700_000_040.0) == ["sweep"]
    assert len(queue) == 2


def test_different_intervals_are_claimed_independently(redis_conn: Redis) -> None:
    queue = make_queue(redis_conn)
    start = 1_699_999_200.0  # a whole hour, so both periods begin here
    enqueued = [tick(redis_conn, queue, [SWEEP, PRUNE], start + minute * 60) for minute in range(3)]
    assert enqueued == [["sweep", "prune"], ["sweep"], ["sweep"]]
    assert sorted(queued_funcs(redis_conn)) == ["tests.jobs.prune"] + ["tests.jobs.sweep"] * 3


def test_a_failed_enqueue_gives_the_period_back(redis_conn: Redis) -> None:
    # rq rejects the job id built from this name, after the period was claimed.
    bad = Periodic("not a valid id", "tests.jobs.sweep", 60)
    with pytest.raises(ValueError):
        tick(redis_conn, make_queue(redis_conn), [bad], 1_700_000_000.0)
    assert redis_conn.get(claim_key(bad.name, period(1_700_000_000.0, 60))) is None


class StoppingClock(FakeClock):
    """A fake clock that ends the clock loop once its sleeps reach ``end``."""

    def __init__(self, start: float, end: float, stop: threading.Event) -> None:
        super().__init__(start)
        self.end, self.stop = end, stop

    def sleep(self, seconds: float) -> None:
        super().sleep(seconds)
        if self.now >= self.end:
            self.stop.set()


def test_run_ticks_at_each_period_boundary(redis_conn: Redis) -> None:
    fast = Periodic("fast", "tests.jobs.fast", 0.25)
    slow = Periodic("slow", "tests.jobs.slow", 0.5)
    stop = threading.Event()
    # Binary-exact times, so each sleep lands exactly on a boundary.
    fake = StoppingClock(start=1000.125, end=1002.0, stop=stop)

    run(
        redis_conn,
        make_queue(redis_conn),
        [fast, slow],
        stop=stop,
        clock=fake.clock,
        sleep=fake.sleep,
    )

    funcs = queued_funcs(redis_conn)
    # Periods [1000.0, 1002.0): eight quarter-seconds and four half-seconds.
    assert funcs.count("tests.jobs.fast") == 8
    assert funcs.count("tests.jobs.slow") == 4
    assert fake.sleeps[0] == 0.125
    assert all(0 < s <= MAX_SLEEP_SECONDS for s in fake.sleeps)


def test_run_sleeps_at_most_the_cap_between_ticks(redis_conn: Redis) -> None:
    stop = threading.Event()
    fake = StoppingClock(start=1_699_999_200.0, end=1_699_999_205.0, stop=stop)

    run(redis_conn, make_queue(redis_conn), [PRUNE], stop=stop, clock=fake.clock, sleep=fake.sleep)

    assert fake.sleeps == [MAX_SLEEP_SECONDS] * 5
    assert queued_funcs(redis_conn) == ["tests.jobs.prune"]


def test_run_in_real_time_stops_promptly(redis_conn: Redis) -> None:
    stop = threading.Event()
    every = Periodic("every", "tests.jobs.every", 0.1)
    loop = threading.Thread(
        target=run, args=(redis_conn, make_queue(redis_conn), [every]), kwargs={"stop": stop}
    )
    loop.start()
    time.sleep(0.45)
    stop.set()
    loop.join(timeout=2)
    assert not loop.is_alive()
    assert 3 <= len(make_queue(redis_conn)) <= 6


@pytest.mark.slow
def test_clock_process_enqueues_and_stops_on_sigterm(
    redis_conn: Redis, redis_url: str, tmp_path: Path
) -> None:
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env.update(REDIS_URL=redis_url, PYTHONPATH=str(ROOT), DELIVERY_SWEEP_INTERVAL_SECONDS="0.2")
    log_path = tmp_path / "clock.log"
    with log_path.open("wb") as log_file:
        clock = subprocess.Popen(
            [sys.executable, "-m", "workers.clock"],
            cwd=tmp_path,
            env=env,
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
        try:
            deadline = time.monotonic() + 15
            while (
                queued_funcs(redis_conn).count("workers.jobs.requeue_stale_deliveries") < 3
                and time.monotonic() < deadline
            ):
                time.sleep(0.1)
            clock.send_signal(signal.SIGTERM)
            assert clock.wait(timeout=5) == 0
        finally:
            clock.kill()
            clock.wait()
    funcs = queued_funcs(redis_conn)
    assert funcs.count("workers.jobs.requeue_stale_deliveries") >= 3
    assert funcs.count("workers.jobs.prune_deliveries") >= 1
    assert funcs.count("workers.jobs.retry_stuck_outbox") >= 1
    assert "enqueued requeue_stale_deliveries" in log_path.read_text()
