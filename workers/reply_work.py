"""What drafting one reply works from, gathered in one transaction.

The waiting customer messages, the prompt for Claude, and the autonomy the draft may act
with: the inbox's, capped by a human assignee, the experiment arm and the channel.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from decimal import Decimal
from typing import cast

from sqlmodel import Session

from core.autonomy import inbox_autonomy
from core.autonomy_levels import Autonomy
from core.config import InboxConfig
from core.models import Arm, Conversation, Message
from experiments import enrolment
from workers import drafts, history, notes
from workers.context import WorkerContext
from workers.gate import bot_may_act, effective_autonomy
from workers.llm import CacheTTL, Prompt, Turn
from workers.playbook import ArmLike, arm_text, knowledge_text, system_text
from workers.windows import Window

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ReplyWork:
    """Everything drafting one reply needs, read before Claude is called."""

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


def gather(
    session: Session, conversation_id: int, deps: WorkerContext, *, hint: str | None
) -> ReplyWork | None:
    """The conversation's reply work, or None when there is nothing the bot should answer."""
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
    acting = acting_as(session, conversation, inbox, deps, autonomy)
    arm, autonomy = acting.arm, acting.autonomy
    knowledge = deps.knowledge.load(inbox.knowledge_path)
    prompt = prompt_for(session, conversation, inbox, deps, arm=arm, hint=hint)
    return ReplyWork(
        conversation.display_id,
        inbox,
        waiting,
        prompt,
        notes.mention_for(conversation, inbox),
        knowledge=knowledge.text,
        autonomy=autonomy,
        window_open=acting.window.open,
        arm_id=arm.id if arm else None,
        price_floor=acting.price_floor,
        price_ceiling=acting.price_ceiling,
    )


@dataclass(frozen=True)
class Acting:
    """How far the bot may go in a conversation now: the contact's experiment arm, the
    autonomy it may act with, and the channel's window."""

    arm: Arm | None
    autonomy: Autonomy
    window: Window

    @property
    def price_floor(self) -> Decimal | None:
        return Decimal(self.arm.price_floor) if self.arm and self.arm.price_floor else None

    @property
    def price_ceiling(self) -> Decimal | None:
        return Decimal(self.arm.price_ceiling) if self.arm and self.arm.price_ceiling else None


def acting_as(
    session: Session,
    conversation: Conversation,
    inbox: InboxConfig,
    deps: WorkerContext,
    autonomy: Autonomy,
) -> Acting:
    """``autonomy`` (the inbox's, capped by a human assignee) capped again by the contact's
    arm (assigned on first use) and by a channel Wingman doesn't know; replies and
    follow-ups alike."""
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
    channel_window = drafts.conversation_window(session, conversation, deps.now())
    if not channel_window.known and autonomy is Autonomy.AUTOPILOT:
        # A channel Wingman doesn't know fails closed: a rep sends, never the bot alone.
        autonomy = Autonomy.DRAFT
    return Acting(arm, autonomy, channel_window)


def prompt_for(
    session: Session,
    conversation: Conversation,
    inbox: InboxConfig,
    deps: WorkerContext,
    *,
    arm: ArmLike | None,
    hint: str | None = None,
    follow_up: str | None = None,
) -> Prompt:
    """What Claude writes from: the playbook (with the arm's part), the knowledge, the
    conversation with a returning customer's earlier ones, and a rep's hint or a follow-up's
    instruction after the cached prefix."""
    assert conversation.id is not None
    knowledge = deps.knowledge.load(inbox.knowledge_path)
    return Prompt(
        playbook=system_text(inbox_name=inbox.name, locales=inbox.locales) + arm_text(arm),
        knowledge=knowledge_text(knowledge.text),
        knowledge_version=knowledge.version,
        history=_with_earlier(
            session, conversation, history.turns(drafts.history(session, conversation.id))
        ),
        hint=hint,
        follow_up=follow_up,
        cache_ttl=cast(CacheTTL, deps.cache_ttl),
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
