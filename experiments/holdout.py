"""The randomized holdout behind re-activation: a contact's group, drawn once and kept.

The first time one of a contact's conversations becomes a dormant lead, the contact is
drawn into ``holdout`` with the inbox's holdout share, else ``follow_up``: one
``rng.random()`` against the share, recorded with the share and the probability of the
group it gave. Sticky like an arm, so a returning customer is never in both groups. Every
lead, in either group, is recorded with the time it was assigned: the report measures both
groups from there, which is what makes the comparison fair.
"""

from __future__ import annotations

import random
from datetime import datetime

from sqlmodel import Session, col, select

from core.models import Draft, FollowUpGroup, Lead
from core.upserts import dialect_insert

FOLLOW_UP = "follow_up"
HOLDOUT = "holdout"
GROUPS = (FOLLOW_UP, HOLDOUT)


def draw_group(share: float, rng: random.Random) -> tuple[str, float, float]:
    """(group, its probability, the draw) for a holdout share in [0, 1)."""
    if not 0 <= share < 1:
        raise ValueError(f"the holdout share must be in [0, 1), not {share}")
    draw = rng.random()
    if draw < share:
        return HOLDOUT, share, draw
    return FOLLOW_UP, 1 - share, draw


def group_for(
    session: Session,
    contact_id: int,
    *,
    inbox_id: int,
    share: float,
    rng: random.Random,
    now: datetime,
) -> FollowUpGroup:
    """The contact's group, drawn on first use. Two first uses at once: the first insert
    wins and both read it back."""
    existing = session.get(FollowUpGroup, contact_id)
    if existing is not None:
        return existing
    group, probability, draw = draw_group(share, rng)
    session.execute(
        dialect_insert(session, FollowUpGroup)
        .values(
            contact_id=contact_id,
            group=group,
            probability=probability,
            draw=draw,
            holdout_share=share,
            inbox_id=inbox_id,
            assigned_at=now,
        )
        .on_conflict_do_nothing()
    )
    found = session.exec(
        select(FollowUpGroup)
        .where(FollowUpGroup.contact_id == contact_id)
        .execution_options(populate_existing=True)
    ).one()
    return found


def lead_for(
    session: Session,
    conversation_id: int,
    *,
    contact_id: int,
    inbox_id: int,
    share: float,
    rng: random.Random,
    now: datetime,
) -> Lead:
    """The conversation's lead, recorded (with the contact's group) the first time it is
    dormant."""
    existing = _lead(session, conversation_id)
    if existing is not None:
        return existing
    group = group_for(session, contact_id, inbox_id=inbox_id, share=share, rng=rng, now=now)
    session.execute(
        dialect_insert(session, Lead)
        .values(
            conversation_id=conversation_id,
            contact_id=contact_id,
            inbox_id=inbox_id,
            group=group.group,
            arm_id=_first_arm(session, conversation_id),
            assigned_at=now,
        )
        .on_conflict_do_nothing()
    )
    lead = _lead(session, conversation_id)
    assert lead is not None
    return lead


def _lead(session: Session, conversation_id: int) -> Lead | None:
    query = select(Lead).where(Lead.conversation_id == conversation_id)
    return session.exec(query.execution_options(populate_existing=True)).first()


def _first_arm(session: Session, conversation_id: int) -> int | None:
    """The arm of the conversation's first draft: the report's attribution of it."""
    query = (
        select(Draft.arm_id)
        .where(Draft.conversation_id == conversation_id)
        .order_by(col(Draft.id))
        .limit(1)
    )
    return session.exec(query).first()
