"""What a rep's decision on a follow-up draft (or its channel's verdict) means for the
follow-up step it was written for."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Session

from core.models import Draft, FollowUp

# The draft's fate -> the step's state, and the reason recorded for it.
_STEP = {
    "sent": ("sent", None),
    "edited": ("sent", None),
    "skipped": ("skipped", "rep_skipped: a rep skipped the draft"),
    "expired": ("skipped", "expired: its draft waited past the channel's window"),
}


def follow_up_of(session: Session, draft: Draft) -> FollowUp | None:
    if draft.follow_up_id is None:
        return None
    return session.get(FollowUp, draft.follow_up_id)


def template_of(session: Session, draft: Draft) -> dict[str, Any] | None:
    """The template parameters when the draft is a follow-up's WhatsApp template."""
    follow_up = follow_up_of(session, draft)
    if follow_up is None or follow_up.kind != "template":
        return None
    return follow_up.template_params


def record(follow_up: FollowUp, state: str, reason: str | None, now: datetime) -> None:
    """A step's decision: its state, why (for any but sent), and when."""
    follow_up.state, follow_up.reason, follow_up.decided_at = state, reason, now


def decided(session: Session, draft: Draft, fate: str, *, now: datetime) -> None:
    """Record a follow-up draft's fate on its step; replies (no step) are left alone."""
    follow_up = follow_up_of(session, draft)
    if follow_up is None or fate not in _STEP:
        return
    record(follow_up, *_STEP[fate], now)


def refused(session: Session, draft: Draft, error: str, *, now: datetime) -> FollowUp | None:
    """Chatwoot, or the channel after Chatwoot's 200, refused the follow-up: not sent."""
    follow_up = follow_up_of(session, draft)
    if follow_up is None:
        return None
    record(follow_up, "undelivered", f"channel_refused: {error}", now)
    return follow_up
