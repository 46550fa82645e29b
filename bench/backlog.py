"""Goal 2, keeping up: at a fixed offered rate, how far processing lags behind
acknowledgement, and how fast a backlog drains.

Open loop: deliveries are offered at RATE per second for SECONDS, over CONVERSATIONS
conversations, whatever the answers; Wingman runs as `make run` starts it. Lag is a
delivery's ``processed_at - received_at`` (stored, applied, routed, timers set), read from
the database afterwards. Replies are left out (the quiet period is an hour): the reply
pipeline has a benchmark of its own. Then the offered rate doubles, for RAMP_SECONDS each,
until the p99 lag passes the goal: the last rate under it is the highest sustainable one.
When RATE itself misses the goal, the rate halves instead, until the p99 holds.
"""

from __future__ import annotations

import os
import statistics
import time
from dataclasses import dataclass
from pathlib import Path

from sqlmodel import Session, col, select

from bench import service
from bench.loadgen import open_loop
from bench.traffic import Traffic
from core.db import make_engine
from core.models import Delivery
from core.settings import Settings

RATE = 200.0
SECONDS = float(os.environ.get("BENCH_BACKLOG_SECONDS", "60"))
RAMP_SECONDS = float(os.environ.get("BENCH_RAMP_SECONDS", "20"))
CONVERSATIONS = 200
GOAL_P99 = 5.0
DRAIN_LIMIT = 180.0
MIN_RATE = 12.5
MAX_RATE = 3200.0
QUIET = {"REPLY_DEBOUNCE_SECONDS": "3600", "REPLY_MAX_WAIT_SECONDS": "7200"}


@dataclass
class Lag:
    rate: float
    acked: int
    p50: float
    p99: float
    late: int  # still unprocessed 5 s after the load stopped
    drain: float  # seconds from the end of the load to the last delivery processed
    per_second: float  # deliveries processed per second while a backlog stood


def percentile(values: list[float], p: int) -> float:
    if len(values) < 2:
        return values[0] if values else float("nan")
    return statistics.quantiles(values, n=100, method="inclusive")[p - 1]


def offer(url: str, database_url: str, run: int, rate: float, seconds: float) -> Lag:
    traffic = Traffic(service.SECRET, conversations=CONVERSATIONS, run=run)
    result = open_loop(url, traffic.make, rate=rate, seconds=seconds)
    ended = time.time()
    rows = wait_processed(database_url, run, result.ok, ended)
    lags = [(done - got) for got, done in rows if done is not None]
    finished = [done for _got, done in rows if done is not None]
    last = max(finished) if finished else ended
    first = min(got for got, _done in rows) if rows else ended
    late = sum(1 for _got, done in rows if done is None or done > ended + 5)
    return Lag(
        rate=rate,
        acked=result.ok,
        p50=percentile(lags, 50),
        p99=percentile(lags, 99),
        late=late + max(result.ok - len(rows), 0),
        drain=max(last - ended, 0.0),
        per_second=len(finished) / (last - first) if last > first else float("nan"),
    )


def wait_processed(
    database_url: str, run: int, expected: int, ended: float
) -> list[tuple[float, float | None]]:
    """(received, processed) epoch seconds of this run's deliveries, once all are processed
    (or DRAIN_LIMIT passed)."""
    engine = make_engine(database_url)
    prefix = f"bench-{run}-%"
    try:
        while True:
            with Session(engine) as session:
                rows = session.exec(
                    select(Delivery.received_at, Delivery.processed_at).where(
                        col(Delivery.delivery_key).like(prefix)
                    )
                ).all()
            pending = sum(1 for _got, done in rows if done is None)
            if (len(rows) >= expected and not pending) or time.time() > ended + DRAIN_LIMIT:
                return [(got.timestamp(), done.timestamp() if done else None) for got, done in rows]
            time.sleep(0.5)
    finally:
        engine.dispose()


def ramp(url: str, database_url: str, *, up: bool) -> list[Lag]:
    """From RATE, double the offered rate until the lag's p99 passes the goal (``up``), or
    halve it until it holds (down to MIN_RATE), for RAMP_SECONDS a step; each step starts
    once the one before has drained."""
    steps: list[Lag] = []
    rate = RATE
    while True:
        rate = rate * 2 if up else rate / 2
        step = offer(url, database_url, len(steps) + 2, rate, RAMP_SECONDS)
        steps.append(step)
        if up:
            missed = step.p99 >= GOAL_P99 or step.acked < 0.9 * rate * RAMP_SECONDS
            if missed or rate >= MAX_RATE:
                return steps
        elif step.p99 < GOAL_P99 or rate <= MIN_RATE:
            return steps


def routing_workers() -> int:
    return Settings.from_env({}).routing_workers


def measure(workdir: Path, database_url: str, label: str) -> None:
    with (
        service.standins(workdir) as targets,
        service.wingman(workdir, database_url, {**targets, **QUIET}) as url,
    ):
        main = offer(url, database_url, 1, RATE, SECONDS)
        steps = ramp(url, database_url, up=main.p99 < GOAL_P99)
    held = [s.rate for s in (main, *steps) if s.p99 < GOAL_P99]
    saturated = max((main, *steps), key=lambda s: s.rate)
    workers = routing_workers()
    print(
        f"backlog, {label}: {RATE:g}/s offered for {SECONDS:g}s over {CONVERSATIONS} "
        f"conversations, {workers} routing workers"
    )
    print(
        f"  lag p50 {main.p50 * 1000:.0f} ms, p99 {main.p99 * 1000:.0f} ms (goal < 5 s); "
        f"{main.late} unprocessed 5 s after the load (goal 0); drained {main.drain:.1f}s "
        f"after it"
    )
    for step in steps:
        print(
            f"  {step.rate:5.0f}/s for {RAMP_SECONDS:g}s: lag p99 {step.p99:6.2f}s, "
            f"{step.acked} acknowledged, drained {step.drain:.1f}s after"
        )
    print(
        f"  highest offered rate with p99 lag < 5 s: {max(held, default=0):g}/s; "
        f"{saturated.per_second / workers:.0f} deliveries/s per routing worker "
        f"(at {saturated.rate:g}/s offered)"
    )


def main() -> None:
    service.on_each_database("backlog", measure)


if __name__ == "__main__":
    main()
