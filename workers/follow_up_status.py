"""What re-activation is doing now, per inbox, for ``flask --app bot reactivation status``:
the leads due now, the next due times, and the steps skipped and why.

It reads what the scan would decide (``workers.follow_ups``) without recording anything.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

from sqlmodel import Session, col, select

from core.autonomy import inbox_autonomy
from core.config_store import ConfigStore
from core.follow_up_switch import follow_ups_enabled
from core.models import FollowUp, FollowUpSwitch, Lead
from workers import follow_up_leads
from workers.follow_up_plan import dormant, plan


@dataclass
class InboxStatus:
    inbox_id: int
    name: str | None
    enabled: bool
    switched: bool  # an admin's runtime switch decides, not wingman.toml
    due: list[int] = field(default_factory=list)  # display ids
    upcoming: list[tuple[datetime, int, int]] = field(default_factory=list)  # at, display, step
    would_skip: Counter[str] = field(default_factory=Counter)  # due now but can't go out
    skipped: Counter[str] = field(default_factory=Counter)  # recorded, by reason
    states: Counter[str] = field(default_factory=Counter)  # recorded steps, by state
    not_dormant: Counter[str] = field(default_factory=Counter)  # opted out, autonomy off


def status(session: Session, config: ConfigStore, *, now: datetime) -> list[InboxStatus]:
    listed = set(config.current().inboxes)
    switches = {s.inbox_id: s for s in session.exec(select(FollowUpSwitch))}
    result = []
    for inbox_id in sorted(listed | set(switches)):
        inbox = config.inbox(inbox_id)
        report = InboxStatus(
            inbox_id,
            inbox.name,
            follow_ups_enabled(session, inbox_id, config),
            inbox_id in switches,
        )
        _recorded(session, inbox_id, report)
        if report.enabled:
            _live(session, config, inbox_id, now, report)
        if report.enabled or report.states:
            result.append(report)
    return result


def _recorded(session: Session, inbox_id: int, report: InboxStatus) -> None:
    rows = session.exec(
        select(FollowUp.state, FollowUp.reason)
        .join(Lead, col(Lead.id) == col(FollowUp.lead_id))
        .where(Lead.inbox_id == inbox_id)
    )
    for state, reason in rows:
        report.states[state] += 1
        if state in ("skipped", "cancelled", "failed", "undelivered") and reason:
            report.skipped[reason.split(":", 1)[0]] += 1


def _live(
    session: Session, config: ConfigStore, inbox_id: int, now: datetime, report: InboxStatus
) -> None:
    inbox = config.inbox(inbox_id)
    settings = inbox.follow_ups
    statuses = ("pending", "open") if settings.human_owned else ("pending",)
    autonomy = inbox_autonomy(session, inbox_id, config)
    for quiet in follow_up_leads.quiet_since(session, inbox_id, before=now, statuses=statuses):
        conversation = quiet.conversation
        assert conversation.id is not None
        verdict = dormant(
            follow_up_leads.facts(session, quiet, autonomy=autonomy),
            human_owned_allowed=settings.human_owned,
        )
        if not verdict.dormant:
            if verdict.reason in ("opted_out", "autonomy_off"):
                report.not_dormant[verdict.reason] += 1
            continue
        recorded = follow_up_leads.recorded_steps(session, conversation.id, quiet.last_customer_id)
        step_plan = plan(
            schedule=settings.schedule,
            recorded=recorded,
            last_customer_at=quiet.last_customer_at,
            now=now,
            channel=conversation.channel,
            source_id=conversation.contact_source_id,
            can_reply=conversation.can_reply,
            hours=inbox.working_hours,
            template=inbox.whatsapp_template,
        )
        if step_plan.action in ("message", "template"):
            report.due.append(conversation.display_id)
        elif step_plan.action == "skip":
            report.would_skip[step_plan.reason.split(":", 1)[0]] += 1
        if step_plan.action in ("wait", "not_yet") and step_plan.next_at is not None:
            step = step_plan.step or max(recorded, default=0) + 1
            report.upcoming.append((step_plan.next_at, conversation.display_id, step))
    report.upcoming.sort()
