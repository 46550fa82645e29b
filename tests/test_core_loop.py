"""The core loop end to end: webhook → real Redis → real RQ worker and scheduler → draft note
→ /send → public messages, on SQLite and Postgres (see tests/loop_harness.py)."""

from __future__ import annotations

import logging
import re
import time

import pytest
from rq.serializers import JSONSerializer
from sqlmodel import Session, select

from core.models import Draft, OutboxItem
from tests.loop_harness import DEBOUNCE, MAX_WAIT, T0, Loop
from workers import runtime
from workers.llm import Prompt, Reply
from workers.queue import make_queues
from workers.worker import WingmanSimpleWorker


def reply(*bubbles: str) -> Reply:
    return Reply(bubbles=list(bubbles))


def test_a_burst_gives_one_claude_call_and_one_tagged_note_mentioning_the_assignee(
    loop: Loop,
) -> None:
    loop.composer.add(reply("Hi Maya!", "Yes, two standard pads fit.", "Where are you headed?"))
    first = loop.customer_says("Hi! Does the Trail Tent 2P fit two?", at=T0)
    second = loop.customer_says("With full-size pads I mean", at=T0 + 4)
    third = loop.customer_says("And what's the return window?", at=T0 + 9)
    loop.run(at=T0 + 20)  # still typing, as far as we know
    assert loop.composer.prompts == []
    loop.run(at=T0 + 9 + DEBOUNCE)
    [prompt] = loop.composer.prompts
    assert isinstance(prompt, Prompt)
    assert [turn.text for turn in prompt.history][-3:] == [
        "Hi! Does the Trail Tent 2P fit two?",
        "With full-size pads I mean",
        "And what's the return window?",
    ]
    [draft] = loop.drafts()
    assert draft.state == "pending"
    assert loop.covered(draft.id) == {first, second, third}
    [note] = loop.fake.notes()
    assert f"Draft D{draft.id}" in note
    assert "[@Daniel Ortiz](mention://user/21/Daniel%20Ortiz)" in note
    assert "Hi Maya!\n\nYes, two standard pads fit.\n\nWhere are you headed?" in note
    assert loop.fake.public() == []


def test_the_quiet_period_runs_on_wingmans_clock_whatever_chatwoots_says(loop: Loop) -> None:
    loop.composer.add(reply("Hi!"))
    loop.customer_says("Hello?", at=T0, chatwoot_skew=-3600)  # Chatwoot's clock an hour behind
    loop.run(at=T0 + DEBOUNCE / 2)
    assert loop.composer.prompts == []
    loop.run(at=T0 + DEBOUNCE + 1)
    assert len(loop.composer.prompts) == 1


def test_each_reply_logs_how_late_its_timer_fired_and_where_its_time_went(
    loop: Loop, caplog: pytest.LogCaptureFixture
) -> None:
    loop.composer.add(reply("Hi!"))
    loop.customer_says("Hello?", at=T0)
    with caplog.at_level(logging.INFO, logger="workers.jobs"):
        loop.run(at=T0 + DEBOUNCE + 2)
    [line] = [r.getMessage() for r in caplog.records if "reply started" in r.getMessage()]
    found = re.search(
        r"reply started (\d+) ms after it was due \(queued at -?\d+ ms\); written and posted "
        r"in (\d+) ms \(Claude (\d+) ms, Wingman (\d+) ms\)",
        line,
    )
    assert found, line
    late, took, claude, ours = map(int, found.groups())
    assert late == 2000  # the loop's clock stood still while the job ran
    assert took >= claude and abs(took - claude - ours) <= 1


def test_max_wait_stops_endless_postponement(loop: Loop) -> None:
    loop.composer.add(reply("Hi!"))
    for offset in range(0, 140, 20):  # a message every 20 s, never quiet for 30 s
        loop.customer_says(f"message at +{offset}s", at=T0 + offset)
        loop.run(at=T0 + offset)
        if loop.composer.prompts:
            break
    assert len(loop.composer.prompts) == 1
    assert T0 + MAX_WAIT <= loop.clock.now < T0 + MAX_WAIT + 20


def draft_ready(loop: Loop, *bubbles: str) -> Draft:
    loop.composer.add(reply(*bubbles))
    loop.customer_says("Does it fit two?", at=T0)
    loop.run(at=T0 + DEBOUNCE + 1)
    [draft] = loop.drafts()
    return draft


def test_send_twice_with_chatwoot_failing_the_first_post_sends_once(loop: Loop) -> None:
    draft = draft_ready(loop, "Yes, it fits two!", "Anything else?")
    loop.fake.fail_next = [429]  # rate limited: nothing was created, so it is posted again
    loop.rep_types("/send")
    loop.rep_types("/send")
    time.sleep(1.1)  # the outbox retry is due (RQ's scheduler counts whole seconds)
    loop.run()
    assert loop.fake.public() == ["Yes, it fits two!", "Anything else?"]
    [sent] = loop.drafts()
    assert sent.id == draft.id and sent.state == "sent" and sent.edit_distance == 0
    assert sent.sent_at is not None and sent.decided_at is not None
    assert "There is no draft waiting" in loop.fake.notes()[-1]


def test_send_with_text_sends_the_reps_words_and_records_the_edit(loop: Loop) -> None:
    draft_ready(loop, "Yes, it fits two!")
    loop.rep_types("/send Yes, it fits two adults!\n\nWant the footprint too?")
    loop.run()
    assert loop.fake.public() == ["Yes, it fits two adults!", "Want the footprint too?"]
    [draft] = loop.drafts()
    assert draft.state == "edited"
    assert draft.sent_text == "Yes, it fits two adults!\n\nWant the footprint too?"
    assert draft.edit_distance is not None and 0 < draft.edit_distance < 1


def test_skip_discards_and_sends_nothing(loop: Loop) -> None:
    draft = draft_ready(loop, "Yes!")
    loop.rep_types("/skip")
    loop.run()
    [skipped] = loop.drafts()
    assert skipped.state == "skipped" and skipped.decided_at is not None
    assert loop.fake.public() == []
    loop.rep_types(f"/send D{draft.id}")
    loop.run()
    assert loop.fake.public() == []
    assert f"D{draft.id} was skipped" in loop.fake.notes()[-1]


def test_redo_writes_a_new_draft_with_the_hint_that_replaces_the_old(loop: Loop) -> None:
    first = draft_ready(loop, "Yes!")
    loop.composer.add(reply("Yes, and it has two doors!"))
    loop.rep_types("/redo mention the two doors")
    loop.run()
    assert loop.composer.prompts[-1].hint == "mention the two doors"
    old, new = loop.drafts()
    assert (old.id, old.state) == (first.id, "replaced")
    assert new.state == "pending" and new.hint == "mention the two doors"
    assert loop.covered(new.id) == loop.covered(old.id)
    loop.rep_types(f"/send D{old.id}")
    loop.run()
    assert f"D{old.id} was replaced" in loop.fake.notes()[-1]
    assert f"The current draft is D{new.id}" in loop.fake.notes()[-1]
    assert loop.fake.public() == []


def test_unknown_command_lists_the_valid_ones(loop: Loop) -> None:
    draft_ready(loop, "Yes!")
    loop.rep_types("/approve")
    loop.run()
    assert "Unknown command /approve" in loop.fake.notes()[-1]
    assert "/send" in loop.fake.notes()[-1]


def test_a_message_during_generation_gets_exactly_one_follow_up(loop: Loop) -> None:
    later: list[int] = []

    class TypingWhileWeThink:
        calls = 0

        def compose(self, prompt: Prompt) -> Reply:
            self.calls += 1
            if self.calls == 1:
                later.append(loop.customer_says("Oh, and is it freestanding?", at=T0 + 35))
                # Its delivery is processed meanwhile, by another worker.
                WingmanSimpleWorker(
                    make_queues(loop.queue.connection),
                    connection=loop.queue.connection,
                    serializer=JSONSerializer,
                ).work(burst=True)
            return loop.composer.compose(prompt)

    runtime.worker_context().composer = TypingWhileWeThink()
    loop.composer.add(reply("Yes, it fits two!"))
    loop.composer.add(reply("Yes, it fits two, and it's freestanding!"))
    first_message = loop.customer_says("Does it fit two?", at=T0)
    loop.run(at=T0 + DEBOUNCE + 1)
    assert len(loop.composer.prompts) == 1
    loop.run(at=T0 + 35 + DEBOUNCE + 1)
    loop.run(at=T0 + 300)
    assert len(loop.composer.prompts) == 2  # exactly one follow-up
    first, follow_up = loop.drafts()
    assert first.state == "replaced" and follow_up.state == "pending"
    assert loop.covered(follow_up.id) == {first_message, *later}


def test_claude_failing_hands_off_with_a_note(loop: Loop) -> None:
    from workers.llm import ComposerError

    loop.composer.add(ComposerError("overloaded after 3 attempts", transient=True))
    loop.customer_says("Hello?", at=T0)
    loop.run(at=T0 + DEBOUNCE + 1)
    [draft] = loop.drafts()
    assert draft.state == "failed" and "overloaded" in (draft.failure or "")
    assert "Claude didn't answer" in loop.fake.notes()[-1]
    assert loop.fake.statuses == ["open"]
    assert loop.fake.public() == []
    with Session(loop.engine) as session:
        states = set(session.exec(select(OutboxItem.state)))
    assert states == {"sent"}


def test_a_returning_customer_brings_their_earlier_conversation_as_context(loop: Loop) -> None:
    import copy

    from tests.conftest import load_event

    loop.composer.add(reply("Yes, it fits two!"))
    loop.composer.add(reply("Welcome back, Maya!"))
    loop.customer_says("Does the Trail Tent 2P fit two?", at=T0)
    loop.run(at=T0 + DEBOUNCE + 1)
    loop.rep_types("/send")
    loop.run()
    echo = copy.deepcopy(load_event("message_created_outgoing_bot"))  # the bot's reply, stored
    echo.update(id=990_500, content="Yes, it fits two!")
    loop.deliver(echo)
    later = copy.deepcopy(load_event("message_created_incoming"))  # weeks later, a new one
    later.update(id=990_501, content="Hi again, do you have the 3P in stock?")
    later["conversation"]["id"] = 1600
    loop.clock.now = T0 + 30 * 86400
    loop.deliver(later)
    loop.run(at=T0 + 30 * 86400 + DEBOUNCE + 1)
    first_turn = loop.composer.prompts[1].history[0]
    assert first_turn.role == "user"
    assert first_turn.text.startswith("[Earlier conversations with this customer")
    assert "Customer: Does the Trail Tent 2P fit two?" in first_turn.text
    assert "Us: Yes, it fits two!" in first_turn.text
    assert loop.composer.prompts[1].history[-1].text == "Hi again, do you have the 3P in stock?"


def test_warming_up_reads_the_reply_path_and_writes_nothing(loop: Loop) -> None:
    with Session(loop.engine) as session:
        before = [len(session.exec(select(table)).all()) for table in (Draft, OutboxItem)]
    runtime.warm_up()
    with Session(loop.engine) as session:
        assert [len(session.exec(select(table)).all()) for table in (Draft, OutboxItem)] == before
    loop.composer.add(reply("Hi!"))
    loop.customer_says("Hello?", at=T0)
    loop.run(at=T0 + DEBOUNCE + 1)
    assert len(loop.drafts()) == 1  # and the reply path still works after it
