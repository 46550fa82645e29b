"""What Claude cost today, from the usage each draft records (priced by core.pricing)."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, time
from decimal import Decimal

from sqlalchemy import func, select
from sqlmodel import Session, col

from core.models import Draft, Handoff
from core.pricing import Prices, cost
from workers import notify
from workers.context import WorkerContext

log = logging.getLogger(__name__)


def spent_today(session: Session, prices: Prices, *, now: datetime) -> Decimal:
    """Dollars spent on Claude since midnight UTC, from every draft's recorded usage."""
    midnight = datetime.combine(now.astimezone(UTC).date(), time(), tzinfo=UTC)
    totals = session.execute(
        select(
            func.coalesce(func.sum(Draft.input_tokens), 0),
            func.coalesce(func.sum(Draft.output_tokens), 0),
            func.coalesce(func.sum(Draft.cache_write_5m_tokens), 0),
            func.coalesce(func.sum(Draft.cache_write_1h_tokens), 0),
            func.coalesce(func.sum(Draft.cache_read_input_tokens), 0),
        ).where(col(Draft.created_at) >= midnight)
    ).one()
    return cost(
        prices,
        input_tokens=int(totals[0]),
        output_tokens=int(totals[1]),
        cache_write_5m_tokens=int(totals[2]),
        cache_write_1h_tokens=int(totals[3]),
        cache_read_input_tokens=int(totals[4]),
    )


def over_daily_cap(deps: WorkerContext) -> str | None:
    """Why no new Claude call may be made today, or None."""
    if deps.daily_cap is None:
        return None
    with Session(deps.engine) as session:
        spent = spent_today(session, deps.prices, now=deps.now())
    if spent < deps.daily_cap:
        return None
    return f"today's Claude spend (${spent:.2f}) reached the daily cap of ${deps.daily_cap}"


def notify_cap_once(deps: WorkerContext, reason: str) -> None:
    """The operator hears about the cap on its first handoff of the (UTC) day only."""
    now = deps.now()
    midnight = datetime.combine(now.astimezone(UTC).date(), time(), tzinfo=UTC)
    with Session(deps.engine) as session:
        today = session.execute(
            select(func.count())
            .select_from(Handoff)
            .where(col(Handoff.reason) == "spend_cap", col(Handoff.created_at) >= midnight)
        ).scalar_one()
    if today == 1:
        log.error("Claude calls stopped: %s; conversations go to the team", reason)
        deps.notify(notify.notice("spend_cap", at=now, detail=reason))
