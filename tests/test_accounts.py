"""Every action goes to the conversation's own account, taken from the event (issue 10, #10).

A bot token works in its own account and in every account where the bot is attached to an
inbox (CONTRACT-NEXT §A), so one Wingman can serve several accounts. ``CHATWOOT_ACCOUNT_IDS``
only limits which ones it serves: events from the others are stored, logged once per
account and never acted on.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from redis import Redis
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from core.models import Delivery
from tests.world import DEBOUNCE, MAX_WAIT, World, build_world
from workers import routing
from workers.llm import Reply


def world_in(
    account: int, env: dict[str, str], request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[World]:
    return build_world(
        engine=request.getfixturevalue("engine"),
        redis_conn=request.getfixturevalue("redis_conn"),
        redis_url=request.getfixturevalue("redis_url"),
        tmp_path=tmp_path,
        monkeypatch=request.getfixturevalue("monkeypatch"),
        account=account,
        env=env,
    )


@pytest.fixture
def world58(
    engine: Engine, redis_conn: Redis, request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[World]:
    """Chatwoot account 58; Wingman serves whatever account its events come from."""
    yield from world_in(58, {"CHATWOOT_ACCOUNT_ID": ""}, request, tmp_path)


@pytest.fixture
def world58_not_served(
    engine: Engine, redis_conn: Redis, request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[World]:
    """Chatwoot account 58, but Wingman is limited to account 3."""
    yield from world_in(58, {"CHATWOOT_ACCOUNT_IDS": "3"}, request, tmp_path)


def test_a_conversation_is_answered_in_its_own_account(world58: World) -> None:
    world = world58
    world.composer.add(Reply(bubbles=["Yes, it fits two."]))
    conversation, _ = world.customer_says("Does the Trail Tent 2P fit two?")
    world.deliver()
    world.advance(DEBOUNCE + 1)
    world.run()
    world.settle()
    [note] = world.notes(conversation)
    assert "Yes, it fits two." in note
    world.rep_note(conversation, "/send")
    world.settle()
    assert world.public(conversation) == ["Yes, it fits two."]


def test_events_from_an_account_not_served_are_stored_logged_once_and_never_acted_on(
    world58_not_served: World, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    world = world58_not_served
    monkeypatch.setattr(routing, "_NOT_SERVED_LOGGED", set())  # once per process
    conversation, _ = world.customer_says("Does the Trail Tent 2P fit two?")
    world.customer_says("Hello?", conversation=conversation)
    world.deliver()
    world.rep_note(conversation, "/bot off")
    world.deliver()
    with caplog.at_level(logging.WARNING, logger="workers.routing"):
        world.run()
        world.advance(MAX_WAIT + DEBOUNCE)
        world.periodic()
        world.settle()
    with Session(world.engine) as session:
        stored = session.exec(select(Delivery.account_id)).all()
    assert stored and set(stored) == {58}
    assert world.composer.prompts == []
    assert world.notes(conversation) == [] and world.public(conversation) == []
    warnings = [r.getMessage() for r in caplog.records if "account 58" in r.getMessage()]
    assert len(warnings) == 1 and "CHATWOOT_ACCOUNT_IDS" in warnings[0]
