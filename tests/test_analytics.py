"""The experiment report (issue 7): its numbers against a seeded simulation worked out by hand,
the CSV read back by pandas, the CLI, and the edge cases."""

from __future__ import annotations

import io
import json
import math
import random
import statistics
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pandas
import pytest
from sqlalchemy import insert
from sqlalchemy.engine import Engine
from sqlmodel import Session

from core.models import (
    DRAFT_STATES,
    Account,
    Arm,
    Contact,
    Conversation,
    Draft,
    Experiment,
    Handoff,
    Inbox,
    Message,
)
from core.pricing import Prices
from experiments import analytics, report
from experiments.analytics import ArmReport, Filters
from experiments.dataset import ArmRef, ConversationRow, Dataset, DraftRow, MessageRow, Usage
from experiments.metrics import customer_replies
from experiments.outcomes import Outcome
from workers.guardrails import CHECKS
from workers.handoffs import REASONS

START = datetime(2026, 5, 1, tzinfo=UTC)
DAYS = 30
EXPERIMENT = "sales-styles"
# (arm key, version, arm id); answer-first got a second version half way through.
ARMS = [
    ("control", 1, 1),
    ("wide-range", 1, 2),
    ("answer-first", 1, 3),
    ("answer-first", 2, 4),
]
TRUE_CONVERSION = {"control": 0.10, "wide-range": 0.20, "answer-first": 0.35, None: 0.15}
TRUE_REPLY = {"control": 0.5, "wide-range": 0.6, "answer-first": 0.7, None: 0.5}
INBOXES = (12, 14)
REPS = (501, 502, 503)
# A deal value as a rep might type it, and what it is worth (outcomes.py's reading).
DEAL_VALUES: list[tuple[Any, Decimal | None]] = [
    (149, Decimal("149")),
    ("219.50", Decimal("219.50")),
    (99.9, Decimal("99.9")),
    ("", None),
    ("lots", None),
]
FIRST_STATES = ["sent", "edited", "skipped", "superseded", "replaced", "discarded"]
FIRST_STATES += ["expired", "failed", "pending"]
FIRST_WEIGHTS = [40, 18, 8, 7, 8, 4, 4, 4, 3]
KINDS = (
    "input_tokens",
    "output_tokens",
    "cache_write_5m_tokens",
    "cache_write_1h_tokens",
    "cache_read_input_tokens",
)
# Prices() defaults, per million tokens, written out so a change there is noticed here.
DEFAULT_PRICES = {
    "input_tokens": Decimal("3"),
    "output_tokens": Decimal("15"),
    "cache_write_5m_tokens": Decimal("3.75"),
    "cache_write_1h_tokens": Decimal("6"),
    "cache_read_input_tokens": Decimal("0.30"),
}


# --- The simulation ----------------------------------------------------------------------


@dataclass
class SimConversation:
    id: int
    contact_id: int
    inbox_id: int
    arm: str | None
    version: int | None
    arm_id: int | None
    converted: bool = False
    lost: bool = False
    value: Decimal | None = None
    replied: bool | None = None  # None: no public bot message; else the customer wrote after
    drafts: list[dict[str, Any]] = field(default_factory=list)
    handoffs: list[str] = field(default_factory=list)


def empty_rows() -> dict[str, list[dict[str, Any]]]:
    return {table: [] for table in ("contacts", "conversations", "messages", "drafts", "handoffs")}


@dataclass
class Simulation:
    """Conversations generated from a seeded rng, with the rows to insert for them."""

    rng: random.Random
    conversations: list[SimConversation] = field(default_factory=list)
    rows: dict[str, list[dict[str, Any]]] = field(default_factory=empty_rows)
    next_message: int = 1
    next_draft: int = 1

    def message(self, c: SimConversation, kind: str, at: datetime, private: bool = False) -> None:
        self.rows["messages"].append(
            {
                "id": self.next_message,
                "conversation_id": c.id,
                "account_id": 1,
                "inbox_id": c.inbox_id,
                "message_type": "incoming" if kind == "customer" else "outgoing",
                "sender_kind": kind,
                "private": private,
                "content": f"{kind} says hi",
                "created_at": at,
                "received_at": at,
            }
        )
        self.next_message += 1

    def draft(self, c: SimConversation, state: str, last_customer: datetime) -> datetime:
        """One draft answering the customer's last message; returns when it settled."""
        rng = self.rng
        created = last_customer + timedelta(milliseconds=rng.randint(15_000, 30_000))
        ready = created + timedelta(milliseconds=rng.randint(2_000, 60_000))
        failed = state == "failed"
        decided = ready + timedelta(milliseconds=rng.randint(5_000, 1_200_000))
        sent = decided + timedelta(milliseconds=rng.randint(500, 3_000))
        rep: int | None = rng.choice(REPS)
        if state == "sent" and rng.random() < 0.25:
            rep = None  # autopilot: no rep decided it
        distance = {"sent": 0.0, "edited": round(rng.uniform(0.01, 0.29), 4)}.get(state)
        if state == "superseded":
            distance = round(rng.uniform(0.4, 0.9), 4)
        failing = [check for check in CHECKS if rng.random() < 0.06]
        cached = rng.random() < 0.7
        write_kind = rng.choice(["cache_write_5m_tokens", "cache_write_1h_tokens"])
        usage = dict.fromkeys(KINDS, 0)
        if not failed:
            usage["input_tokens"] = rng.randint(200, 1500)
            usage["output_tokens"] = rng.randint(50, 400)
            if cached:
                usage["cache_read_input_tokens"] = rng.randint(2000, 6000)
            else:
                usage[write_kind] = rng.randint(2000, 6000)
        # The part of the output spent thinking (no rng draw: the sequence stays as it was).
        usage["thinking_tokens"] = usage["output_tokens"] // 3
        row = {
            "id": self.next_draft,
            "conversation_id": c.id,
            "arm_id": c.arm_id,
            "state": state,
            "bubbles": ["Hello!"],
            "do_not_contact": False,
            "structured": True,
            "created_at": created,
            "last_customer_message_at": last_customer,
            "ready_at": None if failed else ready,
            "decided_at": decided if state in ("sent", "edited", "skipped", "superseded") else None,
            "sent_at": sent if state in ("sent", "edited") else None,
            "decided_by": rep if state in ("sent", "edited", "skipped", "superseded") else None,
            "edit_distance": distance,
            **usage,
            "guardrails": {}
            if failed
            else {
                "passed": not failing,
                "failed": failing,
                "checks": {ch: {"passed": ch not in failing, "detail": ""} for ch in CHECKS},
            },
        }
        self.next_draft += 1
        c.drafts.append(row)
        self.rows["drafts"].append(row)
        if not failed:
            self.message(c, "bot", ready, private=True)  # the draft note: not a reply
        if state in ("sent", "edited"):
            self.message(c, "bot", sent)
            if rng.random() < 0.5:
                self.message(c, "bot", sent + timedelta(seconds=2))  # a second bubble
        if state == "superseded":
            self.message(c, "human", decided)  # a rep's own reply: not a bot message
        return sent if state in ("sent", "edited") else decided

    def conversation(self, cid: int, arm: tuple[str, int, int] | None, contact: int) -> None:
        rng = self.rng
        key, version, arm_id = arm if arm else (None, None, None)
        c = SimConversation(cid, contact, rng.choice(INBOXES), key, version, arm_id)
        start = START + timedelta(minutes=rng.randrange(DAYS * 24 * 60 - 60))
        burst = rng.randint(1, 3)
        for k in range(burst):
            self.message(c, "customer", start + timedelta(seconds=7 * k))
        last_customer = start + timedelta(seconds=7 * (burst - 1))
        state = rng.choices(FIRST_STATES, FIRST_WEIGHTS)[0]
        settled = self.draft(c, state, last_customer)
        if state == "replaced":  # the customer wrote again before a rep decided
            last_customer = settled - timedelta(seconds=30)
            self.message(c, "customer", last_customer)
            state = rng.choices(FIRST_STATES[:4], FIRST_WEIGHTS[:4])[0]
            settled = self.draft(c, state, last_customer)
        if state in ("sent", "edited"):
            c.replied = rng.random() < TRUE_REPLY[key]
            if c.replied:
                later = settled + timedelta(seconds=rng.randint(60, 7200))
                self.message(c, "customer", later)
        elif rng.random() < 0.5:
            self.message(c, "customer", settled + timedelta(minutes=5))  # after a note only
        c.converted = rng.random() < TRUE_CONVERSION[key]
        attributes: dict[str, Any] = {}
        if c.converted:
            raw, c.value = rng.choice(DEAL_VALUES)
            attributes["deal_value"] = raw
            status = rng.choice(["resolved", "open"])
        else:
            c.lost = rng.random() < 0.7
            status = "resolved" if c.lost else rng.choice(["open", "pending"])
        for _ in range(rng.choice([0] * 8 + [1, 1, 2])):
            reason = rng.choice(["customer_asked", "upset", "ready_to_pay", "rep_command"])
            c.handoffs.append(reason)
            self.rows["handoffs"].append(
                {"conversation_id": cid, "reason": reason, "created_at": settled}
            )
        self.rows["conversations"].append(
            {
                "id": cid,
                "account_id": 1,
                "display_id": cid,
                "inbox_id": c.inbox_id,
                "contact_id": contact,
                "channel": "Channel::WebWidget",
                "status": status,
                "labels": ["sold", "tent"] if c.converted else ["tent"],
                "custom_attributes": attributes,
                "first_seen_at": start,
                "bot_muted": False,
            }
        )
        self.conversations.append(c)


def simulate(seed: int = 7, armed: int = 600, unarmed: int = 24, undrafted: int = 5) -> Simulation:
    """``armed`` conversations over three arms, ``unarmed`` without an experiment, and
    ``undrafted`` the bot never drafted for (which the report must leave out)."""
    sim = Simulation(random.Random(seed))
    contacts: dict[int, int] = {}
    for i in range(armed):
        key = ("control", "wide-range", "answer-first")[i % 3]
        arm = next(a for a in ARMS if a[0] == key and (key != "answer-first" or a[1] == 1))
        if key == "answer-first" and i >= armed // 2:
            arm = ARMS[3]
        # Every tenth conversation is a returning contact, who keeps their arm.
        contacts[i] = contacts[i - 3] if i >= 3 and i % 10 == 0 else 10_000 + i
        sim.conversation(1 + i, arm, contacts[i])
    for j in range(unarmed):
        sim.conversation(1 + armed + j, None, 20_000 + j)
    for contact in sorted(set(contacts.values())) + [20_000 + j for j in range(unarmed)]:
        sim.rows["contacts"].append(
            {"id": contact, "account_id": 1, "custom_attributes": {}, "additional_attributes": {}}
        )
    for k in range(undrafted):
        cid = 1 + armed + unarmed + k
        sim.rows["conversations"].append(
            {
                **sim.rows["conversations"][0],
                "id": cid,
                "display_id": cid,
                "contact_id": None,
                "labels": ["sold"],
            }
        )
    return sim


def seed(engine: Engine, sim: Simulation) -> None:
    now = START
    with engine.begin() as connection:
        connection.execute(insert(Account), [{"id": 1, "name": "Outdoor"}])
        connection.execute(
            insert(Inbox), [{"id": i, "account_id": 1, "name": f"inbox {i}"} for i in INBOXES]
        )
        connection.execute(
            insert(Experiment),
            [
                {
                    "name": EXPERIMENT,
                    "mode": "fixed",
                    "min_share": 0.1,
                    "draws": 10,
                    "updated_at": now,
                }
            ],
        )
        connection.execute(
            insert(Arm),
            [
                {
                    "id": arm_id,
                    "experiment": EXPERIMENT,
                    "key": key,
                    "version": version,
                    "content_hash": f"{key}{version}",
                    "instructions": "",
                    "show_prices": [],
                    "weight": 1.0,
                    "autonomy": "draft",
                    "current": not (key == "answer-first" and version == 1),
                    "created_at": now,
                }
                for key, version, arm_id in ARMS
            ],
        )
        connection.execute(insert(Contact), sim.rows["contacts"])
        connection.execute(insert(Conversation), sim.rows["conversations"])
        connection.execute(insert(Message), sim.rows["messages"])
        connection.execute(insert(Draft), sim.rows["drafts"])
        connection.execute(insert(Handoff), sim.rows["handoffs"])


# --- Worked out by hand ------------------------------------------------------------------


def wilson(successes: int, n: int) -> tuple[float, float]:
    if n == 0:
        return (0.0, 1.0)
    z = 1.959963984540054
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return (max(0.0, centre - half), min(1.0, centre + half))


def median_p90(values: list[float]) -> tuple[float, float]:
    # "inclusive" is linear interpolation between closest ranks, as the report documents.
    return statistics.median(values), statistics.quantiles(values, n=10, method="inclusive")[-1]


def seconds(start: datetime, end: datetime) -> float:
    return (end - start).total_seconds()


def assert_matches(row: ArmReport, convs: list[SimConversation]) -> None:
    """Every number of a report row against the generated data, counted in plain loops."""
    m = row.metrics
    n = len(convs)
    assert m.conversations == n and n > 0
    assert m.contacts == len({c.contact_id for c in convs})

    with_bot = [c for c in convs if c.replied is not None]
    replied = sum(1 for c in with_bot if c.replied)
    assert (m.bot_replied, m.customer_replied) == (len(with_bot), replied)
    assert m.customer_reply_rate == pytest.approx(replied / len(with_bot))

    known = [c for c in convs if c.converted or c.lost]
    sold = [c for c in convs if c.converted]
    assert (m.known_outcomes, m.conversions) == (len(known), len(sold))
    assert m.conversion_rate == pytest.approx(len(sold) / len(known))
    assert m.conversion_ci == pytest.approx(wilson(len(sold), len(known)), abs=1e-12)
    revenue = Decimal(0)
    for c in sold:
        if c.value is not None:
            revenue += c.value
    assert m.revenue == revenue
    assert m.revenue_per_conversation == pytest.approx(revenue / n, abs=Decimal("1e-20"))

    drafts = [d for c in convs for d in c.drafts]
    states = Counter(d["state"] for d in drafts)
    assert m.drafts == len(drafts)
    assert m.drafts_by_state == {s: states[s] for s in DRAFT_STATES}
    distances = [d["edit_distance"] for d in drafts if d["state"] in ("sent", "edited")]
    assert m.edit_distance_count == len(distances)
    assert m.edit_distance_mean == pytest.approx(sum(distances) / len(distances))

    to_draft = [
        seconds(d["last_customer_message_at"], d["ready_at"]) for d in drafts if d["ready_at"]
    ]
    to_reply = [
        seconds(d["last_customer_message_at"], d["sent_at"]) for d in drafts if d["sent_at"]
    ]
    assert m.time_to_draft.count == len(to_draft)
    assert (m.time_to_draft.median_s, m.time_to_draft.p90_s) == pytest.approx(median_p90(to_draft))
    assert m.time_to_reply.count == len(to_reply)
    assert (m.time_to_reply.median_s, m.time_to_reply.p90_s) == pytest.approx(median_p90(to_reply))

    reasons = Counter(reason for c in convs for reason in c.handoffs)
    assert m.handoffs == sum(reasons.values())
    assert m.handoff_rate == pytest.approx(sum(reasons.values()) / n)
    assert m.handoff_rate_by_reason == pytest.approx({r: reasons[r] / n for r in REASONS})

    failures = Counter(name for d in drafts for name in d["guardrails"].get("failed", []))
    assert m.guardrail_failures == {check: failures[check] for check in CHECKS}
    assert m.guardrail_checked_drafts == sum(1 for d in drafts if d["guardrails"])
    assert m.guardrail_failed_drafts == sum(1 for d in drafts if d["guardrails"].get("failed"))

    tokens = {kind: sum(d[kind] for d in drafts) for kind in KINDS}
    dollars = {kind: tokens[kind] * DEFAULT_PRICES[kind] / 1_000_000 for kind in KINDS}
    per = m.cost_per_conversation
    assert per is not None
    tiny = Decimal("1e-15")
    assert per.input == pytest.approx(dollars["input_tokens"] / n, abs=tiny)
    assert per.output == pytest.approx(dollars["output_tokens"] / n, abs=tiny)
    assert per.cache_write_5m == pytest.approx(dollars["cache_write_5m_tokens"] / n, abs=tiny)
    assert per.cache_write_1h == pytest.approx(dollars["cache_write_1h_tokens"] / n, abs=tiny)
    assert per.cache_read == pytest.approx(dollars["cache_read_input_tokens"] / n, abs=tiny)
    assert per.total == pytest.approx(sum(dollars.values()) / n, abs=tiny)
    assert m.spend.total == pytest.approx(sum(dollars.values()), abs=tiny)
    prompt = tokens["input_tokens"] + tokens["cache_read_input_tokens"]
    prompt += tokens["cache_write_5m_tokens"] + tokens["cache_write_1h_tokens"]
    assert m.cache_read_share == pytest.approx(tokens["cache_read_input_tokens"] / prompt)
    # Thinking is inside the output: its cost is a part of per.output, never added again.
    thinking = sum(d["thinking_tokens"] for d in drafts)
    assert m.usage.thinking_tokens == thinking
    assert m.thinking_share == pytest.approx(thinking / tokens["output_tokens"])
    thinking_cost = thinking * DEFAULT_PRICES["output_tokens"] / 1_000_000 / n
    assert m.thinking_cost_per_conversation == pytest.approx(thinking_cost, abs=tiny)
    assert 0 < thinking_cost < per.output


# --- The seeded simulation (the "done when") -------------------------------------


def test_the_report_matches_a_seeded_simulation_worked_out_by_hand(engine: Engine) -> None:
    sim = simulate()
    seed(engine, sim)
    with Session(engine) as session:
        result = analytics.report(session, prices=Prices())
    armed = [c for c in sim.conversations if c.arm]
    assert len(armed) == 600 and result.conversations == 624  # the undrafted 5 are left out

    by_arm = {row.arm: row for row in result.arms}
    assert list(by_arm) == ["control", "wide-range", "answer-first", None]
    for key, row in by_arm.items():
        assert row.experiment == (EXPERIMENT if key else None) and row.version is None
        assert_matches(row, [c for c in sim.conversations if c.arm == key])
    # The best true arm is the likeliest best, clearly; no experiment has no p_best.
    p_best = {key: row.p_best for key, row in by_arm.items()}
    assert p_best["answer-first"] == max(v for v in p_best.values() if v is not None)
    assert p_best["answer-first"] > 0.95 and p_best[None] is None
    assert sum(v for v in p_best.values() if v is not None) == pytest.approx(1.0)

    versions = [(row.arm, row.version) for row in result.versions]
    assert versions == [(k, v) for k, v, _ in ARMS] + [(None, None)]
    for row in result.versions:
        same = [c for c in sim.conversations if (c.arm, c.version) == (row.arm, row.version)]
        assert_matches(row, same)

    assert [(row.inbox_id, row.arm) for row in result.inboxes] == [
        (inbox, key) for inbox in INBOXES for key in ("control", "wide-range", "answer-first", None)
    ]
    for row in result.inboxes:
        convs = [c for c in sim.conversations if c.arm == row.arm and c.inbox_id == row.inbox_id]
        assert_matches(row, convs)

    drafts = [d for c in sim.conversations for d in c.drafts]
    assert [rep.rep_id for rep in result.reps] == list(REPS)
    for rep in result.reps:
        mine = [d for d in drafts if d["decided_by"] == rep.rep_id]
        states = Counter(d["state"] for d in mine)
        assert rep.decided == len(mine)
        assert rep.by_state == {s: states[s] for s in ("sent", "edited", "skipped", "superseded")}
        assert rep.approval_rate == pytest.approx(states["sent"] / len(mine))
        assert rep.approval_ci == pytest.approx(wilson(states["sent"], len(mine)), abs=1e-12)
        waits = [seconds(d["ready_at"], d["decided_at"]) for d in mine]
        assert (rep.time_to_decide.median_s, rep.time_to_decide.p90_s) == pytest.approx(
            median_p90(waits)
        )


def test_the_report_is_reproducible_and_quick(engine: Engine) -> None:
    seed(engine, simulate())
    started = time.perf_counter()
    with Session(engine) as session:
        first = analytics.report(session, prices=Prices())
    elapsed = time.perf_counter() - started
    with Session(engine) as session:
        again = analytics.report(session, prices=Prices())
    assert report.to_json(first) == report.to_json(again)  # the default rng is seeded
    assert elapsed < 10  # measured about 0.3 s; this only catches a runaway query


# --- The filters, on a database ----------------------------------------------------------


def test_filters_select_conversations_by_first_draft_inbox_and_experiment(engine: Engine) -> None:
    sim = simulate(seed=3, armed=60, unarmed=6, undrafted=1)
    seed(engine, sim)
    since, until = START + timedelta(days=10), START + timedelta(days=20)

    def first_draft(c: SimConversation) -> datetime:
        created: datetime = min(d["created_at"] for d in c.drafts)
        return created

    def count(filters: Filters) -> dict[str | None, int]:
        with Session(engine) as session:
            result = analytics.report(session, filters, prices=Prices(), draws=10)
        return {row.arm: row.metrics.conversations for row in result.arms}

    in_window = [c for c in sim.conversations if since <= first_draft(c) < until]
    assert count(Filters(since=since, until=until)) == {
        key: sum(1 for c in in_window if c.arm == key)
        for key in ("control", "wide-range", "answer-first", None)
    }
    assert sum(count(Filters(inbox_id=14)).values()) == sum(
        1 for c in sim.conversations if c.inbox_id == 14
    )
    only = count(Filters(experiment=EXPERIMENT))
    assert None not in only and sum(only.values()) == 60
    assert sum(count(Filters(inbox_id=999)).values()) == 0
    with Session(engine) as session, pytest.raises(analytics.FilterError, match="'nope'"):
        analytics.report(session, Filters(experiment="nope"), prices=Prices())


# --- CSV ---------------------------------------------------------------------------------


def small_report(**filters: Any) -> analytics.Report:
    """A report built without a database, from a handful of rows."""
    at = START
    arms = [ArmRef(1, EXPERIMENT, "control", 1), ArmRef(2, EXPERIMENT, "wide-range", 1)]
    conversations = [
        ConversationRow(1, 101, 12, Outcome(True, False, Decimal("200"))),
        ConversationRow(2, 102, 12, Outcome(False, True, None)),
        ConversationRow(3, 103, 14, Outcome(True, False, Decimal("100"))),
        ConversationRow(4, 104, 14, Outcome(False, False, None)),
    ]
    usage = Usage(1000, 200, 0, 4000, 0, thinking_tokens=80)
    drafts = [
        DraftRow(1, 1, 1, "sent", at, 0.0, 501, at, at + timedelta(seconds=30), None, None, usage),
        DraftRow(2, 2, 1, "edited", at, 0.2, 501, at, None, None, at + timedelta(seconds=90)),
        DraftRow(3, 3, 2, "skipped", at, None, 502, guardrails_checked=True),
        DraftRow(4, 4, None, "failed", at, failed_checks=("prices",), guardrails_checked=True),
    ]
    messages = [MessageRow(1, 1, "bot", False, at), MessageRow(2, 1, "customer", False, at)]
    return analytics.build(
        Dataset(arms, conversations, drafts, messages, (), Filters(**filters)),
        prices=Prices(),
        draws=200,
    )


def test_the_csv_reads_back_into_pandas_with_the_documented_columns() -> None:
    result = small_report()
    frame = pandas.read_csv(io.StringIO(report.to_csv(result)))
    assert list(frame.columns) == list(report.CSV_COLUMNS)
    assert len(frame) == len(result.arms) + len(result.versions) + len(result.inboxes)
    assert list(frame["level"].unique()) == ["arm", "version", "inbox"]
    assert pandas.api.types.is_integer_dtype(frame["conversations"])
    assert pandas.api.types.is_integer_dtype(frame["drafts_sent"])
    assert pandas.api.types.is_float_dtype(frame["conversion_rate"])
    assert pandas.api.types.is_float_dtype(frame["cost_total_usd"])

    control = frame[(frame["level"] == "arm") & (frame["arm"] == "control")].iloc[0]
    assert control["conversations"] == 2 and control["contacts"] == 2
    assert control["conversion_rate"] == 0.5
    assert control["conversion_ci_low"] == pytest.approx(wilson(1, 2)[0])
    assert control["revenue_per_conversation"] == 100.0
    assert control["customer_reply_rate"] == 1.0  # the customer wrote at the same second, later
    # 1000 input at $3, 200 output at $15 and 4000 1-hour writes at $6 per million, over 2.
    assert control["cost_input_usd"] == pytest.approx(0.0015)
    assert control["cost_total_usd"] == pytest.approx((0.003 + 0.003 + 0.024) / 2)
    assert control["cache_read_share"] == 0.0
    # 80 of the 200 output tokens were thinking: $0.0012, a part of the output's $0.003.
    assert (control["output_tokens"], control["thinking_tokens"]) == (200, 80)
    assert control["cost_thinking_usd"] == pytest.approx(0.0012 / 2)
    assert control["cost_output_usd"] == pytest.approx(0.003 / 2)
    assert control["thinking_share"] == 0.4
    none = frame[(frame["level"] == "arm") & frame["experiment"].isna()].iloc[0]
    assert none["conversations"] == 1 and pandas.isna(none["p_best"])
    assert none["guardrail_failed_prices"] == 1 and pandas.isna(none["conversion_rate"])


def test_every_csv_column_is_documented_and_filled() -> None:
    doc = (Path(__file__).parents[1] / "docs/report.md").read_text()
    for column in report.CSV_COLUMNS:
        assert f"`{column}`" in doc, column
    row = small_report().arms[0]
    assert list(report.csv_row("arm", row)) == list(report.CSV_COLUMNS)


# --- Pure parts and edge cases -----------------------------------------------------------


def test_nothing_yet() -> None:
    empty = analytics.build(Dataset(), prices=Prices())
    assert (empty.arms, empty.versions, empty.inboxes, empty.reps) == ([], [], [], [])
    assert "Nothing to report yet" in report.to_table(empty)
    assert report.to_csv(empty) == ",".join(report.CSV_COLUMNS) + "\n"
    assert json.loads(report.to_json(empty))["arms"] == []


def test_an_arm_without_conversations_or_outcomes() -> None:
    arms = [ArmRef(1, EXPERIMENT, "control", 1), ArmRef(2, EXPERIMENT, "idle", 1)]
    open_only = [ConversationRow(1, 101, 12, Outcome(False, False, None))]
    drafts = [DraftRow(1, 1, 1, "pending", START)]
    result = analytics.build(Dataset(arms, open_only, drafts), prices=Prices(), draws=500)
    control, idle = result.arms
    assert control.metrics.conversations == 1 and control.metrics.known_outcomes == 0
    for row in (control, idle):
        assert row.metrics.conversion_ci == (0.0, 1.0)
        assert row.metrics.conversion_rate is None
        assert row.p_best == pytest.approx(0.5, abs=0.1)  # no evidence either way
    assert idle.metrics.conversations == 0 and idle.metrics.cost_per_conversation is None
    assert idle.metrics.revenue_per_conversation is None and idle.metrics.handoff_rate is None
    assert idle.metrics.time_to_draft.median_s is None
    text = report.to_table(result)
    assert "sales-styles/idle" in text and "Nothing to report yet" not in text
    frame = pandas.read_csv(io.StringIO(report.to_csv(result)))
    assert frame[frame["arm"] == "idle"].iloc[0]["conversations"] == 0


def test_no_conversations_yet_but_arms_exist() -> None:
    result = analytics.build(Dataset([ArmRef(1, EXPERIMENT, "control", 1)]), prices=Prices())
    assert [row.metrics.conversations for row in result.arms] == [0]
    assert "Nothing to report yet" in report.to_table(result)


def test_a_conversation_belongs_to_the_arm_of_its_first_draft() -> None:
    arms = [ArmRef(1, EXPERIMENT, "a", 1), ArmRef(2, EXPERIMENT, "b", 1)]
    conversation = [ConversationRow(1, 101, 12, Outcome(True, False, None))]
    later = START + timedelta(minutes=1)
    drafts = [DraftRow(2, 1, 2, "sent", later), DraftRow(1, 1, 1, "replaced", START)]
    a, b = analytics.build(Dataset(arms, conversation, drafts), prices=Prices(), draws=10).arms
    assert (a.metrics.conversations, a.metrics.drafts) == (1, 2)
    assert b.metrics.conversations == 0


def test_the_experiment_filter_drops_the_no_experiment_row() -> None:
    assert [row.arm for row in small_report().arms] == ["control", "wide-range", None]
    assert [row.arm for row in small_report(experiment=EXPERIMENT).arms] == [
        "control",
        "wide-range",
    ]


@pytest.mark.parametrize(
    ("messages", "expected"),
    [
        # (id, sender kind, private, seconds): a customer must write after the first bot reply.
        ([(1, "customer", False, 0), (2, "bot", False, 5), (3, "customer", False, 9)], True),
        ([(1, "customer", False, 0), (2, "bot", False, 5)], False),
        ([(2, "bot", False, 5), (1, "customer", False, 5)], False),  # same time, earlier id
        ([(1, "bot", False, 5), (2, "customer", False, 5)], True),  # same time, later id
        ([(1, "bot", True, 5), (2, "customer", False, 9)], None),  # a private note isn't one
        ([(1, "human", False, 5), (2, "customer", False, 9)], None),  # nor is a rep's reply
        ([(1, "bot", False, 5), (2, "bot", False, 9), (3, "customer", False, 7)], True),
    ],
)
def test_customer_reply_after_a_public_bot_message(
    messages: list[tuple[int, str, bool, int]], expected: bool | None
) -> None:
    rows = [
        MessageRow(i, 1, kind, private, START + timedelta(seconds=s))
        for i, kind, private, s in messages
    ]
    assert customer_replies(rows).get(1) == expected


def test_filters_refuse_naive_or_backwards_dates() -> None:
    with pytest.raises(analytics.FilterError, match="since"):
        Filters(since=datetime(2026, 6, 1))
    with pytest.raises(analytics.FilterError, match="until"):
        Filters(since=START, until=START)


def test_the_table_reads_well() -> None:
    text = report.to_table(small_report())
    lines = text.splitlines()
    assert lines[0] == "Wingman experiment report: 4 conversations"
    header = next(line for line in lines if line.startswith("arm "))
    assert "conversion (95% CI)" in header and "p_best" in header and "$/conv" in header
    assert header.split()[-2:] == ["think", "cache"]
    control = next(line for line in lines if line.startswith("sales-styles/control"))
    assert "50.0% (9.5-90.5)" in control
    assert control.split()[-2:] == ["40%", "0%"]  # thinking share, then cache read share
    assert "Approvals by rep" in text and "By inbox" in text


# --- The CLI -----------------------------------------------------------------------------


def test_the_cli_prints_a_table_json_and_csv(make_app: Any, engine: Engine) -> None:
    sim = simulate(seed=5, armed=30, unarmed=3, undrafted=1)
    seed(engine, sim)
    runner = make_app().test_cli_runner()

    table = runner.invoke(args=["report"])
    assert table.exit_code == 0, table.output
    assert "sales-styles/answer-first" in table.output and "(no experiment)" in table.output

    as_json = runner.invoke(args=["report", "--json"])
    assert as_json.exit_code == 0, as_json.output
    body = json.loads(as_json.output)
    assert body["conversations"] == 33
    control = next(row for row in body["arms"] if row["arm"] == "control")
    assert control["metrics"]["conversations"] == sum(
        1 for c in sim.conversations if c.arm == "control"
    )
    assert set(control["metrics"]["cost_per_conversation"]) >= {"input", "total"}
    assert control["metrics"]["usage"]["thinking_tokens"] == sum(
        d["thinking_tokens"] for c in sim.conversations if c.arm == "control" for d in c.drafts
    )
    assert control["metrics"]["thinking_cost_per_conversation"] > 0

    as_csv = runner.invoke(args=["report", "--csv", "--experiment", EXPERIMENT, "--inbox", "12"])
    assert as_csv.exit_code == 0, as_csv.output
    frame = pandas.read_csv(io.StringIO(as_csv.output))
    arm_rows = frame[frame["level"] == "arm"]
    assert list(arm_rows["arm"]) == ["control", "wide-range", "answer-first"]
    assert arm_rows["conversations"].sum() == sum(
        1 for c in sim.conversations if c.arm and c.inbox_id == 12
    )

    first_day = min(min(d["created_at"] for d in c.drafts) for c in sim.conversations)
    windowed = runner.invoke(
        args=[
            "report",
            "--json",
            "--since",
            f"{first_day:%Y-%m-%d}",
            "--until",
            f"{first_day:%Y-%m-%d}",
        ]
    )
    assert windowed.exit_code == 0, windowed.output
    same_day = [
        c
        for c in sim.conversations
        if min(d["created_at"] for d in c.drafts).date() == first_day.date()
    ]
    assert json.loads(windowed.output)["conversations"] == len(same_day) > 0


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--since", "yesterday"], "--since"),
        (["--until", "2026-13-01"], "--until"),
        (["--inbox", "-1"], "--inbox"),
        (["--inbox", "twelve"], "--inbox"),
        (["--since", "2026-06-02", "--until", "2026-06-01"], "--until"),
        (["--experiment", "nope"], "--experiment"),
        (["--csv", "--json"], "--csv"),
    ],
)
def test_the_cli_refuses_bad_filters_naming_the_option(
    make_app: Any, args: list[str], says: str
) -> None:
    result = make_app().test_cli_runner().invoke(args=["report", *args])
    assert result.exit_code != 0
    assert says in result.output


def test_the_cli_on_an_empty_database(make_app: Any) -> None:
    runner = make_app().test_cli_runner()
    result = runner.invoke(args=["report"])
    assert result.exit_code == 0 and "Nothing to report yet" in result.output
    assert json.loads(runner.invoke(args=["report", "--json"]).output)["arms"] == []
