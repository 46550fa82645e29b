"""Re-activation's pure decisions, on a frozen clock: dormancy, and each channel's window
at its edges, with and without a template, inside and outside working hours."""

from __future__ import annotations

import zoneinfo
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from core.autonomy_levels import Autonomy
from core.config import DEFAULT_FOLLOW_UP_STEPS, WhatsAppTemplate
from core.hours import OpenRange, WorkingHours
from workers.follow_up_plan import LeadFacts, Plan, dormant, plan

# Monday 2026-12-07, 09:00 UTC: the customer's last message.
LAST = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
LATE = timedelta(hours=30)
SCHEDULE = (*DEFAULT_FOLLOW_UP_STEPS, LATE)  # 20 min, 3 h, 20 h, and a late step at 30 h
TEMPLATE = WhatsAppTemplate(name="follow_up", language="en", category="MARKETING")
NINE_TO_FIVE = WorkingHours(
    timezone=zoneinfo.ZoneInfo("UTC"),
    week=tuple((OpenRange(9 * 60, 17 * 60),) for _ in range(7)),
)


def at(**delta: float) -> datetime:
    return LAST + timedelta(**delta)


def step_plan(
    now: datetime,
    channel: str | None,
    *,
    recorded: set[int] | None = None,
    source_id: str | None = None,
    can_reply: bool | None = None,
    hours: WorkingHours | None = None,
    template: WhatsAppTemplate | None = None,
    schedule: tuple[timedelta, ...] = SCHEDULE,
) -> Plan:
    return plan(
        schedule=schedule,
        recorded=recorded if recorded is not None else set(),
        last_customer_at=LAST,
        now=now,
        channel=channel,
        source_id=source_id,
        can_reply=can_reply,
        hours=hours,
        template=template,
    )


# --- Which step, and when -----------------------------------------------------------------


def test_nothing_is_due_before_the_first_delay() -> None:
    result = step_plan(at(minutes=19, seconds=59), "Channel::WebWidget")
    assert (result.action, result.step) == ("not_yet", None)
    assert result.next_at == at(minutes=20)


def test_the_first_step_is_due_at_its_delay() -> None:
    result = step_plan(at(minutes=20), "Channel::WebWidget")
    assert (result.action, result.step, result.passed) == ("message", 1, ())
    assert result.next_at == at(hours=3)


def test_a_recorded_step_is_never_due_again() -> None:
    result = step_plan(at(hours=2), "Channel::WebWidget", recorded={1})
    assert (result.action, result.next_at) == ("not_yet", at(hours=3))


def test_after_an_outage_only_the_latest_due_step_acts_and_the_others_are_passed() -> None:
    result = step_plan(at(hours=21), "Channel::WebWidget")
    assert (result.action, result.step, result.passed) == ("message", 3, (1, 2))


def test_a_step_before_a_recorded_later_one_is_never_due() -> None:
    result = step_plan(at(hours=21), "Channel::WebWidget", recorded={3})
    assert result.action == "not_yet"
    assert result.next_at == at(hours=30)


def test_every_step_recorded_means_done() -> None:
    result = step_plan(at(hours=40), "Channel::WebWidget", recorded={1, 2, 3, 4})
    assert (result.action, result.next_at) == ("done", None)


# --- Windows at their edges ---------------------------------------------------------------


@pytest.mark.parametrize("channel", ["Channel::Instagram", "Channel::FacebookPage"])
def test_meta_dms_follow_up_at_23_59_and_not_at_24_01(channel: str) -> None:
    inside = step_plan(at(hours=23, minutes=59), channel, recorded={1, 2})
    outside = step_plan(at(hours=24, minutes=1), channel, recorded={1, 2})
    assert (inside.action, inside.step) == ("message", 3)
    assert (outside.action, outside.step) == ("skip", 3)
    assert outside.reason.startswith("window_closed:")


def test_the_late_step_on_instagram_is_skipped() -> None:
    result = step_plan(at(hours=30), "Channel::Instagram", recorded={1, 2, 3})
    assert (result.action, result.step) == ("skip", 4)
    assert result.reason.startswith("window_closed:")


def test_whatsapp_inside_its_window_writes_a_free_form_follow_up() -> None:
    result = step_plan(at(hours=23, minutes=59), "Channel::Whatsapp", template=TEMPLATE)
    assert (result.action, result.step) == ("message", 3)


def test_whatsapp_outside_its_window_sends_the_template() -> None:
    result = step_plan(at(hours=30), "Channel::Whatsapp", recorded={1, 2, 3}, template=TEMPLATE)
    assert (result.action, result.step) == ("template", 4)


def test_whatsapp_outside_its_window_without_a_template_is_skipped() -> None:
    result = step_plan(at(hours=24, minutes=1), "Channel::Whatsapp", recorded={1, 2})
    assert (result.action, result.step) == ("skip", 3)
    assert result.reason.startswith("no_template:")


def test_whatsapp_that_chatwoot_says_cant_reply_sends_the_template() -> None:
    result = step_plan(at(minutes=20), "Channel::Whatsapp", can_reply=False, template=TEMPLATE)
    assert result.action == "template"


def test_twilio_whatsapp_outside_its_window_is_skipped() -> None:
    inside = step_plan(at(hours=23, minutes=59), "Channel::TwilioSms", source_id="whatsapp:+4915")
    outside = step_plan(
        at(hours=30),
        "Channel::TwilioSms",
        source_id="whatsapp:+4915",
        recorded={1, 2, 3},
        template=TEMPLATE,
    )
    assert inside.action == "message"
    assert (outside.action, outside.step) == ("skip", 4)
    assert outside.reason.startswith("twilio_template:")


@pytest.mark.parametrize("channel", ["Channel::WebWidget", "Channel::Email", "Channel::Api"])
def test_channels_without_a_window_follow_up_at_any_step(channel: str) -> None:
    result = step_plan(at(hours=30), channel, recorded={1, 2, 3})
    assert (result.action, result.step) == ("message", 4)


# --- Working hours --------------------------------------------------------------------------


def test_a_step_due_at_night_waits_for_the_morning_when_the_window_allows() -> None:
    # Due 20 h after Monday 09:00 = Tuesday 05:00; the inbox opens at 09:00, and the
    # web widget has no window.
    result = step_plan(at(hours=20), "Channel::WebWidget", recorded={1, 2}, hours=NINE_TO_FIVE)
    assert (result.action, result.step) == ("wait", 3)
    assert result.next_at == datetime(2026, 12, 8, 9, 0, tzinfo=UTC)


def test_working_hours_pushing_a_step_past_the_window_skip_it() -> None:
    # The same step on Instagram: the window closes Tuesday 09:00, as the inbox opens.
    result = step_plan(at(hours=20), "Channel::Instagram", recorded={1, 2}, hours=NINE_TO_FIVE)
    assert (result.action, result.step) == ("skip", 3)
    assert result.reason.startswith("closes_before_hours:")
    assert "2026-12-08 09:00" in result.reason


def test_a_window_closing_after_the_opening_lets_the_step_wait() -> None:
    # Last message Monday 16:30: the 20 h step is due Tuesday 12:30, inside hours; the 3 h
    # step is due Monday 19:30, outside them, and the window lasts until Tuesday 16:30.
    start = datetime(2026, 12, 7, 16, 30, tzinfo=UTC)
    result = plan(
        schedule=SCHEDULE,
        recorded={1},
        last_customer_at=start,
        now=start + timedelta(hours=3),
        channel="Channel::Instagram",
        source_id=None,
        can_reply=None,
        hours=NINE_TO_FIVE,
        template=None,
    )
    assert (result.action, result.step) == ("wait", 2)
    assert result.next_at == datetime(2026, 12, 8, 9, 0, tzinfo=UTC)


def test_a_template_waits_for_working_hours_too() -> None:
    # A late step at 36 h lands on Tuesday 21:00, after closing; templates have no window.
    schedule = (*DEFAULT_FOLLOW_UP_STEPS, timedelta(hours=36))
    result = step_plan(
        at(hours=36),
        "Channel::Whatsapp",
        recorded={1, 2, 3},
        hours=NINE_TO_FIVE,
        template=TEMPLATE,
        schedule=schedule,
    )
    assert (result.action, result.step) == ("wait", 4)
    assert result.next_at == datetime(2026, 12, 9, 9, 0, tzinfo=UTC)


# --- Dormancy -------------------------------------------------------------------------------

LEAD = LeadFacts(
    status="pending",
    human_assignee=False,
    muted=False,
    opted_out=False,
    outcome_known=False,
    customer_messages=2,
    replied=True,
    last_word_ours=True,
    autonomy=Autonomy.DRAFT,
)


def test_a_bot_owned_quiet_conversation_whose_last_word_was_ours_is_dormant() -> None:
    assert dormant(LEAD, human_owned_allowed=False).dormant


@pytest.mark.parametrize(
    ("change", "why"),
    [
        ({"customer_messages": 0}, "no exchange"),
        ({"replied": False}, "no exchange"),
        ({"last_word_ours": False}, "the customer wrote last"),
        ({"outcome_known": True}, "outcome"),
        ({"status": "resolved"}, "resolved"),
        ({"status": "snoozed"}, "snoozed"),
        ({"status": "open"}, "a human owns it"),
        ({"human_assignee": True}, "a human owns it"),
        ({"muted": True}, "muted"),
        ({"opted_out": True}, "opted_out"),
        ({"autonomy": Autonomy.OFF}, "autonomy_off"),
    ],
)
def test_a_conversation_is_not_dormant_when(change: dict[str, object], why: str) -> None:
    verdict = dormant(replace(LEAD, **change), human_owned_allowed=False)  # type: ignore[arg-type]
    assert not verdict.dormant
    assert why in verdict.reason


def test_an_inbox_may_allow_follow_ups_where_a_human_owns_the_conversation() -> None:
    assert dormant(replace(LEAD, status="open"), human_owned_allowed=True).dormant
    assert dormant(replace(LEAD, human_assignee=True), human_owned_allowed=True).dormant
    assert not dormant(replace(LEAD, status="resolved"), human_owned_allowed=True).dormant
