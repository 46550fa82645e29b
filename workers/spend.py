"""What Claude cost today, from the usage each draft records (priced by core.pricing)."""

from __future__ import annotations

from datetime import UTC, datetime, time
from decimal import Decimal

from sqlalchemy import func, select
from sqlmodel import Session, col

from core.models import Draft
from core.pricing import cost
from core.settings import Prices


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
