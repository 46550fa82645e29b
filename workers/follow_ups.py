"""Re-activation: finding dormant leads each minute, deciding their next step, and
cancelling what a customer's own message (or opt-out) makes moot.

The scan (``scan``, run by the clock) records every decision as a ``FollowUp`` row, keyed
so a step happens at most once per dormant spell, and hands each step that may go out to
its own job (``workers.follow_up_work``) by id. Holdout leads get their steps recorded as
``held_out``: tracked like the others, sent nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from core.autonomy import inbox_autonomy
from core.config import FollowUpConfig, InboxConfig, WhatsAppTemplate
from core.db import session_scope
from core.follow_up_switch import follow_ups_enabled
from core.models import Draft, FollowUp, FollowUpSwitch, OutboxItem
from core.upserts import dialect_insert
from experiments.holdout import HOLDOUT, lead_for
from workers import drafts, follow_up_decisions, follow_up_leads
from workers.context import WorkerContext
from workers.follow_up_plan import Plan, dormant, plan

log = logging.getLogger(__name__)

# Follow-up steps still on their way: a customer's message or an opt-out cancels them.
OPEN = ("queued", "pending")


@dataclass
class Scan:
    """What one scan decided: follow-up ids to write, and counts by outcome."""

    queued: list[int] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)

    def count(self, what: str) -> None:
        self.counts[what] = self.counts.get(what, 0) + 1


def enabled_inboxes(session: Session, deps: WorkerContext) -> list[int]:
    """Inboxes whose follow-ups are on: in wingman.toml, or switched on by an admin."""
    listed = set(deps.config.current().inboxes)
    switched = set(session.exec(select(FollowUpSwitch.inbox_id)))
    return sorted(i for i in listed | switched if follow_ups_enabled(session, i, deps.config))


def scan(deps: WorkerContext, *, enqueue: Callable[[int], None]) -> Scan:
    """Decide every due step of every dormant lead, once; enqueue those that may go out."""
    result = Scan()
    now = deps.now()
    with session_scope(deps.engine) as session:
        inboxes = enabled_inboxes(session, deps)
    for inbox_id in inboxes:
        inbox = deps.config.inbox(inbox_id)
        settings = inbox.follow_ups
        statuses = ("pending", "open") if settings.human_owned else ("pending",)
        with session_scope(deps.engine) as session:
            quiet = follow_up_leads.quiet_since(
                session, inbox_id, before=now - settings.schedule[0], statuses=statuses
            )
        for lead in quiet:
            with session_scope(deps.engine) as session:
                queued = _decide(session, lead, inbox, deps, now, result)
            if queued is not None:
                result.queued.append(queued)
    for follow_up_id in result.queued:
        enqueue(follow_up_id)
    if result.counts:
        log.info(
            "follow-up scan: %s", ", ".join(f"{k} {v}" for k, v in sorted(result.counts.items()))
        )
    return result


def _decide(
    session: Session,
    quiet: follow_up_leads.Quiet,
    inbox: InboxConfig,
    deps: WorkerContext,
    now: datetime,
    result: Scan,
) -> int | None:
    conversation = quiet.conversation
    assert conversation.id is not None and conversation.contact_id is not None
    settings = inbox.follow_ups
    autonomy = inbox_autonomy(session, inbox.inbox_id, deps.config)
    facts = follow_up_leads.facts(session, quiet, autonomy=autonomy)
    if not dormant(facts, human_owned_allowed=settings.human_owned).dormant:
        return None
    step_plan = plan(
        schedule=settings.schedule,
        recorded=follow_up_leads.recorded_steps(session, conversation.id, quiet.last_customer_id),
        last_customer_at=quiet.last_customer_at,
        now=now,
        channel=conversation.channel,
        source_id=conversation.contact_source_id,
        can_reply=conversation.can_reply,
        hours=inbox.working_hours,
        template=inbox.whatsapp_template,
    )
    if step_plan.step is None or step_plan.action not in ("message", "template", "skip"):
        return None
    lead = lead_for(
        session,
        conversation.id,
        contact_id=conversation.contact_id,
        inbox_id=inbox.inbox_id,
        share=settings.holdout_share,
        rng=deps.rng,
        now=now,
    )
    assert lead.id is not None
    record = _Recorder(session, lead.id, quiet, now)
    for step in step_plan.passed:
        record(step, "skipped", reason=f"later_step_due: step {step_plan.step} was due too")
        result.count("skipped")
    if lead.group == HOLDOUT:
        record(step_plan.step, "held_out")
        result.count("held_out")
        return None
    if step_plan.action == "skip":
        record(step_plan.step, "skipped", reason=step_plan.reason)
        log.info(
            "conversation %s: follow-up step %s skipped: %s",
            conversation.display_id,
            step_plan.step,
            step_plan.reason,
        )
        result.count("skipped")
        return None
    sent = follow_up_leads.recent_follow_ups(
        session, conversation.contact_id, now=now, period=settings.cap_period
    )
    if sent >= settings.max_per_contact:
        reason = f"contact_cap: {sent} follow-up(s) within {_days(settings)}"
        record(step_plan.step, "skipped", reason=reason)
        result.count("skipped")
        return None
    params = template_params(inbox.whatsapp_template) if step_plan.action == "template" else None
    follow_up_id = record(
        step_plan.step,
        "queued",
        kind="template" if step_plan.action == "template" else "message",
        template_params=params,
    )
    if follow_up_id is not None:
        result.count("queued")
    return follow_up_id


class _Recorder:
    """Writes one step's decision, once: a second scan finds the row and writes nothing."""

    def __init__(
        self, session: Session, lead_id: int, quiet: follow_up_leads.Quiet, now: datetime
    ) -> None:
        self.session, self.lead_id, self.quiet, self.now = session, lead_id, quiet, now

    def __call__(
        self,
        step: int,
        state: str,
        *,
        reason: str | None = None,
        kind: str | None = None,
        template_params: dict[str, Any] | None = None,
    ) -> int | None:
        conversation = self.quiet.conversation
        row = self.session.execute(
            dialect_insert(self.session, FollowUp)
            .values(
                lead_id=self.lead_id,
                conversation_id=conversation.id,
                contact_id=conversation.contact_id,
                after_message_id=self.quiet.last_customer_id,
                step=step,
                state=state,
                kind=kind,
                reason=reason,
                template_params=template_params,
                due_at=self.now,
                created_at=self.now,
                decided_at=None if state == "queued" else self.now,
            )
            .on_conflict_do_nothing()
            .returning(FollowUp.id)
        ).first()
        return None if row is None else int(row[0])


def template_params(template: WhatsAppTemplate | None) -> dict[str, Any] | None:
    """Chatwoot's ``template_params`` for a WhatsApp Cloud or 360dialog template: its name,
    category and language, and the body's parameters by position (CONTRACT-NEXT §2.2).
    Filled from wingman.toml, never by Claude; Chatwoot renders Liquid in them."""
    if template is None:
        return None
    return {
        "name": template.name,
        "category": template.category,
        "language": template.language,
        "processed_params": {"body": {str(i): value for i, value in enumerate(template.params, 1)}},
    }


def template_preview(params: dict[str, Any]) -> str:
    """The text Chatwoot shows for a template message (WhatsApp never sees it)."""
    body = params.get("processed_params", {}).get("body", {})
    values = " · ".join(str(v) for v in body.values())
    return f"📨 WhatsApp template {params['name']} ({params['language']})" + (
        f": {values}" if values else ""
    )


def cancel_open(
    session: Session, conversation_id: int, *, reason: str, now: datetime
) -> list[FollowUp]:
    """Cancel the conversation's follow-ups on their way: queued steps, drafts waiting for
    approval (discarded, with the reason), and approved messages never yet tried."""
    cancelled = list(
        session.exec(
            select(FollowUp)
            .where(FollowUp.conversation_id == conversation_id, col(FollowUp.state).in_(OPEN))
            .with_for_update()
        )
    )
    for follow_up in cancelled:
        follow_up_decisions.record(follow_up, "cancelled", reason, now)
    _retire_drafts(session, [f.id for f in cancelled if f.id is not None], reason, now)
    _cancel_unsent(session, conversation_id)
    return cancelled


def cancel_for_contact(
    session: Session, contact_id: int, *, reason: str, now: datetime
) -> list[FollowUp]:
    conversations = set(
        session.exec(
            select(FollowUp.conversation_id).where(
                FollowUp.contact_id == contact_id, col(FollowUp.state).in_(OPEN)
            )
        )
    )
    cancelled: list[FollowUp] = []
    for conversation_id in sorted(conversations):
        cancelled += cancel_open(session, conversation_id, reason=reason, now=now)
    return cancelled


def _retire_drafts(session: Session, follow_up_ids: list[int], reason: str, now: datetime) -> None:
    if not follow_up_ids:
        return
    pending = session.exec(
        select(Draft).where(col(Draft.follow_up_id).in_(follow_up_ids), Draft.state == "pending")
    )
    for draft in pending:
        drafts.retire(session, draft, "discarded", now=now)
        draft.failure = reason


def _cancel_unsent(session: Session, conversation_id: int) -> None:
    """Follow-up messages approved but never tried: the customer's message made them moot.
    One already tried may have landed, so it is left to the outbox."""
    items = session.exec(
        select(OutboxItem)
        .join(Draft, col(Draft.id) == col(OutboxItem.draft_id))
        .where(
            OutboxItem.conversation_id == conversation_id,
            OutboxItem.state == "pending",
            col(OutboxItem.private).is_(False),
            col(Draft.follow_up_id).is_not(None),
        )
        .with_for_update()
    )
    for item in items:
        item.state = "cancelled"


def _days(settings: FollowUpConfig) -> str:
    days = settings.cap_period.total_seconds() / 86400
    return f"{days:g} day(s)"


__all__ = ["Plan", "Scan", "cancel_for_contact", "cancel_open", "scan"]
