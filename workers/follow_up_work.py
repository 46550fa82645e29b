"""Writing one follow-up the scan queued: everything re-checked at the last moment, then
the inbox's template or Claude's message, to a rep as a draft or out on autopilot.

Like drafting a reply, it never holds a transaction open while Claude thinks: what it
works from is read first, what comes of it stored after, and the step is checked again
then, so a customer who wrote meanwhile gets no follow-up.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from datetime import timedelta
from decimal import Decimal

from sqlmodel import Session

from core.autonomy import inbox_autonomy
from core.autonomy_levels import Autonomy
from core.config import InboxConfig
from core.db import session_scope
from core.follow_up_switch import follow_ups_enabled
from core.models import Conversation, FollowUp
from core.opt_outs import opt_out
from workers import (
    autopilot,
    drafts,
    follow_up_decisions,
    follow_up_leads,
    follow_ups,
    guardrails,
    notes,
    outgoing,
    spend,
)
from workers import follow_up_outcomes as outcomes
from workers.context import WorkerContext
from workers.follow_up_plan import dormant
from workers.gate import effective_autonomy
from workers.llm import ComposerError, Prompt, Reply, Usage
from workers.playbook import follow_up_text
from workers.reply_work import acting_as, prompt_for

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Work:
    follow_up_id: int
    conversation_id: int
    display_id: int
    inbox: InboxConfig
    kind: str  # "message" | "template"
    autonomy: Autonomy
    window_open: bool
    mention: str | None
    label: str  # "step 2 of 3"
    arm_id: int | None
    prompt: Prompt | None  # None for a template
    knowledge: str = ""
    price_floor: Decimal | None = None
    price_ceiling: Decimal | None = None


def write(follow_up_id: int, deps: WorkerContext) -> None:
    """Write the queued follow-up, once; a second run finds it decided and does nothing."""
    with session_scope(deps.engine) as session:
        work = _gather(session, follow_up_id, deps)
    if work is None:
        return
    if work.kind == "template":
        outcomes.store_template(work, deps)
    else:
        _compose(work, deps)
    outgoing.post(work.conversation_id, deps)


def _gather(session: Session, follow_up_id: int, deps: WorkerContext) -> Work | None:
    follow_up = outcomes.locked(session, follow_up_id)
    if follow_up is None or follow_up.state != "queued":
        return None
    conversation = session.get(Conversation, follow_up.conversation_id)
    assert conversation is not None and conversation.id is not None
    inbox = deps.config.inbox(conversation.inbox_id or 0)
    now = deps.now()
    why = _why_not(session, follow_up, conversation, inbox, deps)
    if why is not None:
        follow_up_decisions.record(follow_up, "cancelled", why, now)
        log.info("conversation %s: follow-up cancelled: %s", conversation.display_id, why)
        return None
    autonomy = effective_autonomy(
        inbox_autonomy(session, inbox.inbox_id, deps.config),
        human_assignee=conversation.assignee_type == "User",
    )
    acting = acting_as(session, conversation, inbox, deps, autonomy)
    arm, autonomy, window = acting.arm, acting.autonomy, acting.window
    if follow_up.kind == "message" and not window.open:
        follow_up_decisions.record(follow_up, "skipped", f"window_closed: {window.reason}", now)
        return None
    steps = len(inbox.follow_ups.schedule)
    prompt = None
    knowledge = ""
    if follow_up.kind == "message":
        last = drafts.last_customer_message_at(session, conversation.id) or now
        instruction = follow_up_text(
            step=follow_up.step, steps=steps, quiet_for=_duration(now - last)
        )
        prompt = prompt_for(session, conversation, inbox, deps, arm=arm, follow_up=instruction)
        knowledge = deps.knowledge.load(inbox.knowledge_path).text
    return Work(
        follow_up_id=follow_up_id,
        conversation_id=conversation.id,
        display_id=conversation.display_id,
        inbox=inbox,
        kind=follow_up.kind or "message",
        autonomy=autonomy,
        window_open=window.open,
        mention=notes.mention_for(conversation, inbox),
        label=f"step {follow_up.step} of {steps}",
        arm_id=arm.id if arm else None,
        prompt=prompt,
        knowledge=knowledge,
        price_floor=acting.price_floor,
        price_ceiling=acting.price_ceiling,
    )


def _why_not(
    session: Session,
    follow_up: FollowUp,
    conversation: Conversation,
    inbox: InboxConfig,
    deps: WorkerContext,
) -> str | None:
    """Why the step may no longer go out (a reason for the record), or None."""
    assert conversation.id is not None
    newest = follow_up_leads.newest_customer_message(session, conversation.id)
    if newest != follow_up.after_message_id:
        return "customer_wrote: the customer wrote again before it went out"
    if not follow_ups_enabled(session, inbox.inbox_id, deps.config):
        return "switched_off: follow-ups were switched off for the inbox"
    last = drafts.last_customer_message_at(session, conversation.id)
    assert last is not None
    quiet = follow_up_leads.Quiet(conversation, follow_up.after_message_id, last)
    autonomy = inbox_autonomy(session, inbox.inbox_id, deps.config)
    facts = follow_up_leads.facts(session, quiet, autonomy=autonomy)
    verdict = dormant(facts, human_owned_allowed=inbox.follow_ups.human_owned)
    if verdict.dormant:
        return None
    if verdict.reason in ("opted_out", "autonomy_off"):
        return f"{verdict.reason}: {verdict.reason.replace('_', ' ')}"
    return f"not_dormant: {verdict.reason}"


def _compose(work: Work, deps: WorkerContext) -> None:
    assert work.prompt is not None
    now = deps.now()
    failure = None
    usage: Usage | None = None
    reply: Reply | None = None
    over_cap = spend.over_daily_cap(deps)
    if deps.composer is None:
        failure = "claude_failed: Claude is not configured (ANTHROPIC_API_KEY is unset)"
    elif over_cap is not None:
        failure = f"spend_cap: {over_cap}"
    else:
        try:
            reply = deps.composer.compose(work.prompt)
        except ComposerError as exc:
            failure, usage = f"claude_failed: {exc}", exc.usage
    with session_scope(deps.engine) as session:
        follow_up = outcomes.locked(session, work.follow_up_id)
        if follow_up is None:
            return
        if reply is None:
            draft = outcomes.new_draft(session, work, now, bubbles=[], state="failed", usage=usage)
            draft.failure = failure
            if follow_up.state == "queued":
                follow_up_decisions.record(follow_up, "failed", failure, now)
                log.warning("conversation %s: follow-up failed: %s", work.display_id, failure)
            return
        draft = outcomes.new_draft(
            session, work, now, bubbles=list(reply.bubbles), usage=reply.usage
        )
        draft.do_not_contact = reply.do_not_contact
        if follow_up.state != "queued":  # a customer's message cancelled it meanwhile
            drafts.retire(session, draft, "discarded", now=now)
            draft.failure = follow_up.reason
            return
        contact = session.get(Conversation, work.conversation_id)
        if reply.do_not_contact and contact is not None and contact.contact_id is not None:
            drafts.retire(session, draft, "discarded", now=now)
            draft.failure = "opted_out: Claude read an opt-out in the conversation"
            opt_out(
                session,
                contact.contact_id,
                source="model",
                detail=f"D{draft.id}",
                conversation_id=work.conversation_id,
                now=now,
            )
            follow_up_decisions.record(follow_up, "cancelled", draft.failure, now)
            follow_ups.cancel_for_contact(
                session, contact.contact_id, reason="opted_out: the contact opted out", now=now
            )
            return
        checks = guardrails.check(
            draft.bubbles,
            inbox=work.inbox,
            knowledge=work.knowledge,
            system_prompt=work.prompt.playbook,
            price_floor=work.price_floor,
            price_ceiling=work.price_ceiling,
        )
        draft.guardrails = checks.to_json()
        if work.autonomy is Autonomy.AUTOPILOT and checks.passed and work.window_open:
            # A follow-up answers nobody's question, so no handoff rides on it.
            quiet = replace(reply, handoff=None)
            autopilot.send(
                session, work.conversation_id, draft, quiet, inbox=work.inbox, waiting=[], now=now
            )
            follow_up_decisions.record(follow_up, "sent", None, now)
            return
        outcomes.note(session, work, draft, now, warnings=guardrails.describe_failures(checks))
        follow_up.state = "pending"


def _duration(elapsed: timedelta) -> str:
    seconds = int(elapsed.total_seconds())
    if seconds >= 2 * 86400:
        return f"{seconds // 86400} days"
    if seconds >= 2 * 3600:
        return f"{seconds // 3600} hours"
    return f"{max(seconds // 60, 1)} minutes"
