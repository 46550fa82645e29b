"""Giving a contact an arm of their inbox's experiment, once, and finding it again.

Sticky per contact: the first draft for a contact assigns an arm and every later
conversation uses it, so a returning customer is never quoted a different price. A new
version of that arm takes over its contacts.
"""

from __future__ import annotations

import random
from datetime import datetime

from sqlmodel import Session, col, select

from core.models import Arm, Assignment, Conversation, Draft, Experiment
from core.upserts import dialect_insert
from experiments import arms
from experiments.assignment import ArmStats, choose_fixed, choose_thompson
from experiments.outcomes import outcome


def arm_for(
    session: Session,
    *,
    contact_id: int,
    experiment: str,
    rng: random.Random,
    now: datetime,
) -> Arm | None:
    """The contact's arm (its newest version), assigning one on first use; None if the
    experiment isn't loaded or has no arms."""
    existing = _assignment(session, contact_id, experiment)
    if existing is None:
        spec = session.get(Experiment, experiment)
        current = arms.current_arms(session, experiment)
        if spec is None or not current:
            return None
        if spec.mode == "thompson":
            stats = arm_stats(session, experiment, [arm.key for arm in current])
            choice = choose_thompson(stats, rng, min_share=spec.min_share, draws=spec.draws)
        else:
            choice = choose_fixed({arm.key: arm.weight for arm in current}, rng)
        chosen = next(arm for arm in current if arm.key == choice.arm)
        assert chosen.id is not None
        # Two first drafts for one contact at once: the first insert wins, both use it.
        session.execute(
            dialect_insert(session, Assignment)
            .values(
                contact_id=contact_id,
                experiment=experiment,
                arm_key=chosen.key,
                arm_id=chosen.id,
                probability=choice.probability,
                assigned_at=now,
            )
            .on_conflict_do_nothing()
        )
        existing = _assignment(session, contact_id, experiment)
        assert existing is not None
    return latest_version(session, experiment, existing.arm_key)


def latest_version(session: Session, experiment: str, key: str) -> Arm | None:
    query = (
        select(Arm)
        .where(Arm.experiment == experiment, Arm.key == key)
        .order_by(col(Arm.version).desc())
    )
    return session.exec(query).first()


def arm_stats(session: Session, experiment: str, keys: list[str]) -> list[ArmStats]:
    """Conversions and conversations with a known outcome, per arm key (all its versions)."""
    rows = session.exec(
        select(Arm.key, Conversation)
        .join(Draft, col(Draft.arm_id) == col(Arm.id))
        .join(Conversation, col(Conversation.id) == col(Draft.conversation_id))
        .where(Arm.experiment == experiment)
    ).all()  # no DISTINCT: PostgreSQL can't compare the JSON columns; de-duplicated below
    counts = {key: [0, 0] for key in keys}
    seen: set[tuple[str, int | None]] = set()
    for key, conversation in rows:
        if key not in counts or (key, conversation.id) in seen:
            continue
        seen.add((key, conversation.id))
        result = outcome(conversation)
        if result.known:
            counts[key][1] += 1
            counts[key][0] += int(result.converted)
    return [ArmStats(key, conversions, trials) for key, (conversions, trials) in counts.items()]


def _assignment(session: Session, contact_id: int, experiment: str) -> Assignment | None:
    query = select(Assignment).where(
        Assignment.contact_id == contact_id, Assignment.experiment == experiment
    )
    return session.exec(query).first()
