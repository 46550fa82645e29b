"""Channel windows enforced through the whole stack, with a frozen clock (issue 5)."""

from __future__ import annotations

import pytest

from tests.loop_harness import DEBOUNCE, T0, Loop
from workers import jobs
from workers.llm import Reply

HOUR = 3600


def draft_on(loop: Loop, channel: str) -> None:
    loop.composer.add(Reply(bubbles=["Yes, it fits two!"]))
    loop.customer_says("Does it fit two?", at=T0, channel=channel)
    loop.run(at=T0 + DEBOUNCE + 1)
    [draft] = loop.drafts()
    assert draft.state == "pending"


@pytest.mark.parametrize("channel", ["Channel::Whatsapp", "Channel::Instagram"])
def test_send_at_23_59_goes_out(loop: Loop, channel: str) -> None:
    draft_on(loop, channel)
    loop.clock.now = T0 + 24 * HOUR - 60
    loop.rep_types("/send")
    loop.run()
    assert loop.fake.public() == ["Yes, it fits two!"]


def test_whatsapp_send_at_24_01_is_refused_with_the_reason(loop: Loop) -> None:
    draft_on(loop, "Channel::Whatsapp")
    loop.clock.now = T0 + 24 * HOUR + 60
    loop.rep_types("/send")
    loop.run()
    assert loop.fake.public() == []
    [draft] = loop.drafts()
    assert draft.state == "expired"
    note = loop.fake.notes()[-1]
    assert "expired" in note and "24 h" in note and "approved template" in note


def test_web_chat_has_no_window(loop: Loop) -> None:
    draft_on(loop, "Channel::WebWidget")
    loop.clock.now = T0 + 72 * HOUR
    loop.rep_types("/send")
    loop.run()
    assert loop.fake.public() == ["Yes, it fits two!"]


def test_a_retry_after_the_window_closed_never_sends_late(loop: Loop) -> None:
    draft_on(loop, "Channel::Instagram")
    loop.clock.now = T0 + 24 * HOUR - 60
    loop.fake.fail_next = [500]  # Chatwoot fails at the last minute (did it save it?)…
    loop.rep_types("/send")
    loop.run()
    loop.clock.now = T0 + 24 * HOUR + 60  # …and back only after the window closed
    jobs.retry_stuck_outbox()
    assert loop.fake.public() == []
    assert "Not sent, because Instagram" in loop.fake.notes()[-1]


def test_the_periodic_check_expires_pending_drafts_when_the_window_closes(loop: Loop) -> None:
    draft_on(loop, "Channel::Whatsapp")
    loop.clock.now = T0 + 23 * HOUR
    assert jobs.check_drafts() == 0
    loop.clock.now = T0 + 24 * HOUR + 1
    assert jobs.check_drafts() == 1
    assert loop.drafts()[0].state == "expired"
    assert "expired unsent" in loop.fake.notes()[-1]
