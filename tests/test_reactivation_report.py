"""The re-activation report on a seeded simulated dataset whose true lift is known, and the
figures' rules (windows, groups, arms, the sentence) on small hand-made ones."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy.engine import Engine

from core.db import session_scope
from core.models import Account, Contact, Conversation, Inbox, Message
from experiments.holdout import FOLLOW_UP, HOLDOUT, lead_for
from experiments.reactivation import LeadFacts, Lift, Share, build, sentence

T0 = datetime(2026, 9, 1, 9, 0, tzinfo=UTC)
LEADS = 600
HOLDOUT_SHARE = 0.2
# The truth the data is drawn from: 18% of follow-up leads come back within 72 h, 10% of
# holdout leads would anyway. The true lift is 8 points.
TRUE_RATES = {FOLLOW_UP: 0.18, HOLDOUT: 0.10}


def seed_dataset(engine: Engine) -> dict[str, Any]:
    """600 leads in inbox 15, one contact each, grouped by the real holdout draw
    (``Random(13)``, share 0.2); each comes back (a customer message 1 h after assignment)
    with its group's true rate, drawn from ``Random(2013)``. Decoys the report must not
    count: holdout leads writing only after 80 h, and a sale after 20 days."""
    groups, out = random.Random(13), random.Random(2013)
    tally: dict[str, Any] = {"came_back": {FOLLOW_UP: 0, HOLDOUT: 0}, "converted": 0, "n": {}}
    with session_scope(engine) as session:
        session.add(Account(id=1))
        session.add(Inbox(id=15, account_id=1, channel="Channel::Whatsapp"))
        session.flush()
        late_decoys = 0
        for index in range(LEADS):
            contact_id, at = 10_000 + index, T0 + timedelta(minutes=index)
            session.add(Contact(id=contact_id, account_id=1))
            conversation = Conversation(
                account_id=1,
                display_id=index + 1,
                inbox_id=15,
                contact_id=contact_id,
                status="pending",
                first_seen_at=at,
            )
            session.add(conversation)
            session.flush()
            assert conversation.id is not None
            lead = lead_for(
                session,
                conversation.id,
                contact_id=contact_id,
                inbox_id=15,
                share=HOLDOUT_SHARE,
                rng=groups,
                now=at,
            )
            tally["n"][lead.group] = tally["n"].get(lead.group, 0) + 1
            if out.random() < TRUE_RATES[lead.group]:
                _customer_writes(session, conversation.id, 1 + index, at + timedelta(hours=1))
                tally["came_back"][lead.group] += 1
                if lead.group == FOLLOW_UP and index % 4 == 0:
                    conversation.labels = ["sold"]
                    conversation.label_times = {"sold": (at + timedelta(days=2)).timestamp()}
                    tally["converted"] += 1
            elif lead.group == HOLDOUT and late_decoys < 3:
                _customer_writes(session, conversation.id, 1 + index, at + timedelta(hours=80))
                late_decoys += 1
                conversation.labels = ["sold"]  # and sold, but only after 20 days
                conversation.label_times = {"sold": (at + timedelta(days=20)).timestamp()}
    return tally


def _customer_writes(session: Any, conversation_id: int, message_id: int, at: datetime) -> None:
    session.add(
        Message(
            id=message_id,
            conversation_id=conversation_id,
            account_id=1,
            inbox_id=15,
            message_type="incoming",
            sender_kind="customer",
            content="Still thinking about the tent, is it in stock?",
            created_at=at,
            received_at=at,
        )
    )


def test_a_seeded_dataset_with_a_known_lift_gives_the_expected_lift_and_interval(
    make_app: Any, engine: Engine
) -> None:
    tally = seed_dataset(engine)
    # The seeded draws: 478 leads in follow-up and 122 in the holdout; 84 and 11 came back.
    assert tally["n"] == {FOLLOW_UP: 478, HOLDOUT: 122}
    assert tally["came_back"] == {FOLLOW_UP: 84, HOLDOUT: 11}
    result = make_app().test_cli_runner().invoke(args=["reactivation", "report", "--json"])
    assert result.exit_code == 0, result.output
    [row] = json.loads(result.output)["rows"]
    came_back = row["came_back"]
    assert (came_back["follow_up"]["successes"], came_back["follow_up"]["leads"]) == (84, 478)
    assert (came_back["holdout"]["successes"], came_back["holdout"]["leads"]) == (11, 122)
    # p1 = 84/478 = 0.175732, p2 = 11/122 = 0.090164; lift d = 0.085568.
    # Wilson (z = 1.959964): follow-up (0.144237, 0.212398), holdout (0.051093, 0.154257).
    # Newcombe: lower = d - sqrt((p1 - 0.144237)² + (0.154257 - p2)²)
    #                 = 0.085568 - sqrt(0.031496² + 0.064093²) = 0.085568 - 0.071414 = 0.014155
    #           upper = d + sqrt((0.212398 - p1)² + (p2 - 0.051093)²)
    #                 = 0.085568 + sqrt(0.036666² + 0.039072²) = 0.085568 + 0.053582 = 0.139150
    assert came_back["lift"] == pytest.approx(0.085568, abs=1e-6)
    assert came_back["lift_ci"] == pytest.approx([0.014155, 0.139150], abs=1e-6)
    assert came_back["follow_up"]["ci"] == pytest.approx([0.144237, 0.212398], abs=1e-6)
    assert came_back["holdout"]["ci"] == pytest.approx([0.051093, 0.154257], abs=1e-6)
    # The true lift, 8 points, is inside the interval; the sentence rounds to whole leads.
    assert came_back["lift_ci"][0] < 0.08 < came_back["lift_ci"][1]
    assert row["sentence"] == (
        "follow-ups brought back 9 of 100 leads who would not have come back (95% CI 1–14)"
    )
    converted = row["converted"]
    assert converted["follow_up"]["successes"] == tally["converted"]
    assert converted["holdout"]["successes"] == 0  # the sale after 20 days is outside 14 d
    text = make_app().test_cli_runner().invoke(args=["reactivation", "report"])
    assert "inbox 15: follow-ups brought back 9 of 100" in text.output
    assert "came back within 72 h: follow-up 84/478 = 17.6%" in text.output


def test_a_longer_reply_window_counts_the_late_comers(make_app: Any, engine: Engine) -> None:
    seed_dataset(engine)
    result = (
        make_app()
        .test_cli_runner()
        .invoke(args=["reactivation", "report", "--json", "--reply-window", "4d"])
    )
    [row] = json.loads(result.output)["rows"]
    assert row["came_back"]["holdout"]["successes"] == 11 + 3


def test_a_bad_duration_is_refused_clearly(make_app: Any) -> None:
    result = (
        make_app()
        .test_cli_runner()
        .invoke(args=["reactivation", "report", "--reply-window", "soon"])
    )
    assert result.exit_code == 2
    assert 'expected a duration such as "20m"' in result.output


def lead(group: str, *, replied_after: float | None = None, arm: str | None = None) -> LeadFacts:
    replied = T0 + timedelta(hours=replied_after) if replied_after is not None else None
    return LeadFacts(15, arm, group, T0, replied, None)


def test_windows_start_at_the_assignment_for_both_groups() -> None:
    [row] = build(
        [
            lead(FOLLOW_UP, replied_after=71.9),
            lead(FOLLOW_UP, replied_after=72.1),
            lead(HOLDOUT, replied_after=72.0),
            lead(HOLDOUT, replied_after=-1),  # before the assignment: not a comeback
        ]
    )
    assert (row.replied.follow_up.successes, row.replied.follow_up.n) == (1, 2)
    assert (row.replied.holdout.successes, row.replied.holdout.n) == (1, 2)


def test_rows_per_inbox_then_per_arm() -> None:
    rows = build(
        [lead(FOLLOW_UP, arm="styles/short"), lead(HOLDOUT), lead(HOLDOUT, arm="styles/short")]
    )
    assert [(r.inbox_id, r.arm, r.replied.follow_up.n, r.replied.holdout.n) for r in rows] == [
        (15, None, 1, 2),
        (15, "styles/short", 1, 1),
    ]


@pytest.mark.parametrize(
    ("follow_up", "holdout", "expected"),
    [
        (Share(0, 0), Share(3, 10), "not enough leads yet to tell: 0 got follow-ups"),
        (Share(20, 100), Share(20, 100), "no clear effect yet: +0 of 100 leads (95% CI -11–11)"),
        (Share(5, 100), Share(30, 100), "came back less often: 25 fewer of 100"),
    ],
)
def test_the_sentence_says_what_the_interval_allows(
    follow_up: Share, holdout: Share, expected: str
) -> None:
    assert expected in sentence(Lift(follow_up, holdout))
