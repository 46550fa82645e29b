"""How far the bot may act in an inbox: the admin's runtime switch, else the config file.

Every change is audited (who, when, from, to), because switching an inbox to autopilot is
the decision that lets the bot speak for the business.
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session

from core.autonomy_levels import Autonomy
from core.config_store import ConfigStore
from core.models import AutonomyChange, InboxSetting


def inbox_autonomy(session: Session, inbox_id: int, config: ConfigStore) -> Autonomy:
    setting = session.get(InboxSetting, inbox_id)
    if setting is not None:
        return Autonomy(setting.autonomy)
    return config.inbox(inbox_id).autonomy


def set_inbox_autonomy(
    session: Session,
    inbox_id: int,
    autonomy: Autonomy,
    *,
    actor: str,
    now: datetime,
    config: ConfigStore,
) -> Autonomy:
    """Switch an inbox, record who did it; returns what it was before."""
    if not actor.strip():
        raise ValueError("an actor is required: who is changing the autonomy?")
    before = inbox_autonomy(session, inbox_id, config)
    setting = session.get(InboxSetting, inbox_id, with_for_update=True)
    if setting is None:
        setting = InboxSetting(
            inbox_id=inbox_id, autonomy=autonomy.value, updated_at=now, updated_by=actor
        )
        session.add(setting)
    else:
        setting.autonomy, setting.updated_at, setting.updated_by = autonomy.value, now, actor
    session.add(
        AutonomyChange(
            subject="inbox",
            subject_id=str(inbox_id),
            from_autonomy=before.value,
            to_autonomy=autonomy.value,
            actor=actor,
            changed_at=now,
        )
    )
    return before
