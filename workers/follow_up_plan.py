"""Re-activation's decisions (pure): whether a conversation is a dormant lead, and what its
next follow-up step may do now.

The windows come from ``workers.windows``, the one windows module:

| Channel | Within the window | Outside it |
|---|---|---|
| WhatsApp (Cloud, 360dialog) | a free-form follow-up | the approved template, else skipped |
| WhatsApp through Twilio | a free-form follow-up | skipped: Wingman sends no Twilio templates |
| Instagram, Messenger (and TikTok, 48 h) | a free-form follow-up | skipped |
| Web widget, email, API | no window: a free-form follow-up | — |

Follow-ups keep to the inbox's working hours. A step due outside them waits for the
opening, unless the window closes first: then it is skipped, and the skip is reported.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from core.autonomy_levels import Autonomy
from core.config import WhatsAppTemplate
from core.hours import WorkingHours
from workers.windows import channel_name, window

Action = Literal["message", "template", "skip", "wait", "not_yet", "done"]


@dataclass(frozen=True)
class LeadFacts:
    """What the database says about a conversation, as far as dormancy is concerned."""

    status: str | None
    human_assignee: bool
    muted: bool
    opted_out: bool
    outcome_known: bool  # sold or lost
    customer_messages: int
    replied: bool  # a reply went out: a bot draft sent, or a human's public reply
    last_word_ours: bool  # the newest public message is ours, not the customer's
    autonomy: Autonomy


@dataclass(frozen=True)
class Verdict:
    dormant: bool
    reason: str  # a key of core.vocabulary.FOLLOW_UP_REASONS when it matters, else words


def dormant(facts: LeadFacts, *, human_owned_allowed: bool) -> Verdict:
    """Whether the conversation is a dormant lead (the step's delay is checked by ``plan``)."""
    if facts.customer_messages == 0 or not facts.replied:
        return Verdict(False, "no exchange yet: the customer wrote and got no reply")
    if not facts.last_word_ours:
        return Verdict(False, "the customer wrote last")
    if facts.outcome_known:
        return Verdict(False, "it has an outcome (sold or lost)")
    if facts.status not in ("pending", "open"):
        return Verdict(False, f"the conversation is {facts.status}")
    if (facts.status == "open" or facts.human_assignee) and not human_owned_allowed:
        return Verdict(False, "a human owns it (open or assigned), and the inbox keeps out")
    if facts.muted:
        return Verdict(False, "the bot is muted in it")
    if facts.opted_out:
        return Verdict(False, "opted_out")
    if facts.autonomy is Autonomy.OFF:
        return Verdict(False, "autonomy_off")
    return Verdict(True, "a dormant lead")


@dataclass(frozen=True)
class Plan:
    """What to do about a lead's steps now.

    ``step`` is the step to act on (1-based): the latest one due that has no record yet.
    ``passed`` are earlier due steps without a record; they are recorded as skipped
    ("later_step_due"), so two follow-ups never go out at once after an outage. ``reason``
    is ``"<key>: <particulars>"`` for a skip; ``next_at`` is when to look again.
    """

    action: Action
    step: int | None = None
    passed: tuple[int, ...] = ()
    reason: str = ""
    next_at: datetime | None = None


def plan(
    *,
    schedule: tuple[timedelta, ...],
    recorded: set[int],
    last_customer_at: datetime,
    now: datetime,
    channel: str | None,
    source_id: str | None,
    can_reply: bool | None,
    hours: WorkingHours | None,
    template: WhatsAppTemplate | None,
) -> Plan:
    """The next step of a dormant spell that began with the customer's last message."""
    due = [i for i, delay in enumerate(schedule, 1) if now >= last_customer_at + delay]
    unrecorded = [i for i in due if i not in recorded and i > max(recorded, default=0)]
    later = [
        i
        for i in range(len(due) + 1, len(schedule) + 1)
        if i not in recorded and i > max(recorded, default=0)
    ]
    next_due = last_customer_at + schedule[later[0] - 1] if later else None
    if not unrecorded:
        return Plan("not_yet" if later else "done", next_at=next_due)
    step, passed = unrecorded[-1], tuple(unrecorded[:-1])
    here = window(channel, last_customer_at, now, source_id=source_id, can_reply=can_reply)
    opens = None if hours is None or hours.is_open(now) else hours.next_open(now)
    if here.open:
        if opens is None:
            return Plan("message", step, passed, here.reason, next_due)
        if here.closes_at is not None and here.closes_at <= opens:
            reason = (
                f"closes_before_hours: the window closes at {here.closes_at:%Y-%m-%d %H:%M} "
                f"UTC, before working hours start at {opens:%Y-%m-%d %H:%M} UTC"
            )
            return Plan("skip", step, passed, reason, next_due)
        return Plan("wait", step, passed, "outside working hours", opens)
    name, _ = channel_name(channel, source_id)
    if channel == "Channel::Whatsapp":
        if template is None:
            return Plan("skip", step, passed, f"no_template: {here.reason}", next_due)
        if opens is not None:
            return Plan("wait", step, passed, "outside working hours", opens)
        return Plan("template", step, passed, here.reason, next_due)
    if name == "WhatsApp (Twilio)":
        return Plan("skip", step, passed, f"twilio_template: {here.reason}", next_due)
    return Plan("skip", step, passed, f"window_closed: {here.reason}", next_due)
