"""The one way tests make the worker context: ``workers.context.build`` with the tests'
fakes, installed where the jobs look for it."""

from __future__ import annotations

import random
from typing import Any

import pytest
from sqlalchemy.engine import Engine

from core.config_store import ConfigStore
from core.settings import Settings
from tests.clock import FakeClock
from workers import context, outbox, runtime
from workers.context import WorkerContext
from workers.debounce import ReplyTimer
from workers.llm import Composer


def worker_context(
    settings: Settings,
    *,
    engine: Engine,
    config: ConfigStore,
    clock: FakeClock,
    composer: Composer | None,
    chatwoot: outbox.Poster | None,
    notices: list[dict[str, Any]],
    pauses: list[float],
) -> WorkerContext:
    """A context on the test's clock that records notices and pauses instead of sending and
    sleeping, retries through the real scheduled job, and assigns arms from a seeded Random
    (a test that needs other draws sets ``rng``)."""
    return context.build(
        settings,
        engine=engine,
        config=config,
        composer=composer,
        chatwoot=chatwoot,
        now=clock.dt,
        retry_later=runtime.schedule_outbox,
        pause=pauses.append,
        rng=random.Random(0),
        notify=notices.append,
    )


def install(monkeypatch: pytest.MonkeyPatch, deps: WorkerContext, timer: ReplyTimer) -> None:
    """Make the jobs use this context and timer instead of building the real ones."""
    monkeypatch.setattr(runtime, "worker_context", lambda: deps)
    monkeypatch.setattr(runtime, "reply_timer", lambda: timer)
