"""Promotion to autopilot on evidence; demotion at any time; both audited (issue 6)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from core.db import session_scope
from core.models import AutonomyChange, Conversation, Draft
from experiments import arms, promotion
from experiments.promotion import Evidence, shortfalls
from tests.conftest import load_event, store_event

NOW = datetime(2026, 6, 18, 9, 0, tzinfo=UTC)
REF = "sales-styles/answer-first"


def seed(engine: Engine, states: list[str], *, failing: int = 0) -> int:
    """An arm with drafts in these states; the newest ``failing`` failed a guardrail."""
    store_event(engine, load_event("message_created_incoming"), key="c", received_at=NOW)
    with session_scope(engine) as session:
        arms.sync(session, arms.load_file(), now=NOW)
        arm = arms.current_arm(session, "sales-styles", "answer-first")
        conversation = session.exec(select(Conversation)).one()
        assert arm is not None and arm.id is not None and conversation.id is not None
        for index, state in enumerate(states):
            passed = index < len(states) - failing
            session.add(
                Draft(
                    conversation_id=conversation.id,
                    state=state,
                    created_at=NOW,
                    arm_id=arm.id,
                    guardrails={"passed": passed, "failed": [] if passed else ["prices"]},
                )
            )
        return arm.id


def promote(engine: Engine, autonomy: str = "autopilot") -> tuple[Any, Any]:
    with session_scope(engine) as session:
        return promotion.set_autonomy(
            session, REF, autonomy, actor="Lena", now=NOW, min_decided=50, min_approval=0.8
        )


def test_allowed_above_every_condition_and_audited(engine: Engine) -> None:
    seed(engine, ["sent"] * 58 + ["edited"] * 2)  # 58/60: lower bound 0.886
    arm, ev = promote(engine)
    assert arm.autonomy == "autopilot" and ev.decided == 60
    with Session(engine) as session:
        [change] = session.exec(select(AutonomyChange)).all()
    assert (change.subject, change.subject_id, change.from_autonomy, change.to_autonomy) == (
        "arm",
        "sales-styles/answer-first@v1",
        "draft",
        "autopilot",
    )
    assert change.actor == "Lena"


@pytest.mark.parametrize(
    ("states", "failing", "says"),
    [
        (["sent"] * 49, 0, "only 49 decided drafts; at least 50 are needed"),
        (["sent"] * 45 + ["edited"] * 15, 0, "45 of 60 sent unedited"),
        (["sent"] * 58 + ["edited"] * 2, 1, "1 of its last 50 drafts failed a guardrail"),
        (["sent"] * 40 + ["replaced"] * 30, 0, "only 40 decided drafts"),  # replaced isn't decided
    ],
)
def test_refused_below_each_condition_naming_it(
    engine: Engine, states: list[str], failing: int, says: str
) -> None:
    seed(engine, states, failing=failing)
    with pytest.raises(promotion.PromotionError, match=says):
        promote(engine)
    with Session(engine) as session:
        assert arms.current_arm(session, "sales-styles", "answer-first").autonomy == "draft"  # type: ignore[union-attr]
        assert session.exec(select(AutonomyChange)).all() == []


def test_demotion_is_always_allowed(engine: Engine) -> None:
    seed(engine, ["skipped"] * 3)
    arm, _ = promote(engine, autonomy="draft")
    assert arm.autonomy == "draft"


@pytest.mark.parametrize(
    ("ev", "count"),
    [
        (Evidence(decided=50, sent_unedited=50, recent=50, recent_guardrail_failures=0), 0),
        (Evidence(decided=50, sent_unedited=44, recent=50, recent_guardrail_failures=0), 1),
        (Evidence(decided=10, sent_unedited=2, recent=10, recent_guardrail_failures=3), 3),
    ],
)
def test_shortfalls(ev: Evidence, count: int) -> None:
    assert len(shortfalls(ev, min_decided=50, min_approval=0.8)) == count


def test_the_cli_promotes_refuses_and_demotes(make_app: Any, engine: Engine) -> None:
    seed(engine, ["sent"] * 10)
    runner = make_app().test_cli_runner()
    refused = runner.invoke(args=["arm", "promote", REF, "--actor", "Lena"])
    assert refused.exit_code != 0 and "only 10 decided drafts" in refused.output
    assert runner.invoke(args=["arm", "promote", REF]).exit_code != 0  # --actor required
    unknown = runner.invoke(args=["arm", "demote", "sales-styles/nope", "--actor", "Lena"])
    assert unknown.exit_code != 0 and "no arm" in unknown.output
    demoted = runner.invoke(args=["arm", "demote", REF, "--actor", "Lena"])
    assert demoted.exit_code == 0 and "is now draft" in demoted.output
