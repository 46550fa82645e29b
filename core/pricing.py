"""Claude's price table, and what one Claude call costs from its usage and the prices in settings.

Prices are dollars per million tokens, by kind, because Anthropic prices each differently:
input, output, 5-minute cache writes, 1-hour cache writes and cache reads. Thinking is billed
as output and is already inside ``output_tokens``, so ``thinking_tokens`` is never priced.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

MILLION = Decimal(1_000_000)


@dataclass(frozen=True)
class Prices:
    """Claude's prices in dollars per million tokens (defaults: a current Sonnet)."""

    input: Decimal = Decimal("3")
    output: Decimal = Decimal("15")
    cache_write_5m: Decimal = Decimal("3.75")
    cache_write_1h: Decimal = Decimal("6")
    cache_read: Decimal = Decimal("0.30")


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
