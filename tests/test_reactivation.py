"""Re-activation end to end on a frozen clock: the real webhook, store, jobs and outbox
against the Chatwoot stand-in (issue 13). A lead goes quiet after our reply; the scan finds
its due step; the follow-up goes to a rep or out on autopilot; a customer's message, an
opt-out or the holdout stops it."""

from __future__ import annotations

import json
from types import SimpleNamespace
from typing import Any

import pytest
from sqlmodel import Session, col, select

from core.autonomy import set_inbox_autonomy
from core.autonomy_levels import Autonomy
from core.models import Draft, FollowUp, Lead, OptOut
from tests.world import DEBOUNCE, World
from workers import reply_work
from workers.llm import Reply
from workers.reply_work import Acting

MINUTE = 60.0
HOUR = 3600.0
CONFIG = """
[inboxes.{inbox}]
name = "Sales"
locales = ["en", "de"]
{template}
[inboxes.{inbox}.follow_ups]
enabled = true
holdout = {holdout}
{extra}
"""
TEMPLATE = """
[inboxes.{inbox}.whatsapp_template]
name = "follow_up"
language = "en"
category = "MARKETING"
params = ["Acme Outdoor", "{{{{contact.name}}}}"]
"""
FOLLOW_UP_TEXT = ["Quick thought: the Trail Tent 2P packs down to 40 cm.", "Camping soon?"]


def configure(
    world: World, *, inbox: int = 12, holdout: float = 0.0, template: bool = False, extra: str = ""
) -> None:
    world.configure(
        CONFIG.format(
            inbox=inbox,
            holdout=holdout,
            template=TEMPLATE.format(inbox=inbox) if template else "",
            extra=extra,
        )
    )


def answered_lead(world: World, *, inbox: int = 12) -> int:
    """A customer asks, the bot drafts, a rep sends it: our word is the last one."""
    world.composer.add(Reply(bubbles=["Yes, two standard pads fit side by side."]))
    if inbox == 12:
        conversation, _ = world.customer_says("Does the Trail Tent 2P fit two?")
    else:
        conversation, _ = world.customer_says_in(inbox, "Does the Trail Tent 2P fit two?")
    world.settle()
    world.advance(DEBOUNCE + 1)
    world.run()
    world.settle()
    world.rep_note(conversation, "/send")
    world.settle()
    assert world.public(conversation)[-1].startswith("Yes, two standard pads")
    return conversation


def scan(world: World, after: float) -> None:
    world.advance(after)
    world.periodic("scan_follow_ups")
    world.run()
    world.settle()


def follow_ups(world: World) -> list[FollowUp]:
    with Session(world.engine) as session:
        return list(session.exec(select(FollowUp).order_by(col(FollowUp.id))))


def follow_up_drafts(world: World) -> list[Draft]:
    return [d for d in world.drafts() if d.follow_up_id is not None]


def test_a_quiet_lead_gets_a_follow_up_draft_and_send_sends_it(world: World) -> None:
    configure(world)
    conversation = answered_lead(world)
    scan(world, 19 * MINUTE)
    assert follow_ups(world) == []  # not yet: the first step is at 20 minutes
    world.composer.add(Reply(bubbles=FOLLOW_UP_TEXT))
    scan(world, 2 * MINUTE)
    [step] = follow_ups(world)
    assert (step.step, step.state, step.kind) == (1, "pending", "message")
    [draft] = follow_up_drafts(world)
    assert draft.state == "pending" and draft.follow_up_id == step.id
    note = world.notes(conversation)[-1]
    assert note.startswith(f"🔁 Follow-up D{draft.id} (step 1 of 3)")
    # Claude was asked for a follow-up, not a reply, after the cached prefix.
    prompt = world.composer.prompts[-1]
    assert prompt.follow_up is not None and "just checking in" in prompt.follow_up
    world.rep_note(conversation, "/send")
    world.settle()
    assert world.public(conversation)[-2:] == FOLLOW_UP_TEXT
    [step] = follow_ups(world)
    assert step.state == "sent"
    with Session(world.engine) as session:
        [lead] = session.exec(select(Lead)).all()
        assert lead.group == "follow_up"
    # The export carries the step of each follow-up message and the lead's group.
    out = world.config_file.parent / "messages.jsonl"
    runner = world.web.application.test_cli_runner()
    result = runner.invoke(args=["export", "--out", str(out)])
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    sent = [r for r in rows if r["content"] in FOLLOW_UP_TEXT]
    assert [(r["follow_up_step"], r["lead_group"]) for r in sent] == [(1, "follow_up")] * 2
    replies = [r for r in rows if r["draft_id"] not in (None, draft.id)]
    assert replies and all(r["follow_up_step"] is None for r in replies)
    out = world.config_file.parent / "conversations.jsonl"
    result = runner.invoke(args=["export", "--per", "conversation", "--out", str(out)])
    [row] = [json.loads(line) for line in out.read_text().splitlines()]
    assert (row["lead_group"], row["follow_ups_sent"]) == ("follow_up", 1)
    # The report keeps follow-up drafts apart, with their approval and the steps.
    shown = runner.invoke(args=["reactivation", "report"]).output
    assert "follow-up drafts: sent 1; mean edit distance of those sent 0.00" in shown
    assert "step 1: sent 1" in shown
    assert "inbox 12: not enough leads yet to tell: 1 got follow-ups and 0 were held out" in shown


def test_every_step_happens_once_however_often_the_scan_runs(world: World) -> None:
    configure(world)
    answered_lead(world)
    world.composer.add(Reply(bubbles=FOLLOW_UP_TEXT))
    world.advance(21 * MINUTE)
    for _ in range(3):
        world.periodic("scan_follow_ups")
    world.run()
    world.run()
    world.settle()
    assert [(f.step, f.state) for f in follow_ups(world)] == [(1, "pending")]
    assert len(follow_up_drafts(world)) == 1


def test_a_customer_message_cancels_a_pending_follow_up_draft(world: World) -> None:
    configure(world)
    conversation = answered_lead(world)
    world.composer.add(Reply(bubbles=FOLLOW_UP_TEXT))
    scan(world, 21 * MINUTE)
    world.customer_says("Actually, is it waterproof?", conversation=conversation)
    world.settle()
    [step] = follow_ups(world)
    assert step.state == "cancelled" and (step.reason or "").startswith("customer_wrote:")
    [draft] = follow_up_drafts(world)
    assert draft.state == "discarded" and (draft.failure or "").startswith("customer_wrote:")
    world.rep_note(conversation, "/send")  # too late: nothing of the follow-up goes out
    world.settle()
    assert FOLLOW_UP_TEXT[0] not in world.public(conversation)


def test_the_customers_message_while_claude_writes_the_follow_up_wins(world: World) -> None:
    configure(world)
    conversation = answered_lead(world)

    def customer_writes(_prompt: Any) -> Reply:
        world.customer_says("Never mind, found it!", conversation=conversation)
        world.deliver()
        return Reply(bubbles=FOLLOW_UP_TEXT)

    world.composer.add(customer_writes, Reply(bubbles=["Glad you found it!"]))
    scan(world, 21 * MINUTE)
    [step] = follow_ups(world)
    assert step.state == "cancelled"
    [draft] = follow_up_drafts(world)
    assert draft.state == "discarded"
    # Its note may have reached the rep before the message was routed; it sends nothing.
    world.rep_note(conversation, f"/send D{draft.id}")
    world.settle()
    assert FOLLOW_UP_TEXT[0] not in world.public(conversation)
    assert "was dropped" in world.notes(conversation)[-1]


def test_after_an_opt_out_nothing_is_ever_sent(world: World) -> None:
    configure(world)
    conversation = answered_lead(world)
    world.composer.add(Reply(bubbles=["Understood, we won't write again."]))
    world.customer_says("STOP", conversation=conversation)
    world.settle()
    world.advance(DEBOUNCE + 1)
    world.run()
    world.settle()
    world.rep_note(conversation, "/send")  # the reply to "STOP" itself still goes out
    world.settle()
    with Session(world.engine) as session:
        [opt_out] = session.exec(select(OptOut)).all()
        assert (opt_out.source, opt_out.detail) == ("keyword", "stop")
    for hours in (1, 4, 21, 30):
        scan(world, hours * HOUR)
    assert follow_ups(world) == []
    assert follow_up_drafts(world) == []


def test_a_rep_can_opt_a_contact_out_and_it_cancels_what_is_pending(world: World) -> None:
    configure(world)
    conversation = answered_lead(world)
    world.composer.add(Reply(bubbles=FOLLOW_UP_TEXT))
    scan(world, 21 * MINUTE)
    world.rep_note(conversation, "/optout")
    world.settle()
    assert world.notes(conversation)[-1].startswith("✅ Opted out")
    [step] = follow_ups(world)
    assert step.state == "cancelled" and (step.reason or "").startswith("opted_out:")
    scan(world, 3 * HOUR)
    assert len(follow_ups(world)) == 1


def test_claude_reading_an_opt_out_records_it(world: World) -> None:
    configure(world)
    conversation = answered_lead(world)
    world.composer.add(Reply(bubbles=["Take care!"], do_not_contact=True))
    scan(world, 21 * MINUTE)
    [step] = follow_ups(world)
    assert step.state == "cancelled"
    with Session(world.engine) as session:
        [opt_out] = session.exec(select(OptOut)).all()
        assert opt_out.source == "model"
    assert "Take care!" not in world.public(conversation)


def test_a_lead_in_the_holdout_gets_nothing_but_is_tracked(world: World) -> None:
    configure(world, holdout=0.999)
    conversation = answered_lead(world)
    for after in (21 * MINUTE, 3 * HOUR, 17 * HOUR):
        scan(world, after)
    assert [(f.step, f.state) for f in follow_ups(world)] == [
        (1, "held_out"),
        (2, "held_out"),
        (3, "held_out"),
    ]
    assert follow_up_drafts(world) == []
    assert not any("Follow-up" in note for note in world.notes(conversation))
    with Session(world.engine) as session:
        [lead] = session.exec(select(Lead)).all()
        assert lead.group == "holdout"


def test_on_autopilot_the_follow_up_goes_out_after_the_guardrails(world: World) -> None:
    configure(world)
    conversation = answered_lead(world)
    with Session(world.engine) as session:
        set_inbox_autonomy(
            session,
            12,
            Autonomy.AUTOPILOT,
            actor="test",
            now=world.clock.dt(),
            config=world.services.config,
        )
        session.commit()
    world.composer.add(Reply(bubbles=FOLLOW_UP_TEXT))
    scan(world, 21 * MINUTE)
    public = world.public(conversation)
    assert public[-2].startswith(FOLLOW_UP_TEXT[0]) and public[-1] == FOLLOW_UP_TEXT[1]
    [step] = follow_ups(world)
    assert step.state == "sent"


def test_whatsapp_past_its_window_sends_the_approved_template_on_send(world: World) -> None:
    configure(world, inbox=13, template=True, extra='late_step = "30h"')
    conversation = answered_lead(world, inbox=13)
    for after, text in ((21 * MINUTE, "One"), (3 * HOUR, "Two"), (17 * HOUR, "Three")):
        world.composer.add(Reply(bubbles=[f"{text}: the tent is still in stock."]))
        scan(world, after)
        world.rep_note(conversation, "/skip")
        world.settle()
    scan(world, 10 * HOUR)  # 30 h after the customer's message: the window is long shut
    steps = follow_ups(world)
    assert [(f.step, f.state, f.kind) for f in steps] == [
        (1, "skipped", "message"),
        (2, "skipped", "message"),
        (3, "skipped", "message"),
        (4, "pending", "template"),
    ]
    assert steps[0].reason and steps[0].reason.startswith("rep_skipped:")
    assert world.notes(conversation)[-1].startswith("🔁 Follow-up")
    world.rep_note(conversation, "/send")
    world.settle()
    [template] = [m for m in world.chatwoot(conversation)["messages"] if m.get("template_params")]
    assert template["template_params"] == {
        "name": "follow_up",
        "category": "MARKETING",
        "language": "en",
        "processed_params": {"body": {"1": "Acme Outdoor", "2": "{{contact.name}}"}},
    }
    assert not template["private"]
    assert follow_ups(world)[-1].state == "sent"


def test_whatsapp_past_its_window_without_a_template_skips_the_step(world: World) -> None:
    configure(world, inbox=13, extra='steps = ["20m"]\nlate_step = "30h"')
    conversation = answered_lead(world, inbox=13)
    world.composer.add(Reply(bubbles=FOLLOW_UP_TEXT))
    scan(world, 21 * MINUTE)
    world.rep_note(conversation, "/skip")
    world.settle()
    scan(world, 30 * HOUR)
    steps = follow_ups(world)
    assert [(f.step, f.state) for f in steps] == [(1, "skipped"), (2, "skipped")]
    assert (steps[1].reason or "").startswith("no_template:")


def test_follow_ups_switched_off_at_runtime_stop(world: World) -> None:
    from core.follow_up_switch import set_follow_ups

    configure(world)
    answered_lead(world)
    with Session(world.engine) as session:
        set_follow_ups(
            session, 12, False, actor="Lena", now=world.clock.dt(), config=world.services.config
        )
        session.commit()
    scan(world, 21 * MINUTE)
    assert follow_ups(world) == []


def test_status_shows_leads_due_the_next_times_and_skips(world: World) -> None:
    configure(world, inbox=14, extra='steps = ["20m", "3h"]\nlate_step = "30h"')
    conversation = answered_lead(world, inbox=14)
    runner = world.web.application.test_cli_runner()
    world.advance(10 * MINUTE)
    shown = runner.invoke(args=["reactivation", "status"]).output
    assert "inbox 14 (Sales): follow-ups on (wingman.toml)" in shown
    assert "due now: 0" in shown
    assert f"next: conversation {conversation}, step 1, at" in shown
    world.advance(11 * MINUTE)
    shown = runner.invoke(args=["reactivation", "status"]).output
    assert f"due now: 1 (conversations {conversation})" in shown
    world.composer.add(Reply(bubbles=FOLLOW_UP_TEXT))
    scan(world, 0)
    world.rep_note(conversation, "/skip")
    world.settle()
    world.composer.add(Reply(bubbles=FOLLOW_UP_TEXT))
    scan(world, 3 * HOUR)  # step 2: Claude writes again
    world.rep_note(conversation, "/skip")
    world.settle()
    world.advance(28 * HOUR)  # the late step, past Instagram's 24 h
    shown = runner.invoke(args=["reactivation", "status"]).output
    assert "due but will be skipped: the channel's messaging window had closed" in shown
    scan(world, 0)
    shown = runner.invoke(args=["reactivation", "status"]).output
    assert "window had closed (only WhatsApp takes a template) × 1" in shown
    assert "a rep skipped the draft × 2" in shown


def test_a_follow_up_the_channel_refused_counts_as_not_sent_and_is_reported(
    world: World,
) -> None:
    configure(world, inbox=14)
    conversation = answered_lead(world, inbox=14)
    world.composer.add(Reply(bubbles=FOLLOW_UP_TEXT))
    scan(world, 21 * MINUTE)
    world.rep_note(conversation, "/send")
    world.settle()
    [bubble] = [
        m["id"]
        for m in world.chatwoot(conversation)["messages"]
        if m["content"] == FOLLOW_UP_TEXT[0]
    ]
    error = "(#10) This message is sent outside of allowed window."
    world.control("channel_failed", conversation_id=conversation, message_id=bubble, error=error)
    world.settle()
    [step] = follow_ups(world)
    assert step.state == "undelivered" and step.reason == f"channel_refused: {error}"
    [draft] = follow_up_drafts(world)
    assert draft.state == "undelivered"
    assert error in world.notes(conversation)[-1]
    # Nobody waits on a follow-up: the conversation is not handed to the team for it.
    assert world.chatwoot(conversation)["status"] == "pending"
    world.control("channel_failed", conversation_id=conversation, message_id=bubble, error=error)
    world.settle()  # a repeated update changes nothing more
    assert len([n for n in world.notes(conversation) if error in n]) == 1


def test_an_arms_price_floor_holds_for_follow_ups_on_autopilot(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The guardrails check what a follow-up says against the contact's arm, as for replies:
    a price under the arm's floor never goes out on its own."""
    configure(world)
    conversation = answered_lead(world)
    real = reply_work.acting_as

    def with_a_floor(*args: Any) -> Acting:
        acting = real(*args)
        arm = SimpleNamespace(
            id=None, instructions="", show_prices=[], price_floor="219.00", price_ceiling=None
        )
        return Acting(arm, Autonomy.AUTOPILOT, acting.window)  # type: ignore[arg-type]

    monkeypatch.setattr("workers.follow_up_work.acting_as", with_a_floor)
    world.composer.add(Reply(bubbles=["The Trail Tent 2P is yours for €99 today!"]))
    scan(world, 21 * MINUTE)
    assert not any("€99" in text for text in world.public(conversation))
    [step] = follow_ups(world)
    assert step.state == "pending"
    assert "Failed checks" in world.notes(conversation)[-1]


def test_the_per_contact_cap_skips_a_step_and_says_why(world: World) -> None:
    configure(world, extra="max_per_contact = 1")
    conversation = answered_lead(world)
    world.composer.add(Reply(bubbles=FOLLOW_UP_TEXT))
    scan(world, 21 * MINUTE)
    world.rep_note(conversation, "/send")
    world.settle()
    scan(world, 3 * HOUR)
    steps = follow_ups(world)
    assert [(f.step, f.state) for f in steps] == [(1, "sent"), (2, "skipped")]
    assert steps[1].reason == "contact_cap: 1 follow-up(s) within 7 day(s)"
    assert len(follow_up_drafts(world)) == 1
