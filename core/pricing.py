"""What one Claude call costs, from its usage and the price table in settings.

Prices are dollars per million tokens, by kind, because Anthropic prices each differently:
input, output, 5-minute cache writes, 1-hour cache writes and cache reads. Thinking is billed
as output and is already inside ``output_tokens``, so ``thinking_tokens`` is never priced.
"""

from __future__ import annotations

from decimal import Decimal

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
