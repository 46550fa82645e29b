"""Drafts that never wait unnoticed, with a frozen clock (issue 5)."""

from __future__ import annotations

from tests.loop_harness import DEBOUNCE, T0, Loop
from workers import jobs
from workers.llm import Reply

MINUTE = 60
BERLIN_HOURS = """
[inboxes.12]
on_duty_agent = { id = 30, name = "Lena Vogt" }
[inboxes.12.working_hours]
timezone = "Europe/Berlin"
mon = ["09:00-18:00"]
tue = ["09:00-18:00"]
wed = ["09:00-18:00"]
thu = ["09:00-18:00"]
fri = ["09:00-18:00"]
"""


def pending(loop: Loop, *, at: float, channel: str | None = None) -> float:
    loop.composer.add(Reply(bubbles=["Yes, it fits two!"]))
    loop.customer_says("Does it fit two?", at=at, channel=channel)
    ready = at + DEBOUNCE + 1
    loop.run(at=ready)
    assert loop.drafts()[-1].state == "pending"
    return ready


def reminders(loop: Loop) -> list[str]:
    return [note for note in loop.fake.notes() if note.startswith("⏰")]


def test_inside_working_hours_the_rep_then_the_on_duty_agent_is_reminded(loop: Loop) -> None:
    loop.configure(BERLIN_HOURS)  # T0 is Thursday 11:13 in Berlin: open
    ready = pending(loop, at=T0)
    loop.clock.now = ready + 4 * MINUTE
    jobs.check_drafts()
    assert reminders(loop) == []
    loop.clock.now = ready + 5 * MINUTE
    jobs.check_drafts()
    jobs.check_drafts()  # idempotent: still one reminder
    [first] = reminders(loop)
    assert "[@Daniel Ortiz](mention://user/21/Daniel%20Ortiz)" in first  # the assignee
    loop.clock.now = ready + 10 * MINUTE
    jobs.check_drafts()
    second = reminders(loop)[-1]
    assert len(reminders(loop)) == 2
    assert "[@Lena Vogt](mention://user/30/Lena%20Vogt)" in second


def test_outside_working_hours_a_web_chat_draft_waits_for_the_morning(loop: Loop) -> None:
    loop.configure(BERLIN_HOURS)
    evening = T0 + 9 * 3600  # Thursday 20:13 in Berlin: closed
    ready = pending(loop, at=evening, channel="Channel::WebWidget")
    loop.clock.now = ready + 30 * MINUTE
    jobs.check_drafts()
    assert reminders(loop) == []
    loop.clock.now = T0 + 22 * 3600  # Friday 09:13 in Berlin: open again
    jobs.check_drafts()
    assert len(reminders(loop)) == 1


def test_outside_hours_it_reminds_anyway_when_the_window_closes_first(loop: Loop) -> None:
    loop.configure(BERLIN_HOURS.replace('thu = ["09:00-18:00"]\nfri = ["09:00-18:00"]', ""))
    # Thursday and Friday closed: the inbox next opens on Monday, after WhatsApp's window.
    ready = pending(loop, at=T0, channel="Channel::Whatsapp")
    loop.clock.now = ready + 5 * MINUTE
    jobs.check_drafts()
    assert len(reminders(loop)) == 1


def test_due_stage_edges() -> None:
    from datetime import UTC, datetime, timedelta

    from workers.reminders import due_stage

    ready = datetime(2026, 6, 18, 9, 0, tzinfo=UTC)
    five = timedelta(minutes=5)
    assert due_stage(ready, ready + five - timedelta(seconds=1), five) == 0
    assert due_stage(ready, ready + five, five) == 1
    assert due_stage(ready, ready + 2 * five - timedelta(seconds=1), five) == 1
    assert due_stage(ready, ready + 2 * five, five) == 2
