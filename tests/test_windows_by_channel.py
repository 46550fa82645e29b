"""Every channel's messaging window, from the one windows module (issue 10, #11).

| Channel classes | Window |
|---|---|
| WhatsApp (Cloud or 360dialog), Twilio WhatsApp | 24 h |
| Instagram, Facebook | 24 h |
| TikTok | 48 h |
| API | the inbox's agent_reply_time_window when set (can_reply carries it), else none |
| Web widget, email, Telegram, Line, SMS (Twilio and Bandwidth) | no window |
| A channel Wingman doesn't know, or none | fails closed: draft only, never sent late |

Chatwoot computes ``can_reply`` itself and puts it in every webhook's conversation; while
the latest one says false, nothing goes out publicly (CONTRACT-NEXT §1).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.world import DEBOUNCE, World
from workers import routing
from workers.llm import Reply
from workers.windows import window

HOUR = 3600.0
T = datetime(2026, 6, 18, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("channel", "hours", "open_"),
    [
        ("Channel::Whatsapp", 23.9, True),
        ("Channel::Whatsapp", 24.1, False),
        ("Channel::Instagram", 23.9, True),
        ("Channel::Instagram", 24.1, False),
        ("Channel::FacebookPage", 24.1, False),
        ("Channel::Api", 500, True),  # no window unless can_reply says so
        ("Channel::WebWidget", 500, True),
        ("Channel::Email", 500, True),
        ("Channel::Telegram", 500, True),
        ("Channel::Line", 500, True),
        ("Channel::Sms", 500, True),
    ],
)
def test_the_channel_table(channel: str, hours: float, open_: bool) -> None:
    assert window(channel, T, T + timedelta(hours=hours)).open is open_


@pytest.mark.parametrize(
    ("channel", "source_id", "hours", "open_"),
    [
        ("Channel::TwilioSms", "whatsapp:+15551234567", 24.1, False),
        ("Channel::TwilioSms", "whatsapp:+15551234567", 23.9, True),
        ("Channel::TwilioSms", "+15551234567", 500, True),  # SMS: no window
        ("Channel::Tiktok", None, 47.9, True),
        ("Channel::Tiktok", None, 48.1, False),
        ("Channel::Voice", None, 24.1, False),  # unknown: the strictest window
        (None, None, 24.1, False),
    ],
)
def test_twilio_whatsapp_tiktok_and_unknown_channels(
    channel: str | None, source_id: str | None, hours: float, open_: bool
) -> None:
    result = window(channel, T, T + timedelta(hours=hours), source_id=source_id)
    assert result.open is open_


def approve_after(world: World, inbox: int, hours: float) -> int:
    world.composer.add(Reply(bubbles=["Yes, it fits two."]))
    conversation, _ = world.customer_says_in(inbox, "Does the Trail Tent 2P fit two?")
    world.deliver()
    world.advance(DEBOUNCE + 1)
    world.run()
    world.settle()
    world.advance(hours * HOUR)
    world.rep_note(conversation, "/send")
    world.settle()
    return conversation


@pytest.mark.parametrize(("inbox", "hours"), [(15, 24.1), (16, 48.1), (17, 12.1), (18, 24.1)])
def test_a_send_after_the_window_is_refused_end_to_end(
    world: World, inbox: int, hours: float
) -> None:
    conversation = approve_after(world, inbox, hours)
    assert world.public(conversation) == []
    [draft] = world.drafts()
    assert draft.state == "expired"


def test_an_unknown_channel_gets_drafts_only_even_on_autopilot(
    world: World, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(routing, "_UNKNOWN_CHANNEL_LOGGED", set())  # once per process
    world.configure('[inboxes.18]\nautonomy = "autopilot"\n')
    world.composer.add(Reply(bubbles=["Yes, it fits two."]))
    conversation, _ = world.customer_says_in(18, "Does the Trail Tent 2P fit two?")
    world.deliver()
    world.advance(DEBOUNCE + 1)
    world.run()
    world.settle()
    assert world.public(conversation) == []
    assert "Draft D" in world.notes(conversation)[0]
    ready = world.web.get("/readyz").get_json()
    assert ready["unknown_channels"] == [{"inbox_id": 18, "channel": "Channel::Voice"}]
    world.customer_says("Hello?", conversation=conversation)
    world.settle()
    warnings = [r.getMessage() for r in caplog.records if "Channel::Voice" in r.getMessage()]
    assert len(warnings) == 1 and "inbox 18" in warnings[0], warnings


def test_can_reply_false_closes_any_window() -> None:
    assert not window("Channel::WebWidget", T, T, can_reply=False).open
    assert window("Channel::WebWidget", T, T, can_reply=True).open
    assert not window("Channel::Whatsapp", T, T + timedelta(hours=25), can_reply=True).open
