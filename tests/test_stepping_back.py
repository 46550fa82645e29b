"""Whom the bot answers and when it steps back, over the real payload shapes (issue 4)."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest

from tests.conftest import load_event
from tests.loop_harness import DEBOUNCE, MAX_WAIT, T0, Loop
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


NEVER: dict[str, Callable[[], dict[str, Any]]] = {
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


def pending_draft(loop: Loop, *bubbles: str) -> None:
    loop.composer.add(Reply(bubbles=list(bubbles)))
    loop.customer_says("Does the Trail Tent fit two?", at=T0)
    loop.run(at=T0 + DEBOUNCE + 1)
    [draft] = loop.drafts()
    assert draft.state == "pending"


@pytest.mark.parametrize(
    ("typed", "state"),
    [
        ("Yes, it fits two adults!", "sent"),
        ("yes, it fits two adults", "edited"),
        ("Yes, it fits two adults :)", "edited"),
    ],
)
def test_a_copied_draft_counts_as_sent_or_edited_and_the_bot_stays_on(
    loop: Loop, typed: str, state: str
) -> None:
    pending_draft(loop, "Yes, it fits two adults!")
    loop.human_says(typed)
    loop.run()
    [draft] = loop.drafts()
    assert draft.state == state
    assert draft.sent_text == typed
    assert not loop.conversation().bot_muted
    assert loop.fake.statuses == []


def test_copying_a_multi_bubble_draft_bubble_by_bubble_is_one_approval(loop: Loop) -> None:
    pending_draft(loop, "Yes, it fits two adults!", "Where are you camping?")
    loop.human_says("Yes, it fits two adults!")
    loop.human_says("Where are you camping?")
    loop.run()
    assert loop.drafts()[0].state == "sent"
    assert not loop.conversation().bot_muted


@pytest.mark.parametrize("from_phone", [False, True])
def test_a_different_human_reply_mutes_the_bot_and_opens_the_conversation(
    loop: Loop, from_phone: bool
) -> None:
    pending_draft(loop, "Yes, it fits two adults!")
    loop.human_says("Hi Maya, Daniel here. Let me call you.", from_phone=from_phone)
    loop.run()
    [draft] = loop.drafts()
    assert draft.state == "superseded"
    assert draft.sent_text == "Hi Maya, Daniel here. Let me call you."
    conversation = loop.conversation()
    assert conversation.bot_muted and conversation.bot_muted_reason == "human_reply"
    assert loop.fake.statuses == ["open"]
    # The customer writes again: the bot stays silent.
    loop.composer.add(Reply(bubbles=["should not be written"]))
    loop.customer_says("Great, call me at 5", at=T0 + 100)
    loop.run(at=T0 + 100 + DEBOUNCE + 1)
    assert len(loop.composer.prompts) == 1


def test_bot_off_mutes_and_opens_and_bot_on_unmutes(loop: Loop) -> None:
    loop.rep_types("/bot off")
    loop.customer_says("Hello?", at=T0)
    loop.run(at=T0 + DEBOUNCE + 1)
    assert loop.conversation().bot_muted
    assert "open" in loop.fake.statuses
    assert loop.composer.prompts == []
    loop.rep_types("/bot on")
    loop.run()
    assert not loop.conversation().bot_muted


def test_bot_on_sets_an_open_conversation_back_to_pending(loop: Loop) -> None:
    loop.customer_says("Hello?", at=T0)
    loop.deliver(incoming(status="open", updated_at=1781779999.0))
    loop.run()
    assert loop.conversation().status == "open"
    loop.rep_types("/bot on")
    loop.run()
    assert loop.fake.statuses[-1] == "pending"


def test_claude_failing_every_attempt_hands_off_with_claude_failed_and_nothing_public(
    loop: Loop,
) -> None:
    from workers.llm import ComposerError

    loop.composer.add(ComposerError("529 overloaded on all 3 attempts", transient=True))
    loop.customer_says("Hello?", at=T0)
    loop.run(at=T0 + DEBOUNCE + 1)
    assert loop.handoff_reasons() == ["claude_failed"]
    assert loop.fake.public() == []
    assert loop.fake.statuses == ["open"]
    assert "Claude didn't answer" in loop.fake.notes()[-1]


def test_a_customer_asking_for_a_person_is_handed_off_at_once(loop: Loop) -> None:
    from workers.llm import Handoff

    loop.configure('[inboxes.12]\non_duty_agent = { id = 21, name = "Daniel Ortiz" }\n')
    loop.composer.add(
        Reply(
            bubbles=["Of course, I'll get someone."],
            handoff=Handoff(reason="asks_for_human", note="wants to talk to a person"),
        )
    )
    loop.customer_says("Can I talk to a real person please?", at=T0)
    loop.run(at=T0 + DEBOUNCE + 1)
    [draft] = loop.drafts()
    assert draft.state == "discarded"
    assert loop.handoff_reasons() == ["customer_asked"]
    assert loop.fake.statuses == ["open"]
    assert any("wants to talk to a person" in note for note in loop.fake.notes())
    assert loop.fake.assignments == [{"assignee_id": 21}]
    assert loop.fake.public() == []


def test_handoff_command_discards_the_draft_and_hands_over(loop: Loop) -> None:
    pending_draft(loop, "Yes!")
    loop.rep_types("/handoff")
    loop.run()
    [draft] = loop.drafts()
    assert draft.state == "discarded"
    assert loop.handoff_reasons() == ["rep_command"]
    assert loop.fake.statuses == ["open"]
    assert "Does the Trail Tent fit two?" in loop.fake.notes()[-1]


def sweep(loop: Loop) -> int:
    from workers import jobs

    return jobs.sweep_replies()


def test_after_redis_is_flushed_the_sweeper_still_produces_exactly_one_draft(
    loop: Loop, redis_conn: Any
) -> None:
    from workers import jobs

    loop.composer.add(Reply(bubbles=["Yes, it fits two!"]))
    loop.customer_says("Does it fit two?", at=T0)
    loop.run(at=T0)  # routed: the timer is set
    redis_conn.flushdb()  # and lost
    loop.run(at=T0 + MAX_WAIT / 2)
    assert sweep(loop) == 0  # not overdue yet
    loop.clock.now = T0 + MAX_WAIT + 1
    assert sweep(loop) == 1
    assert sweep(loop) == 0  # its timer is pending now: no second rescue
    loop.run()
    assert jobs.requeue_stale_deliveries() == 0  # the delivery was processed
    loop.run(at=T0 + MAX_WAIT + 200)
    assert len(loop.composer.prompts) == 1
    [draft] = loop.drafts()
    assert draft.state == "pending"
    assert sweep(loop) == 0  # answered by a live draft now


def test_a_lost_delivery_job_comes_back_and_is_answered_once(loop: Loop, redis_conn: Any) -> None:
    """Redis flushed between the webhook and the worker: the message is only in the stored
    delivery, which the delivery sweeper brings back."""
    from workers import jobs

    loop.composer.add(Reply(bubbles=["Yes, it fits two!"]))
    loop.customer_says("Does it fit two?", at=T0)
    redis_conn.flushdb()
    loop.clock.now = T0 + MAX_WAIT + 1
    assert sweep(loop) == 0  # nothing stored to sweep yet: the delivery is unprocessed
    assert jobs.requeue_stale_deliveries() == 1
    loop.run()
    loop.run(at=T0 + MAX_WAIT + 200)
    assert jobs.requeue_stale_deliveries() == 0
    assert sweep(loop) == 0
    assert len(loop.composer.prompts) == 1
    [draft] = loop.drafts()
    assert draft.state == "pending"


@pytest.mark.parametrize(
    ("setup", "rescued"),
    [
        ("nothing", 1),
        ("skipped", 0),
        ("muted", 0),
        ("public_reply", 0),
        ("too_old", 1),  # handed to the team, not drafted: see the next test
    ],
)
def test_what_the_sweeper_rescues(loop: Loop, redis_conn: Any, setup: str, rescued: int) -> None:
    loop.composer.add(Reply(bubbles=["Yes!"]))
    loop.customer_says("Does it fit two?", at=T0)
    loop.run(at=T0)  # routed; the flush below loses the timer
    if setup == "skipped":
        loop.run(at=T0 + DEBOUNCE + 1)
        loop.rep_types("/skip")
        loop.run()
    elif setup == "muted":
        loop.rep_types("/bot off")
        loop.run()
    elif setup == "public_reply":
        loop.human_says("Daniel here, yes it does!")
        loop.run()
        loop.rep_types("/bot on")
        loop.run()
    redis_conn.flushdb()
    loop.clock.now = T0 + (4000 if setup == "too_old" else MAX_WAIT + 1)
    assert sweep(loop) == rescued


def test_a_message_left_unanswered_past_the_sweepers_reach_goes_to_the_team(
    loop: Loop, redis_conn: Any
) -> None:
    """A worker or Redis outage longer than REPLY_SWEEP_MAX_AGE_SECONDS: too late for a bot
    reply, but never left without an answer or a human."""
    loop.configure('[inboxes.12]\non_duty_agent = { id = 30, name = "Lena Vogt" }\n')
    loop.customer_says("Does it fit two?", at=T0)
    loop.run(at=T0)
    redis_conn.flushdb()  # the timer is lost, and nothing runs for over an hour
    loop.clock.now = T0 + 3601
    assert sweep(loop) == 1
    loop.run()
    assert loop.composer.prompts == []
    assert loop.handoff_reasons() == ["overdue"]
    assert loop.fake.statuses == ["open"]
    note = loop.fake.notes()[-1]
    assert "could not answer within 60 minutes" in note and "Does it fit two?" in note
    assert sweep(loop) == 0  # open now: a human has it


def campaign_message(*, sender: bool) -> dict[str, Any]:
    """A website campaign's opening message (CONTRACT-NEXT §6.1): outgoing and public, sent
    as the campaign's configured user (or with no sender), marked only by campaign_id."""
    payload = copy.deepcopy(load_event("message_created_private_note_by_agent"))
    payload.update(
        private=False,
        content="Planning a trip? Ask us anything about our tents.",
        additional_attributes={"campaign_id": 4},
        created_at="2026-06-18T09:12:03.114Z",
    )
    if not sender:
        payload["sender"] = None
    return payload


def automation_message() -> dict[str, Any]:
    """An automation rule's "send message" (CONTRACT-NEXT §6.3)."""
    payload = copy.deepcopy(load_event("message_created_private_note_by_agent"))
    payload.update(
        private=False,
        sender=None,
        content="Thanks! We usually answer within minutes.",
        content_attributes={"automation_rule_id": 9},
        created_at="2026-06-18T09:12:03.114Z",
    )
    return payload


def assert_no_takeover(loop: Loop, message: dict[str, Any]) -> None:
    loop.deliver(message)
    loop.run()
    assert not loop.conversation().bot_muted
    assert loop.fake.statuses == []
    loop.composer.add(Reply(bubbles=["Yes, it fits two adults!"]))
    loop.customer_says("Does the Trail Tent fit two?", at=T0)
    loop.run(at=T0 + DEBOUNCE + 1)
    [draft] = loop.drafts()
    assert draft.state == "pending"
    assert not loop.conversation().bot_muted


def test_a_website_campaign_message_sent_as_a_user_is_no_takeover(loop: Loop) -> None:
    assert_no_takeover(loop, campaign_message(sender=True))


@pytest.mark.parametrize(
    "message",
    [lambda: campaign_message(sender=False), automation_message],
    ids=["a campaign without a sender", "an automation rule's message"],
)
def test_other_messages_nobody_typed_are_no_takeover(loop: Loop, message: Any) -> None:
    assert_no_takeover(loop, message())


def rep_note(text: str, message_id: int) -> dict[str, Any]:
    payload = copy.deepcopy(load_event("message_created_private_note_by_agent"))
    payload.update(id=message_id, content=text)
    return payload


def test_a_replayed_bot_on_does_not_undo_a_later_bot_off(loop: Loop) -> None:
    bot_on, bot_off = rep_note("/bot on", 918_400), rep_note("/bot off", 918_401)
    loop.deliver(bot_on)
    loop.run()
    loop.deliver(bot_off)
    loop.run()
    assert loop.conversation().bot_muted
    # The same body again under a new X-Chatwoot-Delivery (loop.deliver sends a fresh one).
    loop.deliver(bot_on)
    loop.run()
    assert loop.conversation().bot_muted
    # A second message_created for the same message, in a newer body.
    again = copy.deepcopy(bot_on)
    again["conversation"]["updated_at"] += 30
    loop.deliver(again)
    loop.run()
    conversation = loop.conversation()
    assert conversation.bot_muted and conversation.bot_muted_reason == "rep_command"


def test_a_delivery_job_lost_past_the_sweepers_reach_goes_to_the_team(
    loop: Loop, redis_conn: Any
) -> None:
    """The same outage, with the delivery's own job lost: when the delivery sweeper brings
    it back an hour on, routing hands the conversation over instead of drafting."""
    from workers import jobs

    loop.configure('[inboxes.12]\non_duty_agent = { id = 30, name = "Lena Vogt" }\n')
    loop.customer_says("Does it fit two?", at=T0)
    redis_conn.flushdb()
    loop.clock.now = T0 + 3601
    assert jobs.requeue_stale_deliveries() == 1
    loop.run()
    assert loop.composer.prompts == []
    assert loop.handoff_reasons() == ["overdue"]
    assert loop.fake.statuses == ["open"]
    note = loop.fake.notes()[-1]
    assert "could not answer within 60 minutes" in note and "Does it fit two?" in note
    assert sweep(loop) == 0
