"""Drafting a reply: the waiting customer messages, Claude's answer, the draft note.

``draft_reply`` is the core the reply job calls once the customer has gone quiet and the
conversation's generation lock is held. It never holds a database transaction open while
Claude thinks.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from time import perf_counter
from typing import Any, cast

from sqlmodel import Session

from core.autonomy import inbox_autonomy
from core.autonomy_levels import Autonomy
from core.config import InboxConfig
from core.db import session_scope
from core.models import Conversation, Draft, Message
from experiments import enrolment
from workers import (
    autopilot,
    drafts,
    guardrails,
    handoffs,
    history,
    notes,
    notify,
    outbox,
    outgoing,
    spend,
)
from workers.context import WorkerContext
from workers.gate import bot_may_act, effective_autonomy
from workers.llm import CacheTTL, ComposerError, Prompt, Reply, Turn, Usage
from workers.playbook import arm_text, knowledge_text, system_text

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class _Work:
    display_id: int
    inbox: InboxConfig
    waiting: list[Message]
    prompt: Prompt
    mention: str | None
    knowledge: str  # the raw file, internal sections included, for the leak check
    autonomy: Autonomy  # effective: the inbox's, capped by a human assignee and the arm
    window_open: bool
    arm_id: int | None = None
    price_floor: Decimal | None = None
    price_ceiling: Decimal | None = None


@dataclass
class Timing:
    """Where a reply's time went: Claude's share, measured around the call."""

    claude_seconds: float = 0.0


def draft_reply(
    conversation_id: int,
    deps: WorkerContext,
    *,
    hint: str | None = None,
    timing: Timing | None = None,
) -> float | None:
    """Write and post a draft for the conversation's waiting customer messages.

    Returns the time (unix seconds) of the newest customer message the draft covers, for
    the debounce timer to settle, or None when there was nothing to answer.
    """
    timing = timing or Timing()
    with session_scope(deps.engine) as session:  # commits a first arm assignment
        work = _gather(session, conversation_id, deps, hint=hint)
    if work is None:
        return None
    # Wingman's own receive times, the clock the debounce timer runs on.
    covered_up_to = max(m.received_at for m in work.waiting).timestamp()
    if deps.chatwoot is None:
        log.error(
            "conversation %s: customer messages wait, but CHATWOOT_URL, CHATWOOT_ACCOUNT_ID "
            "or CHATWOOT_BOT_TOKEN is unset, so nothing can be posted",
            work.display_id,
        )
        return covered_up_to
    outcome: dict[str, Any] | None
    over_cap = spend.over_daily_cap(deps)
    if deps.composer is None:
        reason = "Claude is not configured (ANTHROPIC_API_KEY is unset)"
        outcome = _fail(conversation_id, work, deps, reason, category="not_configured")
    elif over_cap is not None:
        outcome = _fail(conversation_id, work, deps, over_cap, category="spend_cap")
        spend.notify_cap_once(deps, over_cap)
    else:
        asked = perf_counter()
        try:
            reply = deps.composer.compose(work.prompt)
        except ComposerError as exc:
            timing.claude_seconds += perf_counter() - asked
            log.warning("conversation %s: Claude didn't answer: %s", work.display_id, exc)
            reason = f"Claude didn't answer ({exc})"
            outcome = _fail(
                conversation_id, work, deps, reason, category="claude_failed", usage=exc.usage
            )
        else:
            timing.claude_seconds += perf_counter() - asked
            outcome = _store_draft(conversation_id, work, reply, deps, hint=hint)
    if outcome is not None:
        deps.notify(outcome)  # after the commit: a notice never reports a rolled-back draft
    outgoing.post(conversation_id, deps)
    return covered_up_to


def _gather(
    session: Session, conversation_id: int, deps: WorkerContext, *, hint: str | None
) -> _Work | None:
    conversation = session.get(Conversation, conversation_id)
    if conversation is None or not deps.serves(conversation.account_id):
        return None
    inbox = deps.config.inbox(conversation.inbox_id or 0)
    autonomy = effective_autonomy(
        inbox_autonomy(session, conversation.inbox_id or 0, deps.config),
        human_assignee=conversation.assignee_type == "User",
    )
    verdict = bot_may_act(
        status=conversation.status, autonomy=autonomy, muted=conversation.bot_muted
    )
    if not verdict.answer:
        log.info("conversation %s: not drafting: %s", conversation.display_id, verdict.reason)
        return None
    waiting = drafts.waiting_messages(session, conversation_id)
    if not waiting:
        return None
    pending = drafts.pending_draft(session, conversation_id)
    if hint is None and pending is not None:
        # A re-run (RQ may run a job twice; a late timer) must not pay Claude again for
        # messages the pending draft already answers.
        if {m.id for m in waiting} <= drafts.covered_ids(session, pending):
            log.info(
                "conversation %s: D%s already answers everything",
                conversation.display_id,
                pending.id,
            )
            return None
    arm = None
    if inbox.experiment and conversation.contact_id:
        arm = enrolment.arm_for(
            session,
            contact_id=conversation.contact_id,
            experiment=inbox.experiment,
            rng=deps.rng,
            now=deps.now(),
        )
    if arm is not None:
        # The arm lowers autonomy, never raises it: off < draft < autopilot.
        autonomy = min(autonomy, Autonomy(arm.autonomy), key=lambda a: a.rank)
    knowledge = deps.knowledge.load(inbox.knowledge_path)
    prompt = Prompt(
        playbook=system_text(inbox_name=inbox.name, locales=inbox.locales) + arm_text(arm),
        knowledge=knowledge_text(knowledge.text),
        knowledge_version=knowledge.version,
        history=_with_earlier(
            session, conversation, history.turns(drafts.history(session, conversation_id))
        ),
        hint=hint,
        cache_ttl=cast(CacheTTL, deps.cache_ttl),
    )
    channel_window = drafts.conversation_window(session, conversation, deps.now())
    if not channel_window.known and autonomy is Autonomy.AUTOPILOT:
        # A channel Wingman doesn't know fails closed: a rep sends, never the bot alone.
        autonomy = Autonomy.DRAFT
    return _Work(
        conversation.display_id,
        inbox,
        waiting,
        prompt,
        notes.mention_for(conversation, inbox),
        knowledge=knowledge.text,
        autonomy=autonomy,
        window_open=channel_window.open,
        arm_id=arm.id if arm else None,
        price_floor=Decimal(arm.price_floor) if arm and arm.price_floor else None,
        price_ceiling=Decimal(arm.price_ceiling) if arm and arm.price_ceiling else None,
    )


def _with_earlier(session: Session, conversation: Conversation, turns: list[Turn]) -> list[Turn]:
    """Put a returning customer's earlier conversations in front, as context."""
    if conversation.contact_id is None or conversation.id is None:
        return turns
    earlier = drafts.earlier_messages(
        session, conversation.contact_id, conversation.id, limit=history.EARLIER_MESSAGES
    )
    context = history.earlier_context(earlier)
    return [context, *turns] if context else turns


def _store_draft(
    conversation_id: int, work: _Work, reply: Reply, deps: WorkerContext, *, hint: str | None
) -> dict[str, Any] | None:
    """Store the draft and queue its note; returns the notice to send once committed."""
    now = deps.now()
    with session_scope(deps.engine) as session:
        previous = drafts.pending_draft(session, conversation_id, lock=True)
        if previous is not None:
            drafts.retire(session, previous, "replaced")
        # Messages a rep sent a draft for while Claude was thinking are answered already.
        still_waiting = {m.id for m in drafts.waiting_messages(session, conversation_id)}
        covered = [m for m in work.waiting if m.id in still_waiting]
        usage = reply.usage
        draft = Draft(
            conversation_id=conversation_id,
            state="pending" if covered else "discarded",
            bubbles=list(reply.bubbles),
            handoff_reason=reply.handoff.reason if reply.handoff else None,
            handoff_note=reply.handoff.note if reply.handoff else None,
            answered_questions=list(reply.answered_questions),
            do_not_contact=reply.do_not_contact,
            structured=reply.structured,
            hint=hint,
            knowledge_version=work.prompt.knowledge_version,
            last_customer_message_at=max(m.received_at for m in work.waiting),
            created_at=now,
            ready_at=now,
            arm_id=work.arm_id,
            **_usage_columns(usage),
        )
        session.add(draft)
        session.flush()
        assert draft.id is not None
        if not covered:
            log.info("conversation %s: draft D%s answers nothing new", work.display_id, draft.id)
            return None
        if reply.handoff is not None and reply.handoff.reason == "asks_for_human":
            # Asked for a person: no draft to approve, straight to the team.
            draft.state = "discarded"
            handoffs.hand_off(
                session,
                conversation_id,
                reason="customer_asked",
                key=f"draft:{draft.id}:handoff",
                now=now,
                inbox=work.inbox,
                note=notes.handoff_note(
                    "the customer asked for a person", reply.handoff.note, work.waiting
                ),
                draft_id=draft.id,
            )
            return _notice("handoff", work, now, reason="customer_asked", draft=draft.id)
        checks = guardrails.check(
            draft.bubbles,
            inbox=work.inbox,
            knowledge=work.knowledge,
            system_prompt=work.prompt.playbook,
            price_floor=work.price_floor,
            price_ceiling=work.price_ceiling,
        )
        draft.guardrails = checks.to_json()
        drafts.cover(session, draft, covered)
        if work.autonomy is Autonomy.AUTOPILOT and checks.passed and work.window_open:
            autopilot.send(
                session,
                conversation_id,
                draft,
                reply,
                inbox=work.inbox,
                waiting=work.waiting,
                now=now,
            )
            return _notice(
                "draft", work, now, draft=draft.id, bubbles=list(draft.bubbles), autopilot=True
            )
        outbox.add(
            session,
            key=f"draft:{draft.id}:note",
            conversation_id=conversation_id,
            draft_id=draft.id,
            content=notes.draft_note(
                draft.id,
                draft.bubbles,
                mention_of=work.mention,
                handoff_reason=draft.handoff_reason,
                handoff_note=draft.handoff_note,
                warnings=guardrails.describe_failures(checks),
            ),
            now=now,
        )
        log.info(
            "conversation %s: draft D%s covers %d message(s)",
            work.display_id,
            draft.id,
            len(covered),
        )
        return _notice("draft", work, now, draft=draft.id, bubbles=list(draft.bubbles))


def _notice(kind: str, work: _Work, now: datetime, **fields: Any) -> dict[str, Any]:
    draft = fields.pop("draft", None)
    if draft is not None:
        fields["draft"] = f"D{draft}"
    return notify.notice(
        kind, at=now, conversation=work.display_id, inbox=work.inbox.inbox_id, **fields
    )


def _fail(
    conversation_id: int,
    work: _Work,
    deps: WorkerContext,
    reason: str,
    *,
    category: str,
    usage: Usage | None = None,
) -> dict[str, Any]:
    """No draft can be written: hand the conversation to a human, saying why.

    ``usage`` is that of a call Claude answered unusably; the failed draft records it, so
    the spend counts what Anthropic bills.
    """
    now = deps.now()
    with session_scope(deps.engine) as session:
        draft = Draft(
            conversation_id=conversation_id,
            state="failed",
            failure=reason,
            created_at=now,
            **(_usage_columns(usage) if usage is not None else {}),
        )
        session.add(draft)
        session.flush()
        note = notes.handoff_note(f"Wingman could not write a draft: {reason}", None, work.waiting)
        handoffs.hand_off(
            session,
            conversation_id,
            reason=category,
            key=f"draft:{draft.id}:handoff",
            now=now,
            inbox=work.inbox,
            note=f"{work.mention} {note}" if work.mention else note,
            draft_id=draft.id,
        )
    return _notice("handoff", work, now, reason=category, detail=reason)


def _usage_columns(usage: Usage) -> dict[str, Any]:
    """A draft's record of the Claude call that wrote it (or failed to)."""
    return {
        "model": usage.model,
        "input_tokens": usage.input_tokens,
        "output_tokens": usage.output_tokens,
        "thinking_tokens": usage.thinking_tokens,
        "cache_read_input_tokens": usage.cache_read_input_tokens,
        "cache_write_5m_tokens": usage.cache_write_5m_tokens,
        "cache_write_1h_tokens": usage.cache_write_1h_tokens,
        "latency_ms": usage.latency_ms,
        "request_id": usage.request_id,
    }
