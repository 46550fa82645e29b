"""What comes of a drafting attempt, stored: the draft and its note, or a hand-off.

A draft Claude wrote goes to the rep as a note, or out on autopilot when its guardrails
pass; a customer who asked for a person, or a draft that could not be written, goes to the
team. Each returns the notice to send once its transaction has committed.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from core.autonomy_levels import Autonomy
from core.db import session_scope
from core.models import Draft
from workers import autopilot, drafts, guardrails, handoffs, notes, notify, outbox
from workers.context import WorkerContext
from workers.llm import Reply, Usage
from workers.reply_work import ReplyWork

log = logging.getLogger(__name__)


def store_draft(
    conversation_id: int, work: ReplyWork, reply: Reply, deps: WorkerContext, *, hint: str | None
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
            **usage_columns(usage),
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


def _notice(kind: str, work: ReplyWork, now: datetime, **fields: Any) -> dict[str, Any]:
    draft = fields.pop("draft", None)
    if draft is not None:
        fields["draft"] = f"D{draft}"
    return notify.notice(
        kind, at=now, conversation=work.display_id, inbox=work.inbox.inbox_id, **fields
    )


def fail(
    conversation_id: int,
    work: ReplyWork,
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
            **(usage_columns(usage) if usage is not None else {}),
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


def usage_columns(usage: Usage) -> dict[str, Any]:
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
