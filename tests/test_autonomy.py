"""The inbox's runtime autonomy lives in the database, audited; the CLI sets it (issue 5)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from core.autonomy import inbox_autonomy, set_inbox_autonomy
from core.autonomy_levels import Autonomy
from core.config_store import ConfigStore
from core.db import session_scope
from core.models import AutonomyChange
from tests.loop_harness import DEBOUNCE, T0, Loop
from workers.llm import Reply

NOW = datetime(2026, 6, 18, 9, 0, tzinfo=UTC)


def test_the_database_wins_over_the_config_and_every_change_is_audited(engine: Engine) -> None:
    config = ConfigStore("absent.toml", Autonomy.DRAFT, required=False)
    with session_scope(engine) as session:
        assert inbox_autonomy(session, 12, config) is Autonomy.DRAFT
        before = set_inbox_autonomy(
            session, 12, Autonomy.AUTOPILOT, actor="Lena", now=NOW, config=config
        )
        assert before is Autonomy.DRAFT
    with session_scope(engine) as session:
        assert inbox_autonomy(session, 12, config) is Autonomy.AUTOPILOT
        set_inbox_autonomy(session, 12, Autonomy.OFF, actor="Daniel", now=NOW, config=config)
    with Session(engine) as session:
        audit = [
            (c.subject, c.subject_id, c.from_autonomy, c.to_autonomy, c.actor)
            for c in session.exec(select(AutonomyChange).order_by(AutonomyChange.id))  # type: ignore[arg-type]
        ]
    assert audit == [
        ("inbox", "12", "draft", "autopilot", "Lena"),
        ("inbox", "12", "autopilot", "off", "Daniel"),
    ]


def test_the_cli_needs_an_actor_and_switches_the_inbox(make_app: Any, engine: Engine) -> None:
    runner = make_app().test_cli_runner()
    refused = runner.invoke(args=["inbox", "set", "12", "autopilot"])
    assert refused.exit_code != 0 and "--actor" in refused.output
    bad = runner.invoke(args=["inbox", "set", "12", "yolo", "--actor", "Lena"])
    assert bad.exit_code != 0 and "yolo" in bad.output
    done = runner.invoke(args=["inbox", "set", "12", "off", "--actor", "Lena"])
    assert done.exit_code == 0, done.output
    assert "draft → off (by Lena)" in done.output
    with Session(engine) as session:
        assert len(session.exec(select(AutonomyChange)).all()) == 1


def test_switching_an_inbox_off_at_runtime_takes_effect_on_the_next_message(
    loop: Loop, make_app: Any
) -> None:
    loop.composer.add(Reply(bubbles=["Hi!"]))
    runner = make_app().test_cli_runner()
    assert runner.invoke(args=["inbox", "set", "12", "off", "--actor", "Lena"]).exit_code == 0
    loop.customer_says("Hello?", at=T0)
    loop.run(at=T0 + DEBOUNCE + 1)
    assert loop.composer.prompts == []
    assert loop.fake.statuses == ["open"]
