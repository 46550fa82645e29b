"""What Claude costs, from the usage each draft records and a price table in settings.

Prices are dollars per million tokens, by kind, because Anthropic prices each differently:
input, output, 5-minute cache writes, 1-hour cache writes and cache reads. Thinking is billed
as output and is already inside ``output_tokens``, so ``thinking_tokens`` is never priced.
"""

from __future__ import annotations

from datetime import UTC, datetime, time
from decimal import Decimal

from sqlalchemy import func, select
from sqlmodel import Session, col

from core.models import Draft
from core.settings import Prices

MILLION = Decimal(1_000_000)


def cost(
    prices: Prices,
    *,
    input_tokens: int,
    output_tokens: int,
    cache_write_5m_tokens: int,
    cache_write_1h_tokens: int,
    cache_read_input_tokens: int,
) -> Decimal:
    """Dollars for one call's usage."""
    return (
        input_tokens * prices.input
        + output_tokens * prices.output
        + cache_write_5m_tokens * prices.cache_write_5m
        + cache_write_1h_tokens * prices.cache_write_1h
        + cache_read_input_tokens * prices.cache_read
    ) / MILLION


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
