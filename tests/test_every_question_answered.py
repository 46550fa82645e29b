"""Every customer message gets an answer: the bot's own bubbles answer exactly the messages
their draft covered, and only a human's reply answers whatever it follows (issue 10, #1).

Chatwoot echoes each bubble the bot posts as a webhook. A question the customer asked while
a draft waited for approval, or while Claude was writing it, is older than that echo but
was never put to Claude; it must still get its own draft.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

from tests.conftest import load_event
from tests.loop_harness import DEBOUNCE, MAX_WAIT, T0, Loop
from tests.test_autopilot import autopilot, unassigned
from workers import jobs
from workers.llm import Prompt, Reply


def bot_echo(loop: Loop, content: str, *, at: float) -> None:
    """Chatwoot's webhook for a bubble the bot posted, delivered at ``at``."""
    from datetime import UTC, datetime

    payload = copy.deepcopy(load_event("message_created_outgoing_bot"))
    payload["id"] = int(loop.fake.posted[-1]["id"])
    payload["content"] = content
    payload["created_at"] = datetime.fromtimestamp(at, UTC).isoformat()
    loop.clock.now = max(loop.clock.now, at)
    loop.deliver(payload)


def test_a_question_asked_while_a_draft_waits_gets_its_own_draft_after_send(loop: Loop) -> None:
    loop.composer.add(Reply(bubbles=["Yes, two standard pads fit."]))
    loop.composer.add(Reply(bubbles=["Returns are free within 60 days."]))
    first = loop.customer_says("Does the Trail Tent 2P fit two?", at=T0)
    loop.run(at=T0 + DEBOUNCE + 1)
    [d1] = loop.drafts()
    second = loop.customer_says("And what's the return window?", at=T0 + 40)
    loop.clock.now = T0 + 45  # the rep approves within the new quiet period
    loop.rep_types("/send")
    loop.run()
    assert loop.fake.public() == ["Yes, two standard pads fit."]
    bot_echo(loop, "Yes, two standard pads fit.", at=T0 + 46)
    loop.run(at=T0 + 40 + DEBOUNCE + 1)
    assert len(loop.composer.prompts) == 2
    d1_after, d2 = loop.drafts()
    assert d1_after.id == d1.id and d1_after.state == "sent"
    assert loop.covered(d1.id) == {first}
    assert loop.covered(d2.id) == {second}
    assert d2.state == "pending"


def test_the_sweeper_rescues_a_question_left_behind_by_an_echo(loop: Loop, redis_conn: Any) -> None:
    loop.composer.add(Reply(bubbles=["Yes, two standard pads fit."]))
    loop.customer_says("Does the Trail Tent 2P fit two?", at=T0)
    loop.run(at=T0 + DEBOUNCE + 1)
    loop.customer_says("And what's the return window?", at=T0 + 40)
    loop.clock.now = T0 + 45
    loop.rep_types("/send")
    loop.run()
    bot_echo(loop, "Yes, two standard pads fit.", at=T0 + 46)
    redis_conn.flushdb()  # the second question's timer is lost
    loop.clock.now = T0 + 40 + MAX_WAIT + 1
    assert jobs.sweep_replies() == 1


def test_on_autopilot_a_question_asked_while_claude_writes_is_answered_next(
    loop: Loop,
) -> None:
    autopilot(loop)

    class Interrupted:
        """Claude takes its time; the customer writes again meanwhile."""

        def __init__(self) -> None:
            self.prompts: list[Prompt] = []

        def compose(self, prompt: Prompt) -> Reply:
            self.prompts.append(prompt)
            if len(self.prompts) == 1:
                unassigned(loop, "And what's the return window?", T0 + DEBOUNCE + 2)
                return Reply(bubbles=["Yes, two standard pads fit."])
            return Reply(bubbles=["Returns are free within 60 days."])

    composer = Interrupted()
    loop.composer = composer  # type: ignore[assignment]
    from workers import runtime

    runtime.worker_context().composer = composer
    unassigned(loop, "Does the Trail Tent 2P fit two?", T0)
    loop.run(at=T0 + DEBOUNCE + 1)
    assert loop.fake.public() == ["Yes, two standard pads fit. 🤖"]
    bot_echo(loop, "Yes, two standard pads fit. 🤖", at=T0 + DEBOUNCE + 3)
    loop.run(at=T0 + 2 * DEBOUNCE + 3)
    assert len(composer.prompts) == 2
    assert loop.fake.public() == [
        "Yes, two standard pads fit. 🤖",
        "Returns are free within 60 days.",
    ]


@pytest.mark.parametrize("from_phone", [False, True])
def test_a_humans_reply_answers_what_it_follows(loop: Loop, from_phone: bool) -> None:
    loop.customer_says("Does the Trail Tent 2P fit two?", at=T0)
    loop.human_says("Daniel here: yes, it does!", from_phone=from_phone)
    loop.run(at=T0 + DEBOUNCE + 1)
    assert loop.composer.prompts == []
    loop.clock.now = T0 + MAX_WAIT + 1
    assert jobs.sweep_replies() == 0
