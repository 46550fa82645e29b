"""The running system for end-to-end tests, driven by hand.

Webhook → real Redis → real RQ worker and scheduler → Chatwoot mocked at the network edge
with `responses` in its real shapes; Claude is the scripted FakeComposer. The reply timer
runs on a fake clock set to the fixtures' June 2026 times: every job it schedules is then
already due for RQ's real scheduler, and the test decides what time it is.
"""

from __future__ import annotations

import copy
import json
import os
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import responses
from redis import Redis
from rq import Queue
from rq.scheduler import RQScheduler
from rq.serializers import JSONSerializer
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from chatwoot.client import ChatwootClient
from core.models import Conversation, Draft, DraftMessage, Handoff
from tests import contexts
from tests.chatwoot_fakes import ACCOUNT, BASE, FakeChatwoot
from tests.clock import FakeClock
from tests.composer import FakeComposer
from tests.conftest import engine_url, load_event
from workers import runtime
from workers.debounce import ReplyTimer
from workers.queue import make_queue, make_queues
from workers.worker import WingmanSimpleWorker

T0 = datetime(2026, 6, 18, 9, 13, 58, tzinfo=UTC).timestamp()
DEBOUNCE, MAX_WAIT = 30.0, 120.0


class Loop:
    """The running system, driven by hand."""

    def __init__(
        self, client: Any, queue: Queue, engine: Engine, fake: FakeChatwoot, clock: FakeClock
    ) -> None:
        self.client, self.queue, self.engine, self.fake = client, queue, engine, fake
        self.clock = clock
        self.composer = FakeComposer()
        # One worker for both queues (routing first), as if one of each kind ran.
        queues = make_queues(queue.connection)
        names = [q.name for q in queues]
        self.scheduler = RQScheduler(names, connection=queue.connection, serializer=JSONSerializer)
        self.scheduler.prepare_registries(names)
        self.worker = WingmanSimpleWorker(
            queues, connection=queue.connection, serializer=JSONSerializer
        )
        self._ids = iter(range(930_000, 940_000))
        self.config_file = Path("wingman.toml")
        self.notices: list[dict[str, Any]] = []
        self.pauses: list[float] = []

    def customer_says(
        self, text: str, *, at: float, chatwoot_skew: float = 0.0, channel: str | None = None
    ) -> int:
        """The customer's message reaches Wingman at ``at`` (the clock moves there).

        ``chatwoot_skew`` sets Chatwoot's own timestamp apart from Wingman's clock.
        """
        self.clock.now = max(self.clock.now, at)
        payload = copy.deepcopy(load_event("message_created_incoming"))
        payload["id"] = next(self._ids)
        payload["content"] = text
        payload["created_at"] = datetime.fromtimestamp(at + chatwoot_skew, UTC).isoformat()
        payload["conversation"]["meta"]["assignee"] = {
            "id": 21,
            "name": "Daniel Ortiz",
            "type": "user",
        }
        payload["conversation"]["meta"]["assignee_type"] = "User"
        if channel is not None:
            payload["conversation"]["channel"] = channel
        self._post(payload)
        return int(payload["id"])

    def rep_types(self, text: str) -> None:
        payload = copy.deepcopy(load_event("message_created_private_note_by_agent"))
        payload["id"] = next(self._ids)
        payload["content"] = text
        self._post(payload)

    def human_says(self, text: str, *, from_phone: bool = False) -> None:
        """A human's public reply: from Chatwoot (a user), or from the phone app (an echo)."""
        payload = copy.deepcopy(load_event("message_created_private_note_by_agent"))
        payload.update(id=next(self._ids), content=text, private=False)
        if from_phone:
            payload["sender"] = None
            payload["content_attributes"] = {"external_echo": True}
        self._post(payload)

    def conversation(self) -> Conversation:
        with Session(self.engine) as session:
            return session.exec(select(Conversation)).one()

    def handoff_reasons(self) -> list[str]:
        with Session(self.engine) as session:
            return list(session.exec(select(Handoff.reason).order_by(col(Handoff.id))))

    def deliver(self, payload: dict[str, Any]) -> None:
        """Any payload, as Chatwoot would deliver it (a fresh delivery id each time)."""
        payload = copy.deepcopy(payload)
        payload.setdefault("id", next(self._ids))
        self._post(payload)

    def _post(self, payload: dict[str, Any]) -> None:
        response = self.client.post(
            "/chatwoot/webhook",
            data=json.dumps(payload),
            headers={"X-Chatwoot-Delivery": f"d-{payload['id']}-{next(self._ids)}"},
        )
        assert response.status_code == 200, response.json

    def run(self, at: float | None = None) -> None:
        """Let time reach ``at``, then run everything that is due, twice over."""
        if at is not None:
            self.clock.now = at
        for _ in range(2):
            self.scheduler.enqueue_scheduled_jobs()
            self.worker.work(burst=True)

    def configure(self, toml: str) -> None:
        """Rewrite wingman.toml; Wingman picks the change up without a restart."""
        before = self.config_file.stat().st_mtime_ns
        self.config_file.write_text(toml)
        os.utime(self.config_file, ns=(before, before + 1_000_000))  # a visible change

    def drafts(self) -> list[Draft]:
        with Session(self.engine) as session:
            return list(session.exec(select(Draft).order_by(col(Draft.id))))

    def covered(self, draft_id: int | None) -> set[int]:
        with Session(self.engine) as session:
            query = select(DraftMessage.message_id).where(DraftMessage.draft_id == draft_id)
            return set(session.exec(query))


@pytest.fixture
def loop(
    make_app: Any,
    engine: Engine,
    redis_conn: Redis,
    redis_url: str,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> Iterator[Loop]:
    config_file = tmp_path / "wingman.toml"
    config_file.write_text("")
    monkeypatch.setenv("DATABASE_URL", engine_url(engine))
    monkeypatch.setenv("REDIS_URL", redis_url)
    monkeypatch.setenv("OUTBOX_RETRY_SECONDS", "0.01")
    monkeypatch.setenv("WINGMAN_CONFIG", str(config_file))
    runtime.reset()
    queue = make_queue(redis_conn)
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        fake = FakeChatwoot(mock)
        clock = FakeClock(T0)
        loop = Loop(make_app(now=clock.dt).test_client(), queue, engine, fake, clock)
        loop.config_file = config_file
        timer = ReplyTimer(
            redis_conn,
            queue,
            job="workers.jobs.reply",
            debounce=DEBOUNCE,
            max_wait=MAX_WAIT,
            clock=loop.clock,
        )
        deps = contexts.worker_context(
            runtime.services().settings,
            engine=engine,
            config=runtime.services().config,  # the one the webhook routing reads too
            clock=loop.clock,
            composer=loop.composer,
            chatwoot=ChatwootClient(BASE, ACCOUNT, "bot-token-abc"),
            notices=loop.notices,
            pauses=loop.pauses,
        )
        contexts.install(monkeypatch, deps, timer)
        # The jobs' own clock (routing, the delivery sweeper) is the loop's too.
        monkeypatch.setattr(runtime.services(), "now", loop.clock.dt)
        yield loop
    monkeypatch.undo()
    runtime.reset()
