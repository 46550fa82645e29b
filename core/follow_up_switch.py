"""Whether an inbox follows up dormant leads: an admin's runtime switch, else wingman.toml.

Every change is audited (who, when, from, to), like autonomy: follow-ups write to
customers who did not write first.
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session

from core.config_store import ConfigStore
from core.models import AuditEntry, FollowUpSwitch


def follow_ups_enabled(session: Session, inbox_id: int, config: ConfigStore) -> bool:
    switch = session.get(FollowUpSwitch, inbox_id)
    if switch is not None:
        return switch.enabled
    return config.inbox(inbox_id).follow_ups.enabled


def set_follow_ups(
    session: Session,
    inbox_id: int,
    enabled: bool,
    *,
    actor: str,
    now: datetime,
    config: ConfigStore,
) -> bool:
    """Switch an inbox's follow-ups on or off, record who did it; returns what it was."""
    if not actor.strip():
        raise ValueError("an actor is required: who is switching follow-ups?")
    before = follow_ups_enabled(session, inbox_id, config)
    switch = session.get(FollowUpSwitch, inbox_id, with_for_update=True)
    if switch is None:
        session.add(
            FollowUpSwitch(inbox_id=inbox_id, enabled=enabled, updated_at=now, updated_by=actor)
        )
    else:
        switch.enabled, switch.updated_at, switch.updated_by = enabled, now, actor
    session.add(
        AuditEntry(
            action="follow_ups",
            subject=f"inbox:{inbox_id}",
            from_value=_word(before),
            to_value=_word(enabled),
            actor=actor,
            at=now,
        )
    )
    return before


def _word(enabled: bool) -> str:
    return "on" if enabled else "off"
