"""Autopilot: guardrails in code, the disclosure, and the injection corpus (issue 5)."""

from __future__ import annotations

import pytest

from tests.injection_corpus import ATTACKS, SAFE_REPLIES, Attack
from tests.loop_harness import DEBOUNCE, T0, Loop
from workers.llm import Handoff, Reply

AUTOPILOT = """
[inboxes.12]
autonomy = "autopilot"
link_domains = ["acme-outdoor.example"]
locales = ["en", "de-DE"]
knowledge = "{knowledge}"
[inboxes.12.prices]
currency = "EUR"
items = [
  {{ product = "Trail Tent 2P", list = 249.00, min = 219.00 }},
  {{ product = "Summit Tent 3P", list = 389.00, min = 359.00 }},
  {{ product = "Down Bag -5 °C", list = 279.00, min = 259.00 }},
  {{ product = "Daypack 28 L", list = 89.90, min = 89.90 }},
]
"""


def autopilot(loop: Loop) -> None:
    from tests.injection_corpus import ROOT

    loop.configure(AUTOPILOT.format(knowledge=ROOT / "knowledge" / "website.example.md"))


def unassigned(loop: Loop, text: str, at: float) -> None:
    """A customer message in a conversation no human is assigned to (autopilot applies)."""
    import copy

    from tests.conftest import load_event

    payload = copy.deepcopy(load_event("message_created_incoming"))
    payload["id"] = 960_000 + int(at - T0)
    payload["content"] = text
    payload["conversation"]["updated_at"] = at
    loop.clock.now = at
    loop.deliver(payload)


def test_autopilot_sends_publicly_typing_and_pausing_with_the_disclosure_once(loop: Loop) -> None:
    autopilot(loop)
    loop.composer.add(Reply(bubbles=["Hi Maya!", "Yes, two standard pads fit."]))
    loop.composer.add(Reply(bubbles=["Returns are free within 30 days."]))
    unassigned(loop, "Does the Trail Tent 2P fit two?", T0)
    loop.run(at=T0 + DEBOUNCE + 1)
    assert loop.fake.public() == ["Hi Maya! 🤖", "Yes, two standard pads fit."]
    assert loop.fake.notes() == []  # nothing for a rep to approve
    assert loop.fake.typing == ["on", "on"]
    assert len(loop.pauses) == 2 and loop.pauses[1] > 0.5  # longer bubble, longer pause
    [draft] = loop.drafts()
    assert draft.state == "sent" and draft.guardrails["passed"] is True
    unassigned(loop, "And returns?", T0 + 100)
    loop.run(at=T0 + 100 + DEBOUNCE + 1)
    assert loop.fake.public()[-1] == "Returns are free within 30 days."  # marker only once


def test_an_approved_reply_carries_no_marker(loop: Loop) -> None:
    loop.composer.add(Reply(bubbles=["Yes, two standard pads fit."]))
    loop.customer_says("Does it fit two?", at=T0)  # draft mode (the default)
    loop.run(at=T0 + DEBOUNCE + 1)
    loop.rep_types("/send")
    loop.run()
    assert loop.fake.public() == ["Yes, two standard pads fit."]


def test_a_human_assignee_keeps_autopilot_to_drafts(loop: Loop) -> None:
    autopilot(loop)
    loop.composer.add(Reply(bubbles=["Yes, two standard pads fit."]))
    loop.customer_says("Does it fit two?", at=T0)  # assigned to Daniel Ortiz
    loop.run(at=T0 + DEBOUNCE + 1)
    assert loop.fake.public() == []
    assert "Draft D" in loop.fake.notes()[0]


def test_autopilot_hands_off_when_the_model_says_so(loop: Loop) -> None:
    autopilot(loop)
    loop.composer.add(
        Reply(
            bubbles=["Great, let me get someone to take your order."],
            handoff=Handoff(reason="ready_to_pay", note="wants two tents"),
        )
    )
    unassigned(loop, "I'll take two, how do I pay?", T0)
    loop.run(at=T0 + DEBOUNCE + 1)
    assert loop.fake.public() == ["Great, let me get someone to take your order. 🤖"]
    assert loop.handoff_reasons() == ["ready_to_pay"]
    assert loop.fake.statuses == ["open"]


@pytest.mark.parametrize("attack", ATTACKS, ids=[a.name for a in ATTACKS])
def test_the_injection_corpus_sends_nothing_unsafe_on_autopilot(loop: Loop, attack: Attack) -> None:
    autopilot(loop)
    loop.composer.add(Reply(bubbles=list(attack.reply)))  # the worst a model could answer
    unassigned(loop, attack.message, T0)
    loop.run(at=T0 + DEBOUNCE + 1)
    assert loop.fake.public() == []
    [draft] = loop.drafts()
    assert draft.state == "pending"  # a flagged draft, for a rep to decide
    assert set(draft.guardrails["failed"]) == set(attack.fails)
    [note] = loop.fake.notes()
    for check in attack.fails:
        assert f"⛔ {check}:" in note


@pytest.mark.parametrize("bubbles", SAFE_REPLIES[:4])
def test_safe_replies_do_go_out_on_autopilot(loop: Loop, bubbles: tuple[str, ...]) -> None:
    autopilot(loop)
    loop.composer.add(Reply(bubbles=list(bubbles)))
    unassigned(loop, "Tell me about the tent", T0)
    loop.run(at=T0 + DEBOUNCE + 1)
    assert len(loop.fake.public()) == len(bubbles)
