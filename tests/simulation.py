"""A randomized simulation of the whole loop, and the promises it checks after each run.

Example tests script one order of events; the bugs live in the others. Here a seeded
random scheduler interleaves, on the world of ``tests/world.py`` (the real webhook, store,
Redis, RQ jobs on a real worker and the outbox, against the Chatwoot stand-in over HTTP):

- customers writing bursts, in web chat, WhatsApp, Instagram and Twilio WhatsApp;
- Chatwoot's webhooks, echoes of the bot's own posts included, delivered early (while the
  REST call that caused them is still unanswered), late, out of order, twice, or never,
  and replayed;
- reps typing ``/send``, ``/send <text>``, ``/skip``, ``/redo``, ``/handoff``, ``/bot off``,
  ``/bot on``, naming old drafts, replying themselves from Chatwoot or the phone app, and
  resolving conversations;
- Chatwoot answering 429, 422, 500, 502 or 504, before or after it saved the change, or
  dropping the connection;
- Claude answering, failing, asking for a handoff, writing something the guardrails stop,
  or thinking while the customer writes again;
- workers killed before or after a Chatwoot call or while Claude thinks, jobs run twice,
  a dead worker's lock left behind, Redis flushed;
- a scheduler moving due jobs in the middle of another process's scheduling write;
- dormant leads followed up (a follow-up brief for Claude, or the WhatsApp template past
  the window), held out, cancelled by the customer writing, and customers opting out;
- an admin switching inboxes between off, draft and autopilot, and the clock jumping past
  the quiet period, the longest wait, the outbox's grace, reminders and the 24 h windows.

A run is a list of ``Step``s: plain data, generated from a seed, so a run replays exactly
and a failing one shrinks to a short list that is kept under
``tests/simulation_regressions/``. After the steps the world is allowed to quiet down (no
new faults; time moves on; every job and sweep runs) and ``check`` reads the database and
the stand-in for the invariants listed there.
"""

from __future__ import annotations

import json
import logging
import os
import random
import time as wallclock
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import requests
from rq.job import Job
from rq.registry import FailedJobRegistry, FinishedJobRegistry
from rq.serializers import JSONSerializer
from sqlalchemy import delete
from sqlmodel import Session, SQLModel, col, select

from chatwoot.client import ChatwootClient
from core.autonomy import inbox_autonomy, set_inbox_autonomy
from core.autonomy_levels import Autonomy
from core.models import (
    Conversation,
    Draft,
    DraftMessage,
    FollowUp,
    Handoff,
    Message,
    OptOut,
    OutboxItem,
)
from core.models import Delivery as StoredDelivery
from standins import claude as claude_standin
from standins.chatwoot_records import INCOMING, OUTGOING
from standins.chatwoot_webhooks import Delivery
from tests.world import DEBOUNCE, MAX_WAIT, REP, World
from workers import guardrails, jobs, outbox, posting_claims, runtime
from workers.claude import ClaudeComposer
from workers.debounce import ReplyTimer
from workers.llm import ComposerError, Prompt, Reply
from workers.llm import Handoff as ModelHandoff
from workers.playbook import system_text

REGRESSIONS = Path(__file__).parent / "simulation_regressions"
HOUR = 3600.0
WINDOWED_INBOXES = (13, 14, 15)
INBOXES = (12, 13, 14, 15)
CONFIG = """
[inboxes.{inbox}]
name = "{name}"
locales = ["en"]
link_domains = ["acme-outdoor.example"]
on_duty_agent = {{ id = 21, name = "Daniel Ortiz" }}
[inboxes.{inbox}.prices]
currency = "EUR"
items = [
  {{ product = "Trail Tent 2P", list = 249.00, min = 219.00 }},
  {{ product = "Daypack 28 L", list = 89.90, min = 89.90 }},
]
[inboxes.{inbox}.follow_ups]
enabled = true
holdout = 0.3
late_step = "30h"
{template}"""
# The WhatsApp inbox has an approved template, for follow-ups past its 24 h window.
TEMPLATE = """[inboxes.{inbox}.whatsapp_template]
name = "follow_up"
language = "en"
category = "MARKETING"
params = ["Acme Outdoor"]
"""
TEMPLATE_INBOXES = (13,)
NAMES = {12: "Website Support", 13: "WhatsApp Sales", 14: "Instagram DMs", 15: "Twilio WhatsApp"}
QUESTIONS = (
    "Does the Trail Tent 2P fit two?",
    "What's the return window?",
    "Do you ship to Austria?",
    "How heavy is the daypack?",
    "ok thanks",
    "Is it waterproof?",
    "Can I pick it up in the store?",
    "hello??",
    # Opt-outs: no follow-up may reach this contact afterwards.
    "STOP",
    "no thanks",
)
MID_COMPOSE_QUESTION = 7  # "hello??"
SAFE_BUBBLES = (
    "Thanks for your message!",
    "Happy to help: which trip are you planning?",
    "Yes, two standard pads fit side by side.",
    "Returns are free within 60 days.",
)
# What Claude may do next; the guardrails must stop "price" and "link" on autopilot.
# "claude" and "long_think" go through the real adapter and SDK to the Claude stand-in,
# which thinks first (a thinking block) and, on a long think, is cut short at max_tokens.
OUTCOMES = (
    "ok",
    "ok",
    "ok",
    "fail",
    "person",
    "ready",
    "price",
    "link",
    "slow",
    "long",
    "claude",
    "claude",
    "long_think",
)
FAILURES = (
    # (path, status, apply before answering, drop the connection)
    ("/messages", 429, False, False),
    ("/messages", 422, False, False),
    ("/messages", 500, False, False),
    ("/messages", 500, True, False),
    ("/messages", 502, False, False),
    ("/messages", 504, True, False),
    ("/messages", 500, True, True),
    ("/messages", 500, False, True),
    ("/toggle_status", 502, True, False),
    ("/toggle_status", 500, False, False),
    ("/assignments", 500, False, True),
    ("/conversations/", 503, False, False),
)
COMMANDS = (
    "/send",
    "/send",
    "/send",
    "/send Sure, happy to help with that!",
    "/skip",
    "/redo keep it short",
    "/handoff",
    "/bot off",
    "/bot on",
    "/send D1",
    "/frobnicate",
    # Numbers no draft id can hold: never handed to a query (finding 5).
    "/send D3000000000",
    "/skip D99999999999999999999",
)
JUMPS = (
    1.0,
    5.0,
    12.0,
    DEBOUNCE + 1,
    MAX_WAIT + 1,
    5 * 60 + 1,
    61.0,
    HOUR + 1,
    23 * HOUR,
    25 * HOUR,
    # Past a follow-up step: the first (20 min), the second (3 h) and the late one (30 h).
    21 * 60,
    3 * HOUR + 60,
    31 * HOUR,
)
WEIGHTS = {
    "customer": 20,
    "deliver": 18,
    "jobs": 12,
    "advance": 12,
    "command": 14,
    "human": 3,
    "resolve": 1,
    "fail": 5,
    "claude": 6,
    "crash": 3,
    "rerun": 2,
    "flush": 1,
    "stale_lock": 1,
    "autonomy": 3,
    "echo_early": 2,
    "replay": 2,
    "scheduler_races": 2,
}
CUSTOMERS = 3
# Every timer of Wingman's (quiet period, longest wait, outbox grace and lease, generation
# lock, the timer's own expiry, reminders) plays out within this; past it only the sweeper's
# reach (an hour) and the windows remain, and the next step with time passing ticks again.
TICKING = 30 * 60


class Killed(BaseException):
    """A worker killed at this point: nothing after it in the job runs (but ``finally``)."""


@dataclass(frozen=True)
class Step:
    kind: str
    args: tuple[Any, ...] = ()

    def to_json(self) -> list[Any]:
        return [self.kind, *self.args]

    @classmethod
    def from_json(cls, data: list[Any]) -> Step:
        return cls(str(data[0]), tuple(data[1:]))


def generate(rng: random.Random, count: int) -> list[Step]:
    """A random run: steps name customers by index and carry their own seeds, so the same
    list replays the same way and survives having steps cut out of it."""
    kinds, weights = zip(*WEIGHTS.items(), strict=True)
    steps = [
        Step("setup", (index, rng.choice(INBOXES), rng.random() < 0.3))
        for index in range(CUSTOMERS)
    ]
    for _ in range(count):
        kind = rng.choices(kinds, weights)[0]
        customer = rng.randrange(CUSTOMERS)
        if kind == "customer":
            steps.append(Step(kind, (customer, rng.randrange(len(QUESTIONS)))))
        elif kind in ("deliver", "replay"):
            steps.append(Step(kind, (rng.randrange(1 << 30),)))
        elif kind == "advance":
            steps.append(Step(kind, (rng.choice(JUMPS), rng.random() < 0.85)))
        elif kind == "command":
            steps.append(Step(kind, (customer, rng.choice(COMMANDS))))
        elif kind == "human":
            steps.append(Step(kind, (customer, rng.choice(("copy", "own", "phone")))))
        elif kind in ("resolve", "stale_lock"):
            steps.append(Step(kind, (customer,)))
        elif kind == "fail":
            steps.append(Step(kind, (rng.randrange(len(FAILURES)),)))
        elif kind == "claude":
            steps.append(Step(kind, (rng.choice(OUTCOMES),)))
        elif kind == "crash":
            steps.append(
                Step(kind, (rng.choice(("chatwoot_before", "chatwoot_after", "compose")),))
            )
        elif kind == "autonomy":
            level = rng.choice(("draft", "draft", "autopilot", "autopilot", "off"))
            steps.append(Step(kind, (rng.choice(INBOXES), level)))
        elif kind in ("echo_early", "scheduler_races"):
            steps.append(Step(kind, (rng.random() < 0.5,)))
        else:
            steps.append(Step(kind))
    return steps


# --- the parts the simulation controls at the network edge ---------------------------------


class FaultySession(requests.Session):
    """Wingman's Chatwoot connection, which the simulation can kill mid-call."""

    def __init__(self) -> None:
        super().__init__()
        self.crash: str | None = None  # "before" | "after": the next REST call

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> Any:
        crash, self.crash = self.crash, None
        if crash == "before":
            raise Killed(f"killed before {method!r} {url!r}")
        response = super().request(method, url, *args, **kwargs)
        if crash == "after":
            raise Killed(f"killed after {method!r} {url!r} reached Chatwoot")
        return response


class SimComposer:
    """Claude, as the simulation scripts it; records every call."""

    def __init__(self, sim: Sim) -> None:
        self.sim = sim
        self.next: list[str] = []
        self.crash = False
        self.calls: list[tuple[float, int | None]] = []  # (time, customer index)
        self.lost = 0  # answers paid for and lost to a killed worker
        self.real = 0  # calls through the real adapter to the Claude stand-in
        self.follow_ups = 0  # calls that wrote a follow-up to a dormant lead

    def compose(self, prompt: Prompt) -> Reply:
        customer = self.sim.customer_of(prompt)
        if prompt.follow_up is not None:  # a follow-up, not a reply: counted on its own
            self.follow_ups += 1
        else:
            self.calls.append((self.sim.world.clock.now, customer))
        outcome = self.next.pop(0) if self.next else "ok"
        if outcome == "slow" and customer is not None:
            self.sim.mid_compose(customer)
        if self.crash:
            self.crash = False
            self.lost += 1
            raise Killed("killed while Claude was answering")
        if outcome in ("claude", "long_think"):
            self.real += 1
            if outcome == "long_think":
                self.sim.claude_control("think", tokens=3000)
            return self.sim.claude.compose(prompt)
        if outcome == "fail":
            raise ComposerError("scripted: Claude failed every attempt", transient=True)
        if outcome == "person":
            return Reply(["One moment."], handoff=ModelHandoff("asks_for_human", "wants a person"))
        if outcome == "ready":
            return Reply(
                ["Great, let me get someone to take your order."],
                handoff=ModelHandoff("ready_to_pay", "wants two tents"),
            )
        if outcome == "price":
            return Reply(["The Trail Tent 2P is only €99 today!"])
        if outcome == "link":
            return Reply(["Order here: https://acme-deals.example/tent"])
        if outcome == "long":
            return Reply(list(SAFE_BUBBLES))
        return Reply(list(SAFE_BUBBLES[:2]))


# --- the simulation ------------------------------------------------------------------------


@dataclass
class Customer:
    index: int
    inbox: int = 12
    assigned: bool = False
    conversation: int | None = None
    said: int = 0


@dataclass
class Violation:
    invariant: str
    detail: str


@dataclass
class Stats:
    steps: int = 0
    runs: int = 0
    violations: list[Violation] = field(default_factory=list)
    claude_calls: int = 0
    real_claude_calls: int = 0
    public_messages: int = 0
    notes: int = 0
    duplicate_notes: int = 0
    crashes: int = 0
    follow_ups: int = 0  # follow-up steps decided (sent, held out, skipped, cancelled…)
    seconds: float = 0.0

    def add(self, other: Stats) -> None:
        for name in (
            "steps",
            "runs",
            "claude_calls",
            "real_claude_calls",
            "public_messages",
            "notes",
            "follow_ups",
        ):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.duplicate_notes += other.duplicate_notes
        self.crashes += other.crashes
        self.seconds += other.seconds
        self.violations += other.violations


class Sim:
    def __init__(self, world: World) -> None:
        self.world = world
        self.session = FaultySession()
        self.composer = SimComposer(self)
        world.deps.composer = self.composer
        self.claude_standin = claude_standin.serve()
        self.claude = ClaudeComposer(
            api_key="sim-anthropic-key",
            model="claude-sonnet-5-5",
            base_url=self.claude_standin.url,
            sleep=lambda _seconds: None,
        )
        settings = world.services.settings
        assert settings.chatwoot_url is not None
        world.deps.chatwoot = ChatwootClient(
            settings.chatwoot_url,
            None,
            settings.chatwoot_bot_token,
            user_token=settings.chatwoot_user_token,
            timeout=5,
            session=self.session,  # the network edge the faults act on
        )
        self.scheduler_races = self._racing = False
        self._install_scheduler_races()
        self.reset()

    def _install_scheduler_races(self) -> None:
        """While ``scheduler_races`` is on, the scheduler's pass (the worker's own code) runs
        the moment anything adds an id to a scheduled registry outside a transaction: the
        instant another process's scheduler may read it, before the rest of that write."""
        connection = self.world.queue.connection
        original = connection.execute_command

        def execute_command(*args: Any, **options: Any) -> Any:
            result = original(*args, **options)  # type: ignore[no-untyped-call]
            name = str(args[0]).upper() if args else ""
            key = args[1] if len(args) > 1 else None
            key = key.decode() if isinstance(key, bytes) else key
            scheduled = isinstance(key, str) and key.startswith("rq:scheduled:")
            if self.scheduler_races and not self._racing and name == "ZADD" and scheduled:
                self._racing = True
                try:
                    self.world.enqueue_due()
                finally:
                    self._racing = False
            return result

        connection.execute_command = execute_command  # type: ignore[method-assign]

    def close(self) -> None:
        self.claude_standin.stop()

    def claude_control(self, path: str, **body: Any) -> None:
        response = self.world.http.post(f"{self.claude_standin.url}/_standin/{path}", json=body)
        assert response.status_code == 200, response.text

    # --- bookkeeping --------------------------------------------------------------------

    def reset(self) -> None:
        """A fresh world: empty database, Redis and Chatwoot, the clock back at the start."""
        world = self.world
        with world.engine.begin() as connection:
            for table in reversed(SQLModel.metadata.sorted_tables):
                connection.execute(delete(table))
        world.queue.connection.flushdb()
        world.standin.reset()
        world.standin.on_publish = None
        self.claude_control("reset")
        world.clock.now = START_OF_RUN
        world.configure(
            "".join(
                CONFIG.format(
                    inbox=i,
                    name=NAMES[i],
                    template=TEMPLATE.format(inbox=i) if i in TEMPLATE_INBOXES else "",
                )
                for i in INBOXES
            )
        )
        self.session.crash = None
        self.composer.next.clear()
        self.composer.crash = False
        self.composer.calls.clear()
        self.composer.lost = 0
        self.composer.real = 0
        self.composer.follow_ups = 0
        self.customers = [Customer(i) for i in range(CUSTOMERS)]
        self.pending: list[Delivery] = []
        self.delivered: list[Delivery] = []
        # (time, customer) of every customer message, and those written mid-compose.
        self.said: list[tuple[float, int]] = []
        self.mid_compose_arrivals = 0
        self.redos = 0
        self.crashes = 0
        self.autonomy_log: dict[int, list[tuple[float, Autonomy]]] = {
            i: [(world.clock.now, Autonomy.DRAFT)] for i in INBOXES
        }
        self.job_errors: list[str] = []
        self.scheduler_races = False

    def customer_of(self, prompt: Prompt) -> int | None:
        """Which customer a prompt is for: every customer text carries its tag."""
        for turn in reversed(prompt.history):
            for customer in self.customers:
                if f"[c{customer.index}." in turn.text:
                    return customer.index
        return None

    def mid_compose(self, customer: int) -> None:
        """The customer writes again while Claude thinks; the webhook arrives at once."""
        self.mid_compose_arrivals += 1
        self._customer_writes(customer, MID_COMPOSE_QUESTION)
        for delivery in self.world.held():
            self._post(delivery)

    # --- steps --------------------------------------------------------------------------

    def apply(self, step: Step) -> None:
        getattr(self, f"_step_{step.kind}")(*step.args)

    def _step_setup(self, index: int, inbox: int, assigned: bool) -> None:
        """Where customer ``index`` will write, and whether a rep is assigned to them."""
        customer = self.customers[index]
        if customer.conversation is None:
            customer.inbox, customer.assigned = inbox, assigned

    def _step_customer(self, index: int, question: int) -> None:
        self._customer_writes(index, question)

    def _customer_writes(self, index: int, question: int) -> None:
        customer = self.customers[index]
        customer.said += 1
        text = f"{QUESTIONS[question]} [c{index}.{customer.said}]"
        body: dict[str, Any] = {"content": text}
        if customer.conversation is None:
            body["inbox_id"] = customer.inbox
            if customer.assigned:
                body["assignee"] = REP
        else:
            body["conversation_id"] = customer.conversation
        answer = self.world.control("customer_message", **body)
        customer.conversation = int(answer["conversation_id"])
        self.said.append((self.world.clock.now, index))

    def _step_deliver(self, seed: int) -> None:
        rng = random.Random(seed)
        self.pending += self.world.held()
        if rng.random() < 0.3:
            rng.shuffle(self.pending)
        keep: list[Delivery] = []
        for delivery in self.pending:
            roll = rng.random()
            if roll < 0.65:
                self._post(delivery)
            elif roll < 0.8:
                keep.append(delivery)  # late
            elif roll < 0.85:
                pass  # never: Chatwoot gave up on it
            elif roll < 0.95:
                self._post(delivery)
                self._post(delivery)  # twice, as a retry after a timeout would
            else:
                self._post(delivery)
                keep.append(delivery)  # and once more later
        self.pending = keep

    def _post(self, delivery: Delivery) -> None:
        self.world.post_webhook(delivery, strict=False)
        self.delivered.append(delivery)

    def _step_replay(self, seed: int) -> None:
        """Someone re-posts an old, validly signed body, with a new delivery id."""
        if not self.delivered:
            return
        rng = random.Random(seed)
        old = rng.choice(self.delivered)
        replay = Delivery(
            id=f"replay-{seed}",
            event=old.event,
            body=old.body,
            conversation_id=old.conversation_id,
            message_id=old.message_id,
        )
        self.world.post_webhook(replay, strict=False)

    def _step_jobs(self) -> None:
        self._run_jobs()

    def _step_advance(self, seconds: float, clock_running: bool) -> None:
        """Time passes. With the worker and the clock process running, every delayed job
        runs when it is due and the periodic jobs every minute, as they would live; past
        ``TICKING`` (when every timer of Wingman's has played out) time jumps to the end.
        Without them (an outage), time just jumps."""
        start = self.world.clock.now
        target = start + seconds
        if not clock_running:
            self._move_clock(target)
            return
        next_tick, ticking_until = start + 60, start + min(seconds, TICKING)
        while self.world.clock.now < target:
            now = self.world.clock.now
            due = self._next_due()
            candidates = [target]
            if due is not None:
                candidates.append(max(due, now + 1))
            if next_tick <= ticking_until:
                candidates.append(next_tick)
            stop = min(candidates)
            self._move_clock(stop)
            self._run_jobs()
            if stop >= next_tick or stop == target:
                self._periodic()
                self._run_jobs()
                while next_tick <= stop:
                    next_tick += 60

    def _next_due(self) -> float | None:
        """When the earliest delayed job is due (RQ keeps whole seconds)."""
        registry = self.world.queue.scheduled_job_registry
        first = self.world.queue.connection.zrange(registry.key, 0, 0, withscores=True)
        return float(first[0][1]) if first else None

    def _move_clock(self, t: float) -> None:
        """Move the clock, and Redis's own expiry with it (Redis counts real milliseconds)."""
        elapsed_ms = int((t - self.world.clock.now) * 1000)
        self.world.clock.now = t
        redis = self.world.queue.connection
        for key in redis.scan_iter("wingman:*"):
            ttl = redis.pttl(key)
            if ttl is None or ttl < 0:
                continue
            if ttl <= elapsed_ms:
                redis.delete(key)
            else:
                redis.pexpire(key, ttl - elapsed_ms)

    def _step_command(self, index: int, text: str) -> None:
        conversation = self.customers[index].conversation
        if text.split(" ")[0] in ("/send", "/skip") and not self._has_pending(conversation):
            # A rep acts where a draft waits: the first customer with one, if any.
            waiting = [c.conversation for c in self.customers if self._has_pending(c.conversation)]
            conversation = waiting[0] if waiting else conversation
        if conversation is None:
            return
        if text.startswith("/redo"):
            self.redos += 1
        self.world.rep_note(conversation, text)

    def _has_pending(self, display_id: int | None) -> bool:
        if display_id is None:
            return False
        with Session(self.world.engine) as session:
            found = session.exec(
                select(Draft.id)
                .join(Conversation)
                .where(Conversation.display_id == display_id, Draft.state == "pending")
            ).first()
        return found is not None

    def _step_human(self, index: int, mode: str) -> None:
        conversation = self.customers[index].conversation
        if conversation is None:
            return
        text = "Daniel here: yes, it does, and returns are free."
        if mode == "copy":
            with Session(self.world.engine) as session:
                draft = session.exec(
                    select(Draft)
                    .join(Conversation)
                    .where(Conversation.display_id == conversation, Draft.state == "pending")
                ).first()
            if draft is None:
                return
            text = "\n\n".join(draft.bubbles)
        self.world.human_reply(conversation, text, from_phone=mode == "phone")

    def _step_resolve(self, index: int) -> None:
        conversation = self.customers[index].conversation
        if conversation is None:
            return
        standin, account = self.world.standin, self.world.standin.account
        with account.lock:
            changes = account.set_status(
                account.conversation(conversation),
                "resolved",
                snoozed_until=None,
                by_bot=False,
                now=self.world.clock.now,
            )
            standin.publish(changes)

    def _step_fail(self, which: int) -> None:
        path, status, apply, drop = FAILURES[which]
        self.world.fail(path, status=status, apply=apply, drop=drop)

    def _step_claude(self, outcome: str) -> None:
        self.composer.next.append(outcome)

    def _step_crash(self, point: str) -> None:
        self.crashes += 1
        if point == "compose":
            self.composer.crash = True
        else:
            self.session.crash = point.removeprefix("chatwoot_")

    def _step_rerun(self) -> None:
        """RQ runs a job a second time (abandoned-job handling, a killed worker)."""
        queue = self.world.queue
        registry = FinishedJobRegistry(queue=queue)
        ids = registry.get_job_ids()
        if not ids:
            return
        job = Job.fetch(ids[-1], connection=queue.connection, serializer=JSONSerializer)
        assert job.func_name is not None
        queue.enqueue(job.func_name, *job.args, **job.kwargs)

    def _step_flush(self) -> None:
        self.world.queue.connection.flushdb()

    def _step_stale_lock(self, index: int) -> None:
        """A worker died holding a conversation's generation lock; it expires on its own."""
        pk = self._pk(self.customers[index].conversation)
        if pk is not None:
            key = ReplyTimer.key(pk, "lock")
            self.world.queue.connection.set(
                key, "dead-worker", nx=True, px=runtime.LOCK_SECONDS * 1000
            )

    def _step_autonomy(self, inbox: int, level: str) -> None:
        autonomy = Autonomy(level)
        world = self.world
        with Session(world.engine) as session:
            set_inbox_autonomy(
                session,
                inbox,
                autonomy,
                actor="simulation",
                now=world.clock.dt(),
                config=world.services.config,
            )
            session.commit()
        self.autonomy_log[inbox].append((world.clock.now, autonomy))

    def _step_scheduler_races(self, on: bool) -> None:
        self.scheduler_races = on

    def _step_echo_early(self, on: bool) -> None:
        self.world.standin.on_publish = self._deliver_early if on else None

    def _deliver_early(self, delivery: Delivery) -> None:
        with self.world.standin.deliverer._ready:
            self.world.standin.deliverer._held.remove(delivery)
        self._post(delivery)

    # --- running jobs -------------------------------------------------------------------

    def _run_jobs(self) -> None:
        failed = FailedJobRegistry(queue=self.world.queue)
        before = set(failed.get_job_ids())
        self.world.run()
        for job_id in set(failed.get_job_ids()) - before:
            job = Job.fetch(
                job_id, connection=self.world.queue.connection, serializer=JSONSerializer
            )
            result = job.latest_result()
            error = (result.exc_string or "") if result else ""
            if error and "Killed" not in error:
                self.job_errors.append(
                    f"{job.func_name}{job.args}: {error.strip().splitlines()[-1]}"
                )

    def _periodic(self) -> None:
        """What the clock process enqueues every minute, run in place."""
        for job in (
            jobs.requeue_stale_deliveries,
            jobs.sweep_replies,
            jobs.retry_stuck_outbox,
            jobs.check_drafts,
            jobs.scan_follow_ups,
        ):
            try:
                job()
            except Killed:
                pass

    def _pk(self, display_id: int | None) -> int | None:
        if display_id is None:
            return None
        with Session(self.world.engine) as session:
            return session.exec(
                select(Conversation.id).where(Conversation.display_id == display_id)
            ).first()

    # --- a whole run --------------------------------------------------------------------

    def run(self, steps: list[Step]) -> Stats:
        """Reset, play the steps, let the world quiet down, and check every invariant."""
        started = wallclock.perf_counter()
        with quiet_logs():
            self.reset()
            for step in steps:
                try:
                    self.apply(step)
                except Killed:
                    pass  # a killed call outside a job (the periodic clock's own work)
            self.quiesce()
        stats = self.check()
        stats.steps, stats.runs = len(steps), 1
        stats.seconds = wallclock.perf_counter() - started
        return stats

    def quiesce(self) -> None:
        """No more faults; every webhook arrives; time passes with the clock running."""
        world = self.world
        self.session.crash, self.composer.crash = None, False
        self.scheduler_races = False
        self.composer.next.clear()
        world.standin.on_publish = None
        with world.standin.failures_lock:
            world.standin.failures.clear()
        for _ in range(12):
            self.pending += world.held()
            for delivery in self.pending:
                self._post(delivery)
            self.pending = []
            self._step_advance(MAX_WAIT + posting_claims.SETTLE_GRACE_SECONDS + 2, True)
            self.pending += world.held()
            if not self.pending and not self._unsettled():
                return

    def _unsettled(self) -> bool:
        with Session(self.world.engine) as session:
            busy = session.exec(
                select(OutboxItem.id).where(col(OutboxItem.state).in_(outbox.UNSENT))
            ).first()
            waiting = session.exec(
                select(StoredDelivery.id).where(
                    col(StoredDelivery.processed_at).is_(None),
                    col(StoredDelivery.parked_at).is_(None),
                )
            ).first()
        return busy is not None or waiting is not None or bool(self.world.queue.count)

    # --- the invariants -----------------------------------------------------------------

    def check(self) -> Stats:
        stats = Stats(
            claude_calls=len(self.composer.calls),
            real_claude_calls=self.composer.real,
            crashes=self.crashes,
        )
        with Session(self.world.engine) as session:
            stats.follow_ups = len(session.exec(select(FollowUp.id)).all())
        found = Facts.gather(self)
        for check in INVARIANTS:
            for detail in check(self, found):
                stats.violations.append(Violation(check.__name__, detail))
        stats.public_messages = len(found.bot_public)
        stats.notes = sum(1 for m in found.bot_messages if m.private)
        stats.duplicate_notes = found.duplicate_notes
        return stats


START_OF_RUN = datetime(2026, 6, 18, 9, 0, tzinfo=UTC).timestamp()


@contextmanager
def quiet_logs() -> Iterator[None]:
    """Thousands of scripted failures log thousands of warnings: silence them, unless
    SIM_LOGS is set (to read what happened in one run)."""
    if os.environ.get("SIM_LOGS"):
        yield
        return
    logging.disable(logging.CRITICAL)
    try:
        yield
    finally:
        logging.disable(logging.NOTSET)


@dataclass
class ChatwootMessage:
    """A message as the stand-in holds it, with its conversation and inbox."""

    id: int
    conversation: int
    inbox: int
    message_type: int
    private: bool
    content: str
    sender_type: str | None
    created_at: float
    key: str | None  # Wingman's marker, on its own posts
    external_echo: bool
    template: bool = False  # an approved WhatsApp template (template_params)


@dataclass
class Facts:
    """What the database and the stand-in hold once the world has quieted down."""

    messages: list[ChatwootMessage]
    statuses: dict[int, str]
    conversations: dict[int, Conversation]  # by display id
    customer_messages: list[Message]  # Wingman's stored customer messages
    drafts: dict[int, Draft]
    covered: dict[int, set[int]]  # draft id -> customer message ids
    items: dict[str, OutboxItem]  # by marker
    handoffs: list[Handoff]
    autonomy: dict[int, Autonomy]
    deliveries: list[StoredDelivery]
    opted_out: dict[int, float]  # contact id -> when Wingman recorded the opt-out

    @property
    def bot_messages(self) -> list[ChatwootMessage]:
        return [m for m in self.messages if m.sender_type == "AgentBot"]

    @property
    def bot_public(self) -> list[ChatwootMessage]:
        return [m for m in self.bot_messages if not m.private]

    @property
    def duplicate_notes(self) -> int:
        keys = Counter(m.key for m in self.bot_messages if m.private and m.key)
        return sum(n - 1 for n in keys.values() if n > 1)

    @classmethod
    def gather(cls, sim: Sim) -> Facts:
        account = sim.world.standin.account
        with account.lock:
            messages = [
                ChatwootMessage(
                    id=m.id,
                    conversation=c.id,
                    inbox=c.inbox_id,
                    message_type=m.message_type,
                    private=m.private,
                    content=m.content or "",
                    sender_type=m.sender_type,
                    created_at=m.created_at,
                    key=m.content_attributes.get(outbox.MARKER),
                    external_echo=bool(m.content_attributes.get("external_echo")),
                    template=m.template_params is not None,
                )
                for c in account.conversations.values()
                for m in c.messages
            ]
            statuses = {c.id: c.status for c in account.conversations.values()}
        engine, config = sim.world.engine, sim.world.services.config
        with Session(engine) as session:
            conversations = {c.display_id: c for c in session.exec(select(Conversation))}
            customer_messages = list(
                session.exec(
                    select(Message)
                    .where(Message.sender_kind == "customer", col(Message.private).is_(False))
                    .order_by(col(Message.id))
                )
            )
            drafts = {d.id: d for d in session.exec(select(Draft)) if d.id is not None}
            covered: dict[int, set[int]] = {}
            for row in session.exec(select(DraftMessage)):
                covered.setdefault(row.draft_id, set()).add(row.message_id)
            items = {outbox.marker(i): i for i in session.exec(select(OutboxItem))}
            handoffs = list(session.exec(select(Handoff)))
            autonomy = {i: inbox_autonomy(session, i, config) for i in INBOXES}
            deliveries = list(session.exec(select(StoredDelivery)))
            opted_out = {
                o.contact_id: o.opted_out_at.timestamp() for o in session.exec(select(OptOut))
            }
        return cls(
            messages,
            statuses,
            conversations,
            customer_messages,
            drafts,
            covered,
            items,
            handoffs,
            autonomy,
            deliveries,
            opted_out,
        )


Check = Callable[[Sim, Facts], Iterator[str]]


def no_job_failed(sim: Sim, facts: Facts) -> Iterator[str]:
    """No job raised, except where the simulation killed its worker."""
    yield from sim.job_errors


def no_job_is_lost(sim: Sim, facts: Facts) -> Iterator[str]:
    """Every job RQ holds as scheduled is in its queue's scheduled registry, and every queued
    one is on its queue: a job in neither never runs (see ``workers.queue.schedule_at``)."""
    connection = sim.world.queue.connection
    for raw in connection.scan_iter("rq:job:*"):
        job_id = (raw.decode() if isinstance(raw, bytes) else raw)[len("rq:job:") :]
        if ":" in job_id:
            continue  # a job's executions or dependents, not a job
        status, origin, description = (
            value.decode() if isinstance(value, bytes) else str(value or "")
            for value in connection.hmget(raw, ["status", "origin", "description"])
        )
        if status == "scheduled" and connection.zscore(f"rq:scheduled:{origin}", job_id) is None:
            yield f"{description} is scheduled but in no scheduled registry: it never runs"
        if status == "queued" and job_id.encode() not in connection.lrange(
            f"rq:queue:{origin}", 0, -1
        ):
            yield f"{description} is queued but on no queue: it never runs"


def every_delivery_is_settled(sim: Sim, facts: Facts) -> Iterator[str]:
    """Once quiet, every stored delivery was processed; none is parked unless its worker
    was killed on every attempt (a crash the simulation caused, not a poison delivery)."""
    for delivery in facts.deliveries:
        if delivery.parked_at is not None:
            if "without finishing" not in (delivery.last_error or ""):
                yield f"delivery {delivery.id} ({delivery.event}) parked: {delivery.last_error}"
        elif delivery.processed_at is None:
            yield f"delivery {delivery.id} ({delivery.event}) never processed"


def every_webhook_was_acknowledged(sim: Sim, facts: Facts) -> Iterator[str]:
    """Chatwoot retries a 500: every well-formed delivery is answered 200."""
    for event, status in sim.world.answers:
        if status != 200:
            yield f"{event} answered {status}"


def no_public_message_twice(sim: Sim, facts: Facts) -> Iterator[str]:
    """Each of the bot's public messages carries its key, and no key appears twice."""
    keys = Counter(m.key for m in facts.bot_public)
    for key, count in keys.items():
        if key is None:
            yield f"{count} public bot message(s) without Wingman's key"
        elif count > 1:
            yield f"{key} was posted publicly {count} times"


def every_sent_item_exists_once(sim: Sim, facts: Facts) -> Iterator[str]:
    """Every outbox message marked sent is in Chatwoot exactly once, under its own id."""
    by_key: dict[str, list[ChatwootMessage]] = {}
    for message in facts.bot_messages:
        if message.key:
            by_key.setdefault(message.key, []).append(message)
    for key, item in facts.items.items():
        if item.action not in outbox.MESSAGES:
            continue
        found = by_key.get(key, [])
        if item.state == "sent":
            if not found:
                yield f"{item.key} is marked sent but Chatwoot has no such message"
            elif item.chatwoot_message_id not in {m.id for m in found}:
                yield f"{item.key} is marked sent as {item.chatwoot_message_id}, not {found[0].id}"
            if not item.private and len(found) > 1:
                yield f"{item.key} is in Chatwoot {len(found)} times"
        elif item.state == "failed" and found:
            yield f"{item.key} is marked failed but Chatwoot has it"


def nothing_public_without_a_send_or_autopilot(sim: Sim, facts: Facts) -> Iterator[str]:
    """In draft mode only a rep's /send posts publicly; autopilot posts only where and when
    the inbox was on autopilot and no human was assigned."""
    for message in facts.bot_public:
        item = facts.items.get(message.key or "")
        if item is None:
            yield f"public message {message.id} is not from Wingman's outbox"
            continue
        draft = facts.drafts.get(item.draft_id or 0)
        if draft is None:
            yield f"public message {message.id} ({item.key}) belongs to no draft"
            continue
        if item.action == "autoreply" or (item.action == "template" and draft.decided_by is None):
            level = _autonomy_at(sim, message.inbox, draft.created_at.timestamp())
            if level is not Autonomy.AUTOPILOT:
                yield f"D{draft.id} went out on autopilot while its inbox was {level}"
            customer = _customer_in(sim, message.conversation)
            if customer is not None and customer.assigned:
                yield f"D{draft.id} went out on autopilot in a conversation a human is assigned to"
        elif draft.decided_by is None:
            yield f"D{draft.id}'s bubble {message.id} went out without a rep's /send"


def autopilot_passes_the_guardrails(sim: Sim, facts: Facts) -> Iterator[str]:
    """Everything the bot sent on its own passes every guardrail, checked again here."""
    config = sim.world.services.config
    for message in facts.bot_public:
        item = facts.items.get(message.key or "")
        if item is None or item.action != "autoreply":
            continue
        inbox = config.inbox(message.inbox)
        prompt = system_text(inbox_name=inbox.name, locales=inbox.locales)
        result = guardrails.check(
            [message.content], inbox=inbox, knowledge="", system_prompt=prompt
        )
        if not result.passed:
            yield f"autopilot sent {message.content!r}: {guardrails.describe_failures(result)}"


def nothing_public_after_the_window(sim: Sim, facts: Facts) -> Iterator[str]:
    """No public bot message after its channel's 24 h window closed, but for an approved
    WhatsApp template (a follow-up's late step), which is what a closed window takes."""
    last_incoming: dict[int, float] = {}
    for message in sorted(facts.messages, key=lambda m: m.id):
        if message.message_type == INCOMING:
            last_incoming[message.conversation] = message.created_at
        elif (
            message.sender_type == "AgentBot"
            and not message.private
            and message.inbox in WINDOWED_INBOXES
            and not (message.template and message.inbox in TEMPLATE_INBOXES)
        ):
            opened = last_incoming.get(message.conversation)
            if opened is None or message.created_at >= opened + 24 * HOUR:
                yield f"{message.key} went out {message.created_at - (opened or 0):.0f}s late"


def no_follow_up_after_an_opt_out(sim: Sim, facts: Facts) -> Iterator[str]:
    """Once Wingman has recorded a contact's opt-out, no follow-up to them goes out: none is
    written after it, and none first tried after it (an attempt begun before may land)."""
    for message in facts.bot_public:
        item = facts.items.get(message.key or "")
        draft = facts.drafts.get(item.draft_id or 0) if item is not None else None
        conversation = facts.conversations.get(message.conversation)
        if item is None or draft is None or draft.follow_up_id is None or conversation is None:
            continue
        opted = facts.opted_out.get(conversation.contact_id or 0)
        if opted is None:
            continue
        if item.created_at.timestamp() > opted:
            yield f"{item.key} was written after contact {conversation.contact_id} opted out"
        elif message.created_at > opted and item.attempts <= 1:
            yield f"{item.key} went out after contact {conversation.contact_id} opted out"


def every_customer_message_is_answered(sim: Sim, facts: Facts) -> Iterator[str]:
    """Every customer message the bot owes an answer gets one, and at most one from the bot.

    An answer is a sent or edited draft covering it, a human's public reply after it, a
    handoff after it, a rep's /skip, an expiry the rep was told about, or a pending draft
    whose note reached a rep. Owed: the conversation is pending in Chatwoot, the bot isn't
    muted there and its inbox isn't off.
    """
    human_replies: dict[int, list[int]] = {}
    for message in facts.messages:
        if (
            message.message_type == OUTGOING
            and not message.private
            and (message.sender_type == "User" or message.external_echo)
        ):
            human_replies.setdefault(message.conversation, []).append(message.id)
    notes_sent = {
        item.draft_id
        for item in facts.items.values()
        if item.state == "sent" and item.key.endswith(":note")
    }
    answered_by: dict[int, list[str]] = {}
    bot_answers: Counter[int] = Counter()
    for draft_id, message_ids in facts.covered.items():
        draft = facts.drafts[draft_id]
        for message_id in message_ids:
            if draft.state in ("sent", "edited"):
                answered_by.setdefault(message_id, []).append(f"D{draft_id} {draft.state}")
                bot_answers[message_id] += 1
            elif draft.state == "undelivered":
                bot_answers[message_id] += 1
            elif draft.state in ("skipped", "expired"):
                answered_by.setdefault(message_id, []).append(f"D{draft_id} {draft.state}")
            elif draft.state == "pending" and draft_id in notes_sent:
                answered_by.setdefault(message_id, []).append(f"D{draft_id} with a rep")
    for message_id, count in bot_answers.items():
        if count > 1:
            yield f"customer message {message_id} got {count} answers from the bot"
    by_pk = {c.id: c for c in facts.conversations.values()}
    for customer in facts.customer_messages:
        conversation = by_pk[customer.conversation_id]
        if answered_by.get(customer.id):
            continue
        if any(reply > customer.id for reply in human_replies.get(conversation.display_id, [])):
            continue
        if any(
            h.conversation_id == conversation.id and h.created_at >= customer.received_at
            for h in facts.handoffs
        ):
            continue
        status = facts.statuses.get(conversation.display_id)
        autonomy = facts.autonomy[conversation.inbox_id or 0]
        if status != "pending" or conversation.bot_muted or autonomy is Autonomy.OFF:
            continue
        yield (
            f"customer message {customer.id} ({customer.content!r}) in conversation "
            f"{conversation.display_id} was never answered"
        )


def claude_is_asked_no_more_than_needed(sim: Sim, facts: Facts) -> Iterator[str]:
    """Calls ≤ bursts + /redos + messages written while Claude thought + answers lost to a
    killed worker. Bursts are counted on Wingman's clock, as it received the messages (a
    webhook Chatwoot delivers late is news when it arrives): a burst starts with a
    customer's first message, or one received more than the quiet period after their last,
    or after a Claude call for them."""
    bursts = 0
    for customer in sim.customers:
        conversation = facts.conversations.get(customer.conversation or 0)
        if conversation is None:
            continue
        received = sorted(
            m.received_at.timestamp()
            for m in facts.customer_messages
            if m.conversation_id == conversation.id
        )
        calls = [t for t, c in sim.composer.calls if c == customer.index]
        previous: float | None = None
        for t in received:
            asked_since = any(previous is not None and previous <= call < t for call in calls)
            if previous is None or t - previous > DEBOUNCE or asked_since:
                bursts += 1
            previous = t
    allowed = bursts + sim.redos + sim.mid_compose_arrivals + sim.composer.lost
    if len(sim.composer.calls) > allowed:
        yield (
            f"{len(sim.composer.calls)} Claude calls for {bursts} bursts, {sim.redos} redos, "
            f"{sim.mid_compose_arrivals} mid-draft messages and {sim.composer.lost} lost answers"
        )


INVARIANTS: tuple[Check, ...] = (
    no_job_failed,
    no_job_is_lost,
    every_delivery_is_settled,
    every_webhook_was_acknowledged,
    no_public_message_twice,
    every_sent_item_exists_once,
    nothing_public_without_a_send_or_autopilot,
    autopilot_passes_the_guardrails,
    nothing_public_after_the_window,
    no_follow_up_after_an_opt_out,
    every_customer_message_is_answered,
    claude_is_asked_no_more_than_needed,
)


def _autonomy_at(sim: Sim, inbox: int, t: float) -> Autonomy:
    level = Autonomy.DRAFT
    for at, autonomy in sim.autonomy_log[inbox]:
        if at <= t:
            level = autonomy
    return level


def _customer_in(sim: Sim, conversation: int) -> Customer | None:
    return next((c for c in sim.customers if c.conversation == conversation), None)


# --- shrinking and regressions -------------------------------------------------------------


def shrink(sim: Sim, steps: list[Step], invariant: str, *, budget: float = 120.0) -> list[Step]:
    """The shortest sublist of ``steps`` (by deleting chunks, then single steps) that still
    breaks ``invariant``, within ``budget`` seconds."""
    deadline = wallclock.monotonic() + budget

    def fails(candidate: list[Step]) -> bool:
        result = sim.run(candidate)
        return any(v.invariant == invariant for v in result.violations)

    current = list(steps)
    chunk = max(1, len(current) // 2)
    while chunk >= 1 and wallclock.monotonic() < deadline:
        start, shrunk = 0, False
        while start < len(current) and wallclock.monotonic() < deadline:
            candidate = current[:start] + current[start + chunk :]
            if candidate and fails(candidate):
                current, shrunk = candidate, True
            else:
                start += chunk
        if not shrunk:
            chunk //= 2
    return current


def save_regression(steps: list[Step], violation: Violation, *, seed: int) -> Path:
    REGRESSIONS.mkdir(exist_ok=True)
    path = REGRESSIONS / f"{violation.invariant}-{seed}.json"
    path.write_text(
        json.dumps(
            {
                "invariant": violation.invariant,
                "detail": violation.detail,
                "seed": seed,
                "steps": [s.to_json() for s in steps],
            },
            indent=1,
        )
        + "\n"
    )
    return path


def regressions() -> list[Path]:
    return sorted(REGRESSIONS.glob("*.json"))


def load_regression(path: Path) -> list[Step]:
    data = json.loads(path.read_text())
    return [Step.from_json(s) for s in data["steps"]]
