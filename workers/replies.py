"""Drafting a reply: the waiting customer messages, Claude's answer, the draft note.

``draft_reply`` is the core the reply job calls once the customer has gone quiet and the
conversation's generation lock is held. It never holds a database transaction open while
Claude thinks: what it works from is gathered first (``workers.reply_work``), and what
comes of it stored afterwards (``workers.reply_outcomes``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from time import perf_counter
from typing import Any

from core.db import session_scope
from workers import outgoing, spend
from workers.context import WorkerContext
from workers.llm import ComposerError
from workers.reply_outcomes import fail, store_draft
from workers.reply_work import gather

log = logging.getLogger(__name__)


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
        work = gather(session, conversation_id, deps, hint=hint)
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
        outcome = fail(conversation_id, work, deps, reason, category="not_configured")
    elif over_cap is not None:
        outcome = fail(conversation_id, work, deps, over_cap, category="spend_cap")
        spend.notify_cap_once(deps, over_cap)
    else:
        asked = perf_counter()
        try:
            reply = deps.composer.compose(work.prompt)
        except ComposerError as exc:
            timing.claude_seconds += perf_counter() - asked
            log.warning("conversation %s: Claude didn't answer: %s", work.display_id, exc)
            reason = f"Claude didn't answer ({exc})"
            outcome = fail(
                conversation_id, work, deps, reason, category="claude_failed", usage=exc.usage
            )
        else:
            timing.claude_seconds += perf_counter() - asked
            outcome = store_draft(conversation_id, work, reply, deps, hint=hint)
    if outcome is not None:
        deps.notify(outcome)  # after the commit: a notice never reports a rolled-back draft
    outgoing.post(conversation_id, deps)
    return covered_up_to
