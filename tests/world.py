"""Wingman beside a Chatwoot stand-in, on one fake clock, driven one step at a time.

Everything real but Claude: the Flask webhook (signed deliveries), the store, Redis, RQ jobs
run by a real in-process worker, the outbox, and Wingman's ChatwootClient talking HTTP to
the Chatwoot stand-in (``standins/chatwoot.py``). The stand-in holds its webhooks until the
test delivers them, so a test decides when Chatwoot's echoes arrive: early (``on_publish``,
while the REST call that caused them is still unanswered), late, twice or never. Delayed
RQ jobs are moved onto the queue by ``run()`` when the fake clock reaches them, so time can
jump without waiting. Claude is the scripted ``FakeComposer``.

The example tests use it directly; the randomized simulation (tests/simulation.py) drives
it with random steps.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import requests
from redis import Redis
from rq import Queue
from rq.serializers import JSONSerializer
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from bot import create_app
from core.models import Conversation, Draft, OutboxItem
from core.settings import Settings
from standins.chatwoot import ChatwootStandin, serve
from standins.chatwoot_webhooks import Delivery
from tests import contexts
from tests.clock import FakeClock
from tests.composer import FakeComposer
from tests.conftest import engine_url
from workers import jobs, runtime
from workers.context import WorkerContext
from workers.debounce import ReplyTimer
from workers.queue import make_queue
from workers.services import Services
from workers.worker import QuickRQScheduler, WingmanSimpleWorker

ACCOUNT = 3
BOT_TOKEN, USER_TOKEN, SECRET = "sim-bot-token", "sim-user-token", "sim-webhook-secret"
REP = {"id": 21, "name": "Daniel Ortiz"}
# Thursday 18 June 2026, 09:00 UTC: inside the example inboxes' working hours.
START = datetime(2026, 6, 18, 9, 0, tzinfo=UTC).timestamp()
DEBOUNCE, MAX_WAIT = 30.0, 120.0


class QuietWorker(WingmanSimpleWorker):
    """The in-process worker without RQ's pub/sub listener (remote stop and kill commands),
    which nothing here sends: a burst then costs no subscribe and unsubscribe."""

    def subscribe(self) -> None:
        pass

    def unsubscribe(self) -> None:
        pass


class World:
    def __init__(
        self,
        *,
        clock: FakeClock,
        standin: ChatwootStandin,
        web: Any,
        services: Services,
        deps: WorkerContext,
        composer: FakeComposer,
        config_file: Path,
    ) -> None:
        self.clock, self.standin, self.web = clock, standin, web
        self.services, self.deps, self.composer = services, deps, composer
        self.engine, self.queue = services.engine, services.queue
        self.config_file = config_file
        self.http = requests.Session()
        self.worker = QuietWorker(
            [self.queue], connection=self.queue.connection, serializer=JSONSerializer
        )
        # Every webhook answer Wingman gave: (event, HTTP status).
        self.answers: list[tuple[str, int]] = []

    # --- people on Chatwoot's side --------------------------------------------------

    def customer_says(self, text: str, *, conversation: int | None = None) -> tuple[int, int]:
        """A customer writes (a new conversation without one); (conversation, message)."""
        body: dict[str, Any] = {"content": text}
        if conversation is not None:
            body["conversation_id"] = conversation
        answer = self.control("customer_message", **body)
        return int(answer["conversation_id"]), int(answer["message_id"])

    def customer_says_in(self, inbox: int, text: str) -> tuple[int, int]:
        """A customer opens a conversation in another of the stand-in's inboxes."""
        answer = self.control("customer_message", content=text, inbox_id=inbox)
        return int(answer["conversation_id"]), int(answer["message_id"])

    def rep_note(self, conversation: int, text: str, *, user: dict[str, Any] = REP) -> int:
        answer = self.control("agent_note", conversation_id=conversation, content=text, user=user)
        return int(answer["message_id"])

    def human_reply(self, conversation: int, text: str, *, from_phone: bool = False) -> int:
        answer = self.control(
            "agent_note",
            conversation_id=conversation,
            content=text,
            user=REP,
            private=False,
            from_phone=from_phone,
        )
        return int(answer["message_id"])

    def fail(self, path_contains: str, **failure: Any) -> None:
        """Script Chatwoot's next matching REST call(s) to fail (see the stand-in's docs)."""
        self.control("fail", path_contains=path_contains, **failure)

    def control(self, path: str, **body: Any) -> Any:
        response = self.http.post(f"{self.standin.url}/_standin/{path}", json=body, timeout=5)
        assert response.status_code == 200, response.text
        return response.json()

    def chatwoot(self, conversation: int) -> dict[str, Any]:
        """Everything the stand-in holds for a conversation, private notes included."""
        response = self.http.get(f"{self.standin.url}/_standin/conversations/{conversation}")
        assert response.status_code == 200, response.text
        data: dict[str, Any] = response.json()
        return data

    def public(self, conversation: int) -> list[str]:
        """What the customer saw from the business (the bot or a human), in order."""
        return [
            m["content"]
            for m in self.chatwoot(conversation)["messages"]
            if m["message_type"] == "outgoing" and not m["private"]
        ]

    def notes(self, conversation: int) -> list[str]:
        """Private notes the bot posted, in order."""
        return [
            m["content"]
            for m in self.chatwoot(conversation)["messages"]
            if m["private"] and (m["sender"] or {}).get("type") == "agent_bot"
        ]

    # --- webhooks -------------------------------------------------------------------

    def held(self) -> list[Delivery]:
        return self.standin.take_webhooks()

    def deliver(self, deliveries: list[Delivery] | None = None) -> None:
        """POST webhooks to Wingman as Chatwoot would (all held ones by default)."""
        for delivery in self.held() if deliveries is None else deliveries:
            self.post_webhook(delivery)

    def post_webhook(self, delivery: Delivery, *, strict: bool = True) -> int:
        """POST one webhook; ``strict`` asserts Wingman didn't answer 5xx."""
        headers = self.standin.deliverer.headers(delivery)
        response = self.web.post("/chatwoot/webhook", data=delivery.body, headers=headers)
        self.answers.append((delivery.event, response.status_code))
        if strict:
            assert response.status_code < 500, response.get_data(as_text=True)
        return int(response.status_code)

    def echo_early(self, on: bool = True) -> None:
        """Deliver each webhook the moment Chatwoot makes it, before its REST answer."""
        self.standin.on_publish = self._deliver_now if on else None

    def _deliver_now(self, delivery: Delivery) -> None:
        # Taken out of the held list, so it is delivered once, now.
        with self.standin.deliverer._ready:
            self.standin.deliverer._held.remove(delivery)
        self.post_webhook(delivery)

    # --- time and jobs --------------------------------------------------------------

    def advance(self, seconds: float) -> None:
        self.clock.now += seconds

    def at(self, t: float) -> None:
        self.clock.now = max(self.clock.now, t)

    def run(self, *, rounds: int = 20) -> None:
        """Run every job that is due at the fake clock, and what those jobs enqueue."""
        for _ in range(rounds):
            moved = self.enqueue_due()
            if not moved and not self.queue.count:
                return
            self.worker.work(burst=True)

    def enqueue_due(self) -> int:
        """The scheduler's pass (the worker's own code), on the fake clock: move due
        delayed jobs onto the queue."""
        scheduler = QuickRQScheduler(
            [self.queue], connection=self.queue.connection, serializer=JSONSerializer
        )
        scheduler.prepare_registries([self.queue.name])
        return scheduler.move_due(self.clock.now)

    def settle(self, *, limit: int = 50) -> None:
        """Deliver every held webhook and run every due job, until nothing is left."""
        for _ in range(limit):
            held = self.held()
            if not held and not self.queue.count and not self.enqueue_due():
                return
            self.deliver(held)
            self.run()
        raise AssertionError("the world never settled")

    def periodic(self, *names: str) -> None:
        """Run the clock's periodic jobs by name (all of them by default)."""
        from workers import jobs

        every = (
            "requeue_stale_deliveries",
            "sweep_replies",
            "retry_stuck_outbox",
            "check_drafts",
            "scan_follow_ups",
        )
        for name in names or every:
            getattr(jobs, name)()

    # --- configuration and Wingman's state ------------------------------------------

    def configure(self, toml: str) -> None:
        """Rewrite wingman.toml; Wingman picks the change up without a restart."""
        before = self.config_file.stat().st_mtime_ns
        self.config_file.write_text(toml)
        os.utime(self.config_file, ns=(before, before + 1_000_000))

    def drafts(self, conversation: int | None = None) -> list[Draft]:
        with Session(self.engine) as session:
            query = select(Draft).order_by(col(Draft.id))
            if conversation is not None:
                query = query.join(Conversation).where(Conversation.display_id == conversation)
            return list(session.exec(query))

    def outbox(self) -> list[OutboxItem]:
        with Session(self.engine) as session:
            return list(session.exec(select(OutboxItem).order_by(col(OutboxItem.id))))

    def close(self) -> None:
        self.http.close()


def build_world(
    *,
    engine: Engine,
    redis_conn: Redis,
    redis_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    user_token: bool = False,
    env: dict[str, str] | None = None,
    account: int = ACCOUNT,
) -> Iterator[World]:
    clock = FakeClock(START)
    standin = serve(
        account_id=account,
        bot_token=BOT_TOKEN,
        user_token=USER_TOKEN,
        secret=SECRET,
        clock=clock,
        hold_webhooks=True,
    )
    config_file = tmp_path / "wingman.toml"
    config_file.write_text("")
    settings_env = {
        "DATABASE_URL": engine_url(engine),
        "REDIS_URL": redis_url,
        "CHATWOOT_URL": standin.url,
        "CHATWOOT_BOT_TOKEN": BOT_TOKEN,
        "CHATWOOT_WEBHOOK_SECRET": SECRET,
        "WINGMAN_CONFIG": str(config_file),
        "REPLY_DEBOUNCE_SECONDS": str(DEBOUNCE),
        "REPLY_MAX_WAIT_SECONDS": str(MAX_WAIT),
        **({"CHATWOOT_USER_TOKEN": USER_TOKEN} if user_token else {}),
        **(env or {}),
    }
    for name, value in settings_env.items():
        monkeypatch.setenv(name, value)
    settings_env = {name: value for name, value in settings_env.items() if value}
    runtime.reset()
    settings = Settings.from_env(settings_env)
    app = create_app({"settings": settings, "engine": engine, "redis": redis_conn, "now": clock.dt})
    app.config["TESTING"] = True
    services: Services = app.extensions["wingman"]
    queue: Queue = make_queue(redis_conn)
    # One queue for routing and replies: the world runs jobs in its own order anyway.
    services.queue = services.reply_queue = queue
    composer = FakeComposer()
    notices: list[dict[str, Any]] = []
    pauses: list[float] = []
    deps = contexts.worker_context(
        settings,
        engine=engine,
        config=services.config,
        clock=clock,
        composer=composer,
        chatwoot=runtime.chatwoot_client(settings),
        notices=notices,
        pauses=pauses,
    )
    timer = ReplyTimer(
        redis_conn,
        queue,
        job="workers.jobs.reply",
        debounce=DEBOUNCE,
        max_wait=MAX_WAIT,
        clock=clock,
        job_timeout=runtime.REPLY_JOB_TIMEOUT,
    )
    monkeypatch.setattr(runtime, "services", lambda: services)
    # workers.jobs imported the function itself: its jobs must see the world's clock too.
    monkeypatch.setattr(jobs, "services", lambda: services)
    contexts.install(monkeypatch, deps, timer)
    world = World(
        clock=clock,
        standin=standin,
        web=app.test_client(),
        services=services,
        deps=deps,
        composer=composer,
        config_file=config_file,
    )
    try:
        yield world
    finally:
        world.close()
        standin.stop()
        monkeypatch.undo()
        runtime.reset()


@pytest.fixture
def world(
    engine: Engine,
    redis_conn: Redis,
    redis_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[World]:
    yield from build_world(
        engine=engine,
        redis_conn=redis_conn,
        redis_url=redis_url,
        tmp_path=tmp_path,
        monkeypatch=monkeypatch,
    )


@pytest.fixture
def world_with_user_token(
    engine: Engine,
    redis_conn: Redis,
    redis_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[World]:
    yield from build_world(
        engine=engine,
        redis_conn=redis_conn,
        redis_url=redis_url,
        tmp_path=tmp_path,
        monkeypatch=monkeypatch,
        user_token=True,
    )


def payload(delivery: Delivery) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(delivery.body)
    return data


Hook = Callable[[Delivery], None]
