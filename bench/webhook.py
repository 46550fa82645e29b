"""How long the webhook takes to acknowledge a delivery, against a do-nothing endpoint.

Chatwoot gives up after 5 s, so acknowledgement must stay far from that under load. The
baseline is GET /healthz on the same app in the same run (Flask's own overhead), so the
ratio is what storing and enqueueing add, whatever the machine. Runs on the embedded
defaults (SQLite file, embedded Redis), so it needs no services.
"""

from __future__ import annotations

import json
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from bot import create_app
from core.db import make_engine, migrate
from core.settings import Settings
from workers import embedded_redis
from workers.queue import connect

EVENT = (
    Path(__file__).resolve().parents[1]
    / "tests/fixtures/chatwoot/events/message_created_incoming.json"
)
ROUNDS = 500


def timed(call: Any, rounds: int) -> list[float]:
    samples = []
    for index in range(rounds):
        started = time.perf_counter()
        call(index)
        samples.append(time.perf_counter() - started)
    return samples


def describe(samples: list[float]) -> str:
    ordered = sorted(samples)
    p50 = statistics.median(ordered) * 1000
    p99 = ordered[int(len(ordered) * 0.99) - 1] * 1000
    return f"p50 {p50:6.2f} ms  p99 {p99:6.2f} ms"


def main() -> None:
    payload = json.loads(EVENT.read_text())
    with tempfile.TemporaryDirectory(prefix="wm-bench-", dir="/tmp") as tmp:
        socket = Path(tmp) / "redis.sock"
        redis_process = embedded_redis.start(socket)
        try:
            settings = Settings.from_env(
                {"DATABASE_URL": f"sqlite:///{tmp}/bench.db", "REDIS_URL": f"unix://{socket}"}
            )
            engine = make_engine(settings.database_url)
            migrate(engine)
            redis = connect(settings.effective_redis_url)
            app = create_app({"settings": settings, "engine": engine, "redis": redis})
            client = app.test_client()

            def deliver(index: int) -> None:
                payload["id"] = 10_000_000 + index
                response = client.post(
                    "/chatwoot/webhook",
                    data=json.dumps(payload),
                    headers={"X-Chatwoot-Delivery": f"bench-{index}"},
                )
                assert response.status_code == 200, response.json

            def baseline(_index: int) -> None:
                assert client.get("/healthz").status_code == 200

            timed(baseline, 50)  # warm-up
            base = timed(baseline, ROUNDS)
            hook = timed(deliver, ROUNDS)
            ratio = statistics.median(hook) / statistics.median(base)
            print(f"webhook ack, {ROUNDS} deliveries (SQLite + embedded Redis)")
            print(f"  baseline GET /healthz   {describe(base)}")
            print(f"  POST /chatwoot/webhook  {describe(hook)}")
            print(f"  ratio (p50 webhook / p50 baseline): {ratio:.1f}x")
            redis.close()
            engine.dispose()
        finally:
            embedded_redis.stop(redis_process)
