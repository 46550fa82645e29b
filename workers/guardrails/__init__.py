"""Guardrails checked in code on every draft, whatever the model was told (pure).

A prompt can be talked out of its rules; these checks can't. They read the reply in one
normal form (``.text``), so invisible characters, odd spaces and compatibility digits hide
nothing from them. Each draft gets four:

- ``prices``: every price and discount follows the inbox's price list (``.prices``);
- ``links``: every link goes to an allow-listed domain (``.links``);
- ``length``: 1 to 4 bubbles, none empty or too long, not too long in all;
- ``leaks``: no echo of the system prompt or the knowledge's internal sections
  (``.leaks``).

The result is stored on the draft (``Guardrails.to_json``) and the failures go into the
rep's note (``describe_failures``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from core.config import InboxConfig
from core.vocabulary import GUARDRAIL_CHECKS
from workers.guardrails.leaks import check_leaks, split_knowledge
from workers.guardrails.links import check_links
from workers.guardrails.prices import check_prices
from workers.guardrails.text import normalise

CHECKS = GUARDRAIL_CHECKS
# A note line stays readable; the stored detail names the rest by count.
_SHOWN_PROBLEMS = 3


@dataclass(frozen=True)
class Limits:
    """How long a reply may be. Chat apps show a wall of text badly, and the playbook asks
    for 1 to 4 short bubbles; characters are Unicode code points."""

    max_bubbles: int = 4
    max_bubble_chars: int = 600
    max_total_chars: int = 1200

    def __post_init__(self) -> None:
        if min(self.max_bubbles, self.max_bubble_chars, self.max_total_chars) < 1:
            raise ValueError(f"every limit must be at least 1: {self}")


DEFAULT_LIMITS = Limits()


@dataclass(frozen=True)
class CheckResult:
    name: str
    passed: bool
    detail: str  # what failed, for the rep's note; a short summary when it passed


@dataclass(frozen=True)
class Guardrails:
    results: tuple[CheckResult, ...]

    @property
    def passed(self) -> bool:
        return all(r.passed for r in self.results)

    @property
    def failed(self) -> list[CheckResult]:
        return [r for r in self.results if not r.passed]

    def result(self, name: str) -> CheckResult:
        """The result of the check called ``name``; KeyError if it wasn't run."""
        for r in self.results:
            if r.name == name:
                return r
        raise KeyError(name)

    def to_json(self) -> dict[str, Any]:
        """What the draft stores: JSON types only, keyed by check for querying."""
        return {
            "passed": self.passed,
            "failed": [r.name for r in self.failed],
            "checks": {r.name: {"passed": r.passed, "detail": r.detail} for r in self.results},
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Guardrails:
        checks = data["checks"]  # KeyError, not an empty pass, for a broken record
        return cls(
            tuple(
                CheckResult(name, bool(c["passed"]), str(c["detail"])) for name, c in checks.items()
            )
        )


def check(
    bubbles: Sequence[str],
    *,
    inbox: InboxConfig,
    knowledge: str,
    system_prompt: str,
    price_floor: Decimal | None = None,
    price_ceiling: Decimal | None = None,
    limits: Limits = DEFAULT_LIMITS,
) -> Guardrails:
    """Run every check on one draft.

    ``knowledge`` is the inbox's knowledge file, internal sections included. ``system_prompt``
    is what the model was told, with or without the knowledge block: the internal sections
    are checked from ``knowledge`` either way, and the public knowledge may always be quoted.
    ``price_floor`` and ``price_ceiling`` are an experiment arm's price range: they bound
    every product price and discounted price the reply states, on top of each product's
    [min, list], but not fees such as shipping.
    """
    if price_floor is not None and price_ceiling is not None and price_floor > price_ceiling:
        raise ValueError(f"price_floor {price_floor} is above price_ceiling {price_ceiling}")
    text = normalise("\n\n".join(bubbles))
    public, internal = split_knowledge(knowledge)
    links = check_links(text, inbox.link_domains)
    prices = check_prices(
        text,
        inbox.prices,
        public=public,
        floor=price_floor,
        ceiling=price_ceiling,
        links=links.spans,
    )
    listed = frozenset(i.list_price for i in inbox.prices.items) if inbox.prices else frozenset()
    leaks = check_leaks(
        text,
        system_prompt=system_prompt,
        public=public,
        internal=internal,
        list_prices=listed,
        offered=prices.offered,
    )
    length = check_length(bubbles, limits)  # as sent: what the customer's app shows
    chars = sum(len(b) for b in bubbles)
    return Guardrails(
        (
            _result("prices", prices.problems, _count(prices.checked, "price", "no prices")),
            _result("links", links.problems, _count(links.count, "link", "no links")),
            _result("length", length, f"{_plural(len(bubbles), 'bubble')}, {chars:,} characters"),
            _result("leaks", leaks, "no echo of the prompt or internal notes"),
        )
    )


def check_length(bubbles: Sequence[str], limits: Limits = DEFAULT_LIMITS) -> list[str]:
    """Problems with the reply's shape: bubble count, empty or long bubbles, total length."""
    problems = []
    if not bubbles:
        problems.append("no bubbles")
    elif len(bubbles) > limits.max_bubbles:
        problems.append(f"{len(bubbles)} bubbles, at most {limits.max_bubbles}")
    for number, bubble in enumerate(bubbles, start=1):
        if not bubble.strip():
            problems.append(f"bubble {number} is empty")
        elif len(bubble) > limits.max_bubble_chars:
            most = limits.max_bubble_chars
            problems.append(f"bubble {number} has {len(bubble):,} characters, at most {most:,}")
    total = sum(len(b) for b in bubbles)
    if total > limits.max_total_chars:
        problems.append(f"{total:,} characters in all, at most {limits.max_total_chars:,}")
    return problems


def describe_failures(guardrails: Guardrails) -> str:
    """One line per failed check for the rep's note, e.g. "⛔ prices: €99 for Trail Tent 2P
    is below the lowest allowed €219.00"; empty when every check passed."""
    return "\n".join(f"⛔ {r.name}: {r.detail}" for r in guardrails.failed)


def _result(name: str, problems: Sequence[str], summary: str) -> CheckResult:
    if not problems:
        return CheckResult(name, True, summary)
    detail = "; ".join(problems[:_SHOWN_PROBLEMS])
    if len(problems) > _SHOWN_PROBLEMS:
        detail += f" (and {len(problems) - _SHOWN_PROBLEMS} more)"
    return CheckResult(name, False, detail)


def _count(n: int, noun: str, none: str) -> str:
    return f"{_plural(n, noun)} checked" if n else none


def _plural(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"
