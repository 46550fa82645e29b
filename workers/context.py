"""What the worker's core functions need (drafting, sending, approvals, reminders, handoffs),
made in one place, ``build``: the runtime passes the real collaborators, tests their fakes
(tests/contexts.py)."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy.engine import Engine

from core.config_store import ConfigStore
from core.knowledge import KnowledgeStore
from core.pricing import Prices
from core.settings import Settings
from workers import outbox
from workers.llm import Composer


@dataclass
class WorkerContext:
    engine: Engine
    config: ConfigStore
    knowledge: KnowledgeStore
    # None when Claude or Chatwoot isn't configured: the conversation goes to a human.
    composer: Composer | None
    chatwoot: outbox.Poster | None
    now: Callable[[], datetime]
    cache_ttl: str
    takeover_distance: float
    # Called with (conversation id, attempt) when Chatwoot failed transiently and posting
    # must be retried later; the runtime wires it to a delayed RQ job.
    retry_later: Callable[[int, int], None]
    # Autopilot's pause before each bubble (a person typing); tests pass a recorder.
    pause: Callable[[float], None]
    prices: Prices
    # Arm assignment's randomness, injected (tests pass a seeded Random).
    rng: random.Random
    daily_cap: Decimal | None
    # Sends a notice to NOTIFY_WEBHOOK_URL (through its own retried job).
    notify: Callable[[dict[str, Any]], None]
    # Whether Wingman acts in a Chatwoot account (CHATWOOT_ACCOUNT_IDS).
    serves: Callable[[int], bool]


def build(
    settings: Settings,
    *,
    engine: Engine,
    config: ConfigStore,
    composer: Composer | None,
    chatwoot: outbox.Poster | None,
    now: Callable[[], datetime],
    retry_later: Callable[[int, int], None],
    pause: Callable[[float], None],
    rng: random.Random,
    notify: Callable[[dict[str, Any]], None],
) -> WorkerContext:
    """The context for these collaborators; everything else is read from ``settings``."""
    return WorkerContext(
        engine=engine,
        config=config,
        knowledge=KnowledgeStore(),
        composer=composer,
        chatwoot=chatwoot,
        now=now,
        cache_ttl=settings.prompt_cache_ttl,
        takeover_distance=settings.takeover_max_distance,
        retry_later=retry_later,
        pause=pause,
        prices=settings.claude_prices,
        rng=rng,
        daily_cap=settings.claude_daily_cap_usd,
        notify=notify,
        serves=settings.serves,
    )
