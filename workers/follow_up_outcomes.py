"""What comes of a follow-up, stored: its draft and the note a rep approves it from, or
the template (or message) out on autopilot; and the step's decision recorded."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import TYPE_CHECKING

from sqlmodel import Session, select

from core.autonomy_levels import Autonomy
from core.db import session_scope
from core.models import Draft, FollowUp
from workers import drafts, follow_up_decisions, follow_ups, notes, outbox
from workers.context import WorkerContext
from workers.llm import Usage
from workers.reply_outcomes import usage_columns

if TYPE_CHECKING:
    from workers.follow_up_work import Work

log = logging.getLogger(__name__)


def store_template(work: Work, deps: WorkerContext) -> None:
    now = deps.now()
    with session_scope(deps.engine) as session:
        follow_up = locked(session, work.follow_up_id)
        if follow_up is None or follow_up.state != "queued" or not follow_up.template_params:
            return
        preview = follow_ups.template_preview(follow_up.template_params)
        draft = new_draft(session, work, now, bubbles=[preview])
        assert draft.id is not None
        if work.autonomy is Autonomy.AUTOPILOT:
            drafts.retire(session, draft, "sent", now=now)
            draft.sent_text, draft.edit_distance = preview, 0.0
            outbox.add(
                session,
                key=f"draft:{draft.id}:bubble:0",
                conversation_id=work.conversation_id,
                draft_id=draft.id,
                content=preview,
                private=False,
                action="template",
                template_params=follow_up.template_params,
                now=now,
            )
            follow_up_decisions.record(follow_up, "sent", None, now)
            return
        note(session, work, draft, now, template=True)
        follow_up.state = "pending"


def new_draft(
    session: Session,
    work: Work,
    now: datetime,
    *,
    bubbles: list[str],
    state: str = "pending",
    usage: Usage | None = None,
) -> Draft:
    draft = Draft(
        conversation_id=work.conversation_id,
        state=state,
        bubbles=bubbles,
        knowledge_version=work.prompt.knowledge_version if work.prompt else None,
        created_at=now,
        ready_at=now,
        arm_id=work.arm_id,
        follow_up_id=work.follow_up_id,
        **(usage_columns(usage) if usage is not None else {}),
    )
    session.add(draft)
    session.flush()
    return draft


def note(
    session: Session,
    work: Work,
    draft: Draft,
    now: datetime,
    *,
    warnings: str = "",
    template: bool = False,
) -> None:
    assert draft.id is not None
    outbox.add(
        session,
        key=f"draft:{draft.id}:note",
        conversation_id=work.conversation_id,
        draft_id=draft.id,
        content=notes.draft_note(
            draft.id,
            draft.bubbles,
            mention_of=work.mention,
            warnings=warnings,
            follow_up=work.label,
            template=template,
        ),
        now=now,
    )
    log.info("conversation %s: follow-up D%s waits for a rep", work.display_id, draft.id)


def locked(session: Session, follow_up_id: int) -> FollowUp | None:
    query = select(FollowUp).where(FollowUp.id == follow_up_id).with_for_update()
    return session.exec(query.execution_options(populate_existing=True)).first()
