"""What the worker's core functions need, built once per process by ``workers.runtime``;
tests pass their own."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from time import sleep
from typing import Any

from sqlalchemy.engine import Engine

from core.config import ConfigStore
from core.knowledge import KnowledgeStore
from core.settings import Prices
from workers import outbox
from workers.llm import Composer


@dataclass
class ReplyDeps:
    """What drafting needs; the job builds the real ones, tests pass fakes."""

    engine: Engine
    config: ConfigStore
    knowledge: KnowledgeStore
    composer: Composer | None
    chatwoot: outbox.Poster | None
    now: Callable[[], datetime]
    cache_ttl: str = "1h"
    takeover_distance: float = 0.3
    # Called with (conversation id, attempt) when Chatwoot failed transiently and posting
    # must be retried later; the job wires it to a delayed RQ job.
    retry_later: Callable[[int, int], None] = lambda _conversation_id, _attempt: None
    # Autopilot's pause before each bubble (a person typing); tests pass a recorder.
    pause: Callable[[float], None] = sleep
    prices: Prices = field(default_factory=Prices)
    # Arm assignment's randomness, injected (tests pass a seeded Random).
    rng: random.Random = field(default_factory=random.SystemRandom)
    daily_cap: Decimal | None = None
    # Sends a notice to NOTIFY_WEBHOOK_URL (through its own retried job).
    notify: Callable[[dict[str, Any]], None] = lambda _notice: None
    # Whether Wingman acts in a Chatwoot account (CHATWOOT_ACCOUNT_IDS).
    serves: Callable[[int], bool] = lambda _account: True
