"""Whom the bot answers and when it steps back, over the real payload shapes (issue 4)."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from tests.conftest import load_event
from tests.loop_harness import DEBOUNCE, T0, Loop
from workers.llm import Reply


def incoming(**conversation: Any) -> dict[str, Any]:
    payload = copy.deepcopy(load_event("message_created_incoming"))
    payload["conversation"].update(conversation)
    return payload


def template() -> dict[str, Any]:
    payload = incoming()
    payload.update(message_type="template", sender=None, content="Welcome to Acme!")
    return payload


def updated_incoming() -> dict[str, Any]:
    payload = incoming()
    payload["event"] = "message_updated"
    return payload


def plain_note() -> dict[str, Any]:
    payload = copy.deepcopy(load_event("message_created_private_note_by_agent"))
    payload["content"] = "Customer called earlier, be nice"
    return payload


def activity() -> dict[str, Any]:
    payload = incoming()
    payload.update(message_type="activity", sender=None, content="Conversation was reopened")
    return payload


NEVER = {
    "the bot's own echo": lambda: load_event("message_created_outgoing_bot"),
    "a template": template,
    "a private note that isn't a command": plain_note,
    "an activity message": activity,
    "message_updated": updated_incoming,
    "conversation_opened": lambda: load_event("conversation_opened"),
    "conversation_status_changed": lambda: load_event("conversation_status_changed"),
    "webwidget_triggered": lambda: load_event("webwidget_triggered"),
    "an open conversation": lambda: incoming(status="open", updated_at=1781774999.0),
    "a snoozed conversation": lambda: incoming(status="snoozed", updated_at=1781774999.0),
    "a resolved conversation": lambda: incoming(status="resolved", updated_at=1781774999.0),
}


@pytest.mark.parametrize("case", NEVER)
def test_never_cases_produce_no_claude_call(loop: Loop, case: str) -> None:
    loop.composer.add(Reply(bubbles=["should not be written"]))
    loop.deliver(NEVER[case]())
    loop.run(at=T0 + DEBOUNCE + 1)
    loop.run(at=T0 + 3600)
    assert loop.composer.prompts == []
    assert loop.drafts() == []
    assert loop.fake.posted == []


def test_autonomy_off_hands_new_conversations_to_humans_and_nothing_else(loop: Loop) -> None:
    loop.configure('[inboxes.12]\nautonomy = "off"\n')
    loop.customer_says("Hi, anyone there?", at=T0)
    loop.run(at=T0 + DEBOUNCE + 1)
    assert loop.composer.prompts == []
    assert loop.fake.statuses == ["open"]
    assert loop.fake.posted == []  # no note, no reply
