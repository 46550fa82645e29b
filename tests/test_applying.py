"""The webhook only stores; the worker applies a conversation's deliveries in arrival order,
whichever job runs first. On both databases."""

import copy
import json
import logging
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from chatwoot.events import parse_event
from chatwoot.values import PayloadError
from core.autonomy_levels import Autonomy
from core.config_store import ConfigStore
from core.db import session_scope
from core.models import Contact, Conversation, Delivery, Message
from core.store import store_delivery
from tests.conftest import load_event
from workers import routing
from workers.actions import Action, Touch

NOW = datetime(2026, 6, 18, 10, 0, tzinfo=UTC)
CONFIG = ConfigStore("absent.toml", Autonomy.DRAFT, required=False)


def message(number: int, contact_name: str) -> dict[str, Any]:
    payload = copy.deepcopy(load_event("message_created_incoming"))
    payload["id"] = 5000 + number
    payload["content"] = f"message {number}"
    payload["sender"]["name"] = contact_name
    payload["conversation"]["meta"]["sender"]["name"] = contact_name
    return payload


def stored(engine: Engine, payload: dict[str, Any], at: datetime = NOW) -> int:
    """As the webhook stores it: one INSERT, nothing applied."""
    with engine.begin() as connection:
        result = store_delivery(
            connection,
            key=f"d-{payload['id']}",
            event_name=payload["event"],
            body=json.dumps(payload),
            received_at=at,
            event=parse_event(payload),
        )
    return result.delivery_id


def route(engine: Engine, delivery_id: int) -> list[Action] | None:
    with session_scope(engine) as session:
        return routing.route(session, delivery_id, config=CONFIG, now=NOW)


def contact_name(engine: Engine) -> str | None:
    with Session(engine) as session:
        return session.exec(select(Contact.name)).one()


def applied(engine: Engine) -> list[bool]:
    with Session(engine) as session:
        rows = session.exec(select(Delivery).order_by(col(Delivery.id))).all()
        return [row.applied_at is not None for row in rows]


def test_the_webhook_stores_and_applies_nothing(engine: Engine) -> None:
    stored(engine, message(1, "Maya"))
    with Session(engine) as session:
        assert session.exec(select(Message)).all() == []
        assert session.exec(select(Conversation)).all() == []
    assert applied(engine) == [False]


def test_the_last_delivery_routed_first_applies_the_earlier_ones_before_it(
    engine: Engine,
) -> None:
    first = stored(engine, message(1, "Maya"), NOW)
    second = stored(engine, message(2, "Maya Chen"), NOW + timedelta(seconds=1))
    third = stored(engine, message(3, "Maya C."), NOW + timedelta(seconds=2))

    actions = route(engine, third)

    assert applied(engine) == [True, True, True]
    assert contact_name(engine) == "Maya C."  # the newest delivery's value, as it arrived
    assert actions and isinstance(actions[0], Touch)
    with Session(engine) as session:
        received = {m.id: m.received_at for m in session.exec(select(Message)).all()}
    # Each message keeps its own arrival time: the quiet period counts from it.
    assert received == {
        5001: NOW,
        5002: NOW + timedelta(seconds=1),
        5003: NOW + timedelta(seconds=2),
    }
    # The earlier jobs then run: nothing is applied twice, nothing moves back.
    route(engine, first)
    route(engine, second)
    assert contact_name(engine) == "Maya C."


def test_another_conversations_deliveries_are_left_to_their_own_jobs(engine: Engine) -> None:
    other = message(1, "Sam")
    other["conversation"]["id"] = 9999
    stored(engine, other)
    mine = stored(engine, message(2, "Maya"))
    route(engine, mine)
    assert applied(engine) == [False, True]


def test_an_earlier_delivery_that_cannot_be_applied_does_not_block_the_conversation(
    engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    broken = stored(engine, message(1, "Maya"))
    later = stored(engine, message(2, "Maya Chen"))
    with session_scope(engine) as session:
        row = session.get(Delivery, broken)
        assert row is not None
        row.body = '{"event": "message_created"}'  # unreadable now, however that happened

    with caplog.at_level(logging.WARNING, logger="core.store"):
        actions = route(engine, later)

    assert actions and isinstance(actions[0], Touch)
    assert applied(engine) == [False, True]
    assert f"delivery {broken} could not be applied before delivery {later}" in caplog.text
    with pytest.raises(PayloadError):  # its own job fails, is counted, and in the end parked
        route(engine, broken)
