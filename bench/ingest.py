"""Goal 1, ingest: how many signed deliveries the webhook acknowledges per second, against
a bare Flask endpoint under the same gunicorn in the same run.

Closed loop: CONNECTIONS clients, each sending its next delivery as soon as the last is
answered, for SECONDS. Wingman runs as `make run` starts it, worker and clock included
(the worker may lag while this lasts). Afterwards every acknowledged delivery must be in
the database, and nothing may have answered 5xx.
"""

from __future__ import annotations

import os
from pathlib import Path

from sqlalchemy import func
from sqlmodel import Session, select

from bench import service
from bench.loadgen import Result, closed_loop
from bench.traffic import Traffic
from core.db import make_engine
from core.models import Delivery

CONNECTIONS = 32
SECONDS = float(os.environ.get("BENCH_SECONDS", "20"))
CONVERSATIONS = 200


def stored(database_url: str) -> int:
    engine = make_engine(database_url)
    try:
        with Session(engine) as session:
            return int(session.exec(select(func.count()).select_from(Delivery)).one())
    finally:
        engine.dispose()


def measure(workdir: Path, database_url: str, label: str) -> None:
    traffic = Traffic(service.SECRET, conversations=CONVERSATIONS)
    with service.bare(workdir, {}) as url:
        closed_loop(url, lambda _i: ("/", {}, b"{}"), connections=CONNECTIONS, seconds=2)
        base = closed_loop(
            url,
            lambda i: ("/", *traffic.make(i)[1:]),
            connections=CONNECTIONS,
            seconds=SECONDS,
        )
    with (
        service.standins(workdir) as targets,
        service.wingman(workdir, database_url, targets) as url,
    ):
        hook: Result = closed_loop(url, traffic.make, connections=CONNECTIONS, seconds=SECONDS)
    count = stored(database_url)
    ratio = hook.rate / base.rate if base.rate else float("nan")
    print(f"ingest, {label}: {CONNECTIONS} connections for {SECONDS:g}s")
    print(f"  bare Flask POST /        {base.summary()}")
    print(f"  POST /chatwoot/webhook   {hook.summary()}")
    verdict = "stored = acknowledged" if count == hook.ok else f"STORED {count} != ACKED {hook.ok}"
    print(
        f"  ratio {ratio:.2f} (goal >= 0.5), p99 {hook.percentile(99):.0f} ms (goal < 50); "
        f"{verdict}; {hook.server_errors} answered 5xx"
    )


def main() -> None:
    service.on_each_database("ingest", measure)


if __name__ == "__main__":
    main()
