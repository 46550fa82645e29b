"""Arms at work: sticky per contact, in the prompt, lowering autonomy (issue 6)."""

from __future__ import annotations

import copy
import random
from datetime import UTC, datetime
from typing import Any

from sqlmodel import Session, select

from core.db import session_scope
from core.models import Assignment
from experiments import arms
from tests.conftest import load_event
from tests.loop_harness import DEBOUNCE, T0, Loop
from workers import runtime
from workers.llm import Reply

NOW = datetime(2026, 6, 18, 9, 0, tzinfo=UTC)


def with_experiment(loop: Loop, autonomy: str = "draft") -> None:
    loop.configure(f'[inboxes.12]\nautonomy = "{autonomy}"\nexperiment = "sales-styles"\n')
    with session_scope(loop.engine) as session:
        arms.sync(session, arms.load_file(), now=NOW)
    runtime.worker_context().rng = random.Random(3)


def conversation_of_the_same_contact(loop: Loop, display_id: int, text: str, at: float) -> None:
    payload = copy.deepcopy(load_event("message_created_incoming"))
    payload["id"] = 970_000 + display_id
    payload["content"] = text
    payload["conversation"]["id"] = display_id
    loop.clock.now = at
    loop.deliver(payload)


def test_a_returning_contact_keeps_their_arm_even_across_a_new_version(loop: Loop) -> None:
    with_experiment(loop)
    loop.composer.add(Reply(bubbles=["Hi!"]))
    loop.composer.add(Reply(bubbles=["Welcome back!"]))
    loop.composer.add(Reply(bubbles=["Hello again!"]))
    loop.customer_says("Hi, tents?", at=T0)
    loop.run(at=T0 + DEBOUNCE + 1)
    with Session(loop.engine) as session:
        [assignment] = session.exec(select(Assignment)).all()
    first_arm = loop.drafts()[0].arm_id
    assert first_arm == assignment.arm_id and 0 < assignment.probability <= 1

    conversation_of_the_same_contact(loop, 1500, "Back again!", T0 + 1000)
    loop.run(at=T0 + 1000 + DEBOUNCE + 1)
    assert loop.drafts()[1].arm_id == first_arm  # same arm, same version

    # The arm's text changes: a new version; the contact follows it.
    specs = arms.load_file()
    [spec] = specs
    edited = [
        a if a.key != assignment.arm_key else type(a)(**{**a.__dict__, "instructions": "New!"})
        for a in spec.arms
    ]
    with session_scope(loop.engine) as session:
        arms.sync(session, [type(spec)(**{**spec.__dict__, "arms": tuple(edited)})], now=NOW)
    conversation_of_the_same_contact(loop, 1501, "Me again", T0 + 2000)
    loop.run(at=T0 + 2000 + DEBOUNCE + 1)
    with Session(loop.engine) as session:
        assert len(session.exec(select(Assignment)).all()) == 1  # never reassigned
        new = arms.current_arm(session, "sales-styles", assignment.arm_key)
    assert new is not None and new.version == 2
    assert loop.drafts()[2].arm_id == new.id


def test_the_arm_text_reaches_the_prompt(loop: Loop) -> None:
    with_experiment(loop)
    loop.composer.add(Reply(bubbles=["Hi!"]))
    loop.customer_says("Hi, tents?", at=T0)
    loop.run(at=T0 + DEBOUNCE + 1)
    with Session(loop.engine) as session:
        assignment = session.exec(select(Assignment)).one()
        arm = arms.current_arm(session, "sales-styles", assignment.arm_key)
    assert arm is not None
    playbook = loop.composer.prompts[0].playbook
    if arm.instructions:
        assert arm.instructions in playbook
    else:
        assert "For this customer" not in playbook  # the control adds nothing


def test_an_arm_in_draft_keeps_an_autopilot_inbox_to_drafts(loop: Loop) -> None:
    with_experiment(loop, autonomy="autopilot")
    loop.composer.add(Reply(bubbles=["Yes, it fits two."]))
    payload = copy.deepcopy(load_event("message_created_incoming"))  # nobody assigned
    loop.clock.now = T0
    loop.deliver(payload)
    loop.run(at=T0 + DEBOUNCE + 1)
    assert loop.fake.public() == []
    assert "Draft D" in loop.fake.notes()[0]


def labelled(labels: list[str], updated_at: float, deal_value: object = None) -> dict[str, object]:
    payload = copy.deepcopy(load_event("conversation_status_changed"))
    payload.update(event="conversation_updated", status="pending", labels=labels)
    payload["updated_at"] = updated_at
    payload["custom_attributes"] = {} if deal_value is None else {"deal_value": deal_value}
    return payload


def test_stale_and_repeated_label_events_count_once(loop: Loop) -> None:
    from experiments.enrolment import arm_stats

    with_experiment(loop)
    loop.composer.add(Reply(bubbles=["Hi!"]))
    loop.customer_says("Hi, tents?", at=T0)
    loop.run(at=T0 + DEBOUNCE + 1)
    with Session(loop.engine) as session:
        key = session.exec(select(Assignment)).one().arm_key

    def stats() -> tuple[int, int]:
        with Session(loop.engine) as session:
            [mine] = [s for s in arm_stats(session, "sales-styles", [key]) if s.key == key]
        return mine.conversions, mine.trials

    sold = labelled(["sold"], 1781780000.0, deal_value="458.00")
    loop.deliver(sold)
    loop.deliver(sold)  # repeated
    loop.run()
    assert stats() == (1, 1)
    loop.deliver(labelled([], 1781779000.0))  # stale: older than the sale
    loop.run()
    assert stats() == (1, 1)
    assert loop.conversation().custom_attributes == {"deal_value": "458.00"}
    loop.deliver(labelled([], 1781790000.0))  # newer: the label was removed
    loop.run()
    assert stats() == (0, 0)


def test_outcome_reads_conversion_value_and_loss() -> None:
    from decimal import Decimal

    from core.models import Conversation
    from experiments.outcomes import outcome

    def conv(**fields: Any) -> Conversation:
        return Conversation(account_id=3, display_id=1, first_seen_at=NOW, **fields)

    assert outcome(conv(labels=["sold"], custom_attributes={"deal_value": "458"})).value == Decimal(
        "458"
    )
    assert outcome(conv(labels=["sold"], custom_attributes={"deal_value": "lots"})).value is None
    lost = outcome(conv(labels=[], status="resolved"))
    assert lost.lost and not lost.converted and lost.known
    assert not outcome(conv(labels=["vip"], status="open")).known


def test_promotion_and_demotion_take_effect_on_the_next_reply(loop: Loop) -> None:
    from experiments import promotion

    with_experiment(loop, autonomy="autopilot")

    def customer(text: str, at: float, message_id: int) -> None:
        payload = copy.deepcopy(load_event("message_created_incoming"))  # nobody assigned
        payload.update(id=message_id, content=text)
        loop.clock.now = at
        loop.deliver(payload)
        loop.run(at=at + DEBOUNCE + 1)

    loop.composer.add(Reply(bubbles=["First."]))
    customer("Hi", T0, 980_001)
    assert loop.fake.public() == []  # the arm is in draft
    loop.rep_types("/send")
    loop.run()
    with session_scope(loop.engine) as session:
        key = session.exec(select(Assignment)).one().arm_key
        arms.current_arm(session, "sales-styles", key).autonomy = "autopilot"  # type: ignore[union-attr]
    loop.composer.add(Reply(bubbles=["Second."]))
    customer("And?", T0 + 100, 980_002)
    assert loop.fake.public()[-1] == "Second. 🤖"
    with session_scope(loop.engine) as session:
        promotion.set_autonomy(
            session,
            f"sales-styles/{key}",
            "draft",
            actor="Lena",
            now=NOW,
            min_decided=50,
            min_approval=0.8,
        )
    loop.composer.add(Reply(bubbles=["Third."]))
    customer("More?", T0 + 200, 980_003)
    assert loop.fake.public()[-1] == "Second. 🤖"  # demoted: a draft again
    assert "Third." in loop.fake.notes()[-1]
