"""Contacts who asked not to be contacted again: recorded once, and for good.

An opt-out stops every follow-up to the contact, in every conversation; replies to what the
contact writes themselves still go out. ``core.stop_words`` finds the customer's own words.
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlmodel import Session, col, select

from core.models import OptOut
from core.upserts import dialect_insert

log = logging.getLogger(__name__)

SOURCES = ("keyword", "model", "rep")


def opted_out(session: Session, contact_id: int | None) -> bool:
    if contact_id is None:
        return False
    query = select(OptOut.contact_id).where(OptOut.contact_id == contact_id)
    return session.exec(query).first() is not None


def opted_out_among(session: Session, contact_ids: set[int]) -> set[int]:
    if not contact_ids:
        return set()
    query = select(OptOut.contact_id).where(col(OptOut.contact_id).in_(contact_ids))
    return set(session.exec(query))


def opt_out(
    session: Session,
    contact_id: int,
    *,
    source: str,
    now: datetime,
    detail: str | None = None,
    conversation_id: int | None = None,
    actor: str | None = None,
) -> bool:
    """Record the opt-out; True if it is news (the first one for this contact wins)."""
    if source not in SOURCES:
        raise ValueError(f"unknown opt-out source {source!r}; expected one of {SOURCES}")
    inserted = session.execute(
        dialect_insert(session, OptOut)
        .values(
            contact_id=contact_id,
            source=source,
            detail=(detail or None) and detail[:200],
            conversation_id=conversation_id,
            actor=actor,
            opted_out_at=now,
        )
        .on_conflict_do_nothing()
        .returning(OptOut.contact_id)
    ).first()
    new = inserted is not None
    if new:
        log.info(
            "contact %s opted out (%s%s): no follow-up will be sent to them",
            contact_id,
            source,
            f", conversation {conversation_id}" if conversation_id else "",
        )
    return new
