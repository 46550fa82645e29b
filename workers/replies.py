"""Drafting a reply: the waiting customer messages, Claude's answer, the draft note.

``draft_reply`` is the core the reply job calls once the customer has gone quiet and the
conversation's generation lock is held. It never holds a database transaction open while
Claude thinks.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal
from time import perf_counter, sleep
from typing import Any, cast

from sqlalchemy import func
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from core.autonomy import inbox_autonomy
from core.config import ConfigStore, InboxConfig
from core.db import session_scope
from core.knowledge import KnowledgeStore
from core.models import Conversation, Draft, Handoff, Message, OutboxItem
from core.settings import Autonomy, Prices
from experiments import enrolment
from workers import (
    drafts,
    guardrails,
    handoffs,
    history,
    notes,
    notify,
    outbox,
    posting,
    reminders,
    spend,
    takeover,
    undelivered,
)
from workers.deliveries import HumanReplied, OwnEcho
from workers.gate import bot_may_act, effective_autonomy
from workers.llm import CacheTTL, Composer, ComposerError, Prompt, Reply, Turn, Usage
from workers.playbook import arm_text, knowledge_text, system_text
from workers.text import join_bubbles

log = logging.getLogger(__name__)


@dataclass
class ReplyDeps:
    """What drafting needs; the job builds the real ones, tests pass fakes."""

    engine: Engine
    config: ConfigStore
    knowledge: KnowledgeStore
    composer: Composer | None
    chatwoot: outbox.Poster | None
    now: Callable[[], datetime]
    cache_ttl: str = "1h"
    takeover_distance: float = 0.3
    # Called with (conversation id, attempt) when Chatwoot failed transiently and posting
    # must be retried later; the job wires it to a delayed RQ job.
    retry_later: Callable[[int, int], None] = lambda _conversation_id, _attempt: None
    # Autopilot's pause before each bubble (a person typing); tests pass a recorder.
    pause: Callable[[float], None] = sleep
    prices: Prices = field(default_factory=Prices)
    # Arm assignment's randomness, injected (tests pass a seeded Random).
    rng: random.Random = field(default_factory=random.SystemRandom)
    daily_cap: Decimal | None = None
    # Sends a notice to NOTIFY_WEBHOOK_URL (through its own retried job).
    notify: Callable[[dict[str, Any]], None] = lambda _notice: None
    # Whether Wingman acts in a Chatwoot account (CHATWOOT_ACCOUNT_IDS).
    serves: Callable[[int], bool] = lambda _account: True


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
    deps: ReplyDeps,
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
    over_cap = _over_daily_cap(deps)
    if deps.composer is None:
        reason = "Claude is not configured (ANTHROPIC_API_KEY is unset)"
        outcome = _fail(conversation_id, work, deps, reason, category="not_configured")
    elif over_cap is not None:
        outcome = _fail(conversation_id, work, deps, over_cap, category="spend_cap")
        _notify_spend_cap_once(deps, over_cap)
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
    deliver(conversation_id, deps)
    return covered_up_to


def deliver(conversation_id: int, deps: ReplyDeps, *, attempt: int = 0) -> None:
    """Post what the outbox holds for the conversation; schedule a retry if Chatwoot fails.

    Chatwoot failures don't count against Claude's budget: the outbox keeps retrying. A
    public post refused for good hands the conversation to a human, whose note then goes
    out in the same call.
    """
    if deps.chatwoot is None:
        return
    for _ in range(2):
        try:
            posting.deliver_pending(
                deps.engine, conversation_id, deps.chatwoot, now=deps.now, pause=deps.pause
            )
        except outbox.RetryLater:
            deps.retry_later(conversation_id, attempt)
            return
        with session_scope(deps.engine) as session:
            drafts.record_sent(session, conversation_id)
            if not _hand_off_refused(session, conversation_id, deps):
                return


def _hand_off_refused(session: Session, conversation_id: int, deps: ReplyDeps) -> bool:
    conversation = session.get(Conversation, conversation_id)
    if conversation is None:
        return False
    inbox = deps.config.inbox(conversation.inbox_id or 0)
    return undelivered.hand_off_refused(
        session,
        conversation_id,
        now=deps.now(),
        inbox=inbox,
        mention=mention_for(conversation, inbox),
    )


def mention_for(conversation: Conversation, inbox: InboxConfig) -> str | None:
    """Whom the draft note notifies: the assignee, else the inbox's on-duty agent."""
    if conversation.assignee_type == "User" and conversation.assignee_id:
        name = conversation.assignee_name or f"agent {conversation.assignee_id}"
        return notes.mention(conversation.assignee_id, name)
    if inbox.on_duty_agent is not None:
        return notes.mention(inbox.on_duty_agent.id, inbox.on_duty_agent.name)
    return None


def _gather(
    session: Session, conversation_id: int, deps: ReplyDeps, *, hint: str | None
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
        mention_for(conversation, inbox),
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
    conversation_id: int, work: _Work, reply: Reply, deps: ReplyDeps, *, hint: str | None
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
            _send_on_autopilot(session, conversation_id, draft, work, reply, now=now)
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


# The model's handoff suggestions, as the handoff reasons the bot records itself.
AUTOPILOT_HANDOFFS = {
    "upset": "upset",
    "ready_to_pay": "ready_to_pay",
    "missing_knowledge": "missing_knowledge",
}


def _send_on_autopilot(
    session: Session,
    conversation_id: int,
    draft: Draft,
    work: _Work,
    reply: Reply,
    *,
    now: datetime,
) -> None:
    """Send the bubbles as public messages, marked as automated; hand off if the model says so.

    Only called once every guardrail passed and the channel window is open.
    """
    assert draft.id is not None
    bubbles = list(draft.bubbles)
    if not _has_autopilot_history(session, conversation_id):
        # Some channels and laws require automated messages to say so; once per conversation.
        bubbles[0] = f"{bubbles[0]} {work.inbox.disclosure}"
    drafts.retire(session, draft, "sent", now=now)
    draft.sent_text, draft.edit_distance, draft.sent_at = join_bubbles(bubbles), 0.0, None
    for position, bubble in enumerate(bubbles):
        outbox.add(
            session,
            key=f"draft:{draft.id}:bubble:{position}",
            conversation_id=conversation_id,
            draft_id=draft.id,
            content=bubble,
            private=False,
            action="autoreply",
            position=position,
            now=now,
        )
    if reply.handoff is not None and reply.handoff.reason in AUTOPILOT_HANDOFFS:
        handoffs.hand_off(
            session,
            conversation_id,
            reason=AUTOPILOT_HANDOFFS[reply.handoff.reason],
            key=f"draft:{draft.id}:handoff",
            now=now,
            inbox=work.inbox,
            note=notes.handoff_note(
                notes.HANDOFF_LABELS[reply.handoff.reason], reply.handoff.note, work.waiting
            ),
            draft_id=draft.id,
        )


def _has_autopilot_history(session: Session, conversation_id: int) -> bool:
    query = select(OutboxItem.id).where(
        OutboxItem.conversation_id == conversation_id, OutboxItem.action == "autoreply"
    )
    return session.exec(query).first() is not None


def _notice(kind: str, work: _Work, now: datetime, **fields: Any) -> dict[str, Any]:
    draft = fields.pop("draft", None)
    if draft is not None:
        fields["draft"] = f"D{draft}"
    return notify.notice(
        kind, at=now, conversation=work.display_id, inbox=work.inbox.inbox_id, **fields
    )


def _over_daily_cap(deps: ReplyDeps) -> str | None:
    """Why no new Claude call may be made today, or None."""
    if deps.daily_cap is None:
        return None
    with Session(deps.engine) as session:
        spent = spend.spent_today(session, deps.prices, now=deps.now())
    if spent < deps.daily_cap:
        return None
    return f"today's Claude spend (${spent:.2f}) reached the daily cap of ${deps.daily_cap}"


def _notify_spend_cap_once(deps: ReplyDeps, reason: str) -> None:
    """The operator hears about the cap on its first handoff of the (UTC) day only."""
    now = deps.now()
    midnight = datetime.combine(now.astimezone(UTC).date(), time(), tzinfo=UTC)
    with Session(deps.engine) as session:
        today = session.exec(
            select(func.count())
            .select_from(Handoff)
            .where(Handoff.reason == "spend_cap", col(Handoff.created_at) >= midnight)
        ).one()
    if today == 1:
        log.error("Claude calls stopped: %s; conversations go to the team", reason)
        deps.notify(notify.notice("spend_cap", at=now, detail=reason))


def _fail(
    conversation_id: int,
    work: _Work,
    deps: ReplyDeps,
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


def remind(
    session: Session, deps: ReplyDeps, *, interval: timedelta
) -> list[tuple[int, dict[str, Any]]]:
    """Queue due reminders for pending drafts: (conversation, notice) for each new one.

    Each stage's note has its own outbox key, so a reminder is written (and noticed) once.
    """
    now = deps.now()
    due: list[tuple[int, dict[str, Any]]] = []
    for draft, conversation in drafts.pending_with_conversations(session):
        assert draft.id is not None and conversation.id is not None
        stage = reminders.due_stage(draft.ready_at or draft.created_at, now, interval)
        if stage == 0:
            continue
        inbox = deps.config.inbox(conversation.inbox_id or 0)
        channel_window = drafts.conversation_window(session, conversation, now)
        if not reminders.may_remind_now(inbox, channel_window, now):
            continue  # waits for the morning
        note = reminders.reminder(
            draft.id,
            stage,
            inbox=inbox,
            rep=mention_for(conversation, inbox),
            waited=now - (draft.ready_at or draft.created_at),
        )
        key = f"draft:{draft.id}:remind:{stage}"
        if outbox.exists(session, key):
            continue
        outbox.add(session, key=key, conversation_id=conversation.id, content=note.text, now=now)
        body = notify.notice(
            "reminder",
            at=now,
            conversation=conversation.display_id,
            draft=f"D{draft.id}",
            stage=stage,
        )
        due.append((conversation.id, body))
    return due


def human_replied(action: HumanReplied, deps: ReplyDeps) -> None:
    """A human answered publicly: count a copied draft as sent, or let the human take over."""
    with session_scope(deps.engine) as session:
        outcome = takeover.human_replied(
            session,
            action.conversation_id,
            message_id=action.message_id,
            text=action.text,
            user_id=action.user_id,
            now=deps.now(),
            threshold=deps.takeover_distance,
        )
    log.info("conversation %s: a human replied (%s)", action.conversation_id, outcome)
    deliver(action.conversation_id, deps)


def own_echo(action: OwnEcho, deps: ReplyDeps) -> None:
    """Chatwoot echoed one of Wingman's messages: settle its outbox item if still open, and
    hand the conversation over if the channel refused it."""
    with session_scope(deps.engine) as session:
        changed = outbox.settle_echo(
            session,
            conversation_id=action.conversation_id,
            message_id=action.message_id,
            key=action.key,
            now=deps.now(),
        )
        if action.channel_error is not None:
            refused = outbox.channel_refused(
                session,
                conversation_id=action.conversation_id,
                key=action.key,
                error=action.channel_error,
            )
            changed = changed or (refused.key if refused else None)
    if changed is not None:
        deliver(action.conversation_id, deps)


def hand_over(
    conversation_id: int, deps: ReplyDeps, *, reason: str, key: str, why: str | None = None
) -> None:
    """Hand a conversation to humans. Without ``why`` (autonomy off) there is no note and no
    assignment; with it, a note for the rep or on-duty agent and the inbox's assignment."""
    with session_scope(deps.engine) as session:
        conversation = session.get(Conversation, conversation_id)
        if conversation is None:
            return
        inbox = deps.config.inbox(conversation.inbox_id or 0)
        note = None
        if why is not None:
            waiting = drafts.waiting_messages(session, conversation_id)
            note = notes.handoff_note(why, None, waiting)
            mention = mention_for(conversation, inbox)
            note = f"{mention} {note}" if mention else note
        handoffs.hand_off(
            session,
            conversation_id,
            reason=reason,
            key=key,
            now=deps.now(),
            inbox=inbox,
            note=note,
            assign=why is not None,
        )
        display_id = conversation.display_id
    deps.notify(notify.notice("handoff", at=deps.now(), conversation=display_id, reason=reason))
    deliver(conversation_id, deps)
