"""The figures for one row of the experiment report: a set of conversations (pure).

``experiments.analytics`` decides which conversations make a row; this computes, for them:

- **Customer reply rate.** Of the conversations with at least one public bot message
  (``sender_kind`` "bot", not private: the drafts sent, a rep's approvals included), the
  share with a customer message created after the first of them (equal ``created_at``
  ordered by Chatwoot's message id). A rep's own reply (``human``) is not a bot message.
- **Conversion** as ``experiments.outcomes`` reads it: rate = converted / conversations with
  a known outcome (converted or lost), with its 95% Wilson interval ((0, 1) with none).
- **Revenue per conversation** = deal values of converted conversations / conversations.
- **Edit distance**: the mean normalised distance of the drafts ``sent`` or ``edited``.
- **Timings**, in seconds, per draft: to draft = ``ready_at - last_customer_message_at``;
  to reply (the customer sees it) = ``sent_at - last_customer_message_at``; median and p90
  (``experiments.stats``).
- **Handoff rate** = handoffs / conversations, in all and by reason.
- **Guardrail failures** = drafts whose stored ``guardrails.failed`` names the check.
- **Cost** = every draft's usage at ``settings.claude_prices``, by kind, / conversations;
  **cache read share** = cache reads / (input + cache reads + 5-minute + 1-hour writes).
  Thinking is billed as output and is inside the output tokens and cost already: its
  **cost per conversation** (thinking tokens at the output price / conversations) is a
  part of the output cost, never added to the total; **thinking share** = thinking /
  output tokens.
- **Approvals per rep** (``decided_by``): drafts a rep decided (sent, edited, skipped,
  superseded), the share sent unedited with its Wilson interval, the mean edit distance,
  and the time from ready to decided. Autopilot sends have no rep.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, fields
from datetime import datetime
from decimal import Decimal

from core.models import DRAFT_STATES
from core.pricing import Prices, cost
from core.vocabulary import GUARDRAIL_CHECKS as CHECKS
from core.vocabulary import HANDOFF_REASONS as REASONS
from experiments.dataset import ConversationRow, Dataset, DraftRow, MessageRow, Usage
from experiments.promotion import DECIDED
from experiments.stats import conversion_ci, mean, median, percentile, wilson_interval

SENT = ("sent", "edited")  # a draft the customer got, as written or after a rep's edit


@dataclass(frozen=True)
class Timing:
    count: int
    median_s: float | None
    p90_s: float | None


@dataclass(frozen=True)
class Dollars:
    input: Decimal
    output: Decimal
    cache_write_5m: Decimal
    cache_write_1h: Decimal
    cache_read: Decimal

    @property
    def total(self) -> Decimal:
        return sum((getattr(self, f.name) for f in fields(self)), Decimal(0))


@dataclass(frozen=True)
class Metrics:
    """One row's figures (defined in the module docstring); None where nothing to divide by."""

    conversations: int
    contacts: int
    bot_replied: int  # conversations with a public bot message: the reply rate's denominator
    customer_replied: int
    customer_reply_rate: float | None
    known_outcomes: int
    conversions: int
    conversion_rate: float | None
    conversion_ci: tuple[float, float]
    revenue: Decimal
    revenue_per_conversation: Decimal | None
    drafts: int
    drafts_by_state: dict[str, int]
    edit_distance_mean: float | None
    edit_distance_count: int
    time_to_draft: Timing
    time_to_reply: Timing
    handoffs: int
    handoff_rate: float | None
    handoffs_by_reason: dict[str, int]
    handoff_rate_by_reason: dict[str, float | None]
    guardrail_checked_drafts: int
    guardrail_failed_drafts: int
    guardrail_failures: dict[str, int]
    usage: Usage
    spend: Dollars
    cost_per_conversation: Dollars | None
    cache_read_share: float | None
    thinking_cost_per_conversation: Decimal | None  # a part of cost_per_conversation.output
    thinking_share: float | None


@dataclass(frozen=True)
class RepApprovals:
    rep_id: int
    decided: int
    by_state: dict[str, int]
    approval_rate: float | None  # sent unedited / decided
    approval_ci: tuple[float, float]
    edit_distance_mean: float | None
    time_to_decide: Timing


def customer_replies(messages: Iterable[MessageRow]) -> dict[int, bool]:
    """Per conversation with a public bot message: did a customer write after the first?"""
    first_bot: dict[int, tuple[datetime, int]] = {}
    last_customer: dict[int, tuple[datetime, int]] = {}
    for m in messages:
        at = (m.created_at, m.id)
        if m.sender_kind == "bot" and not m.private:
            first_bot[m.conversation_id] = min(first_bot.get(m.conversation_id, at), at)
        elif m.sender_kind == "customer":
            last_customer[m.conversation_id] = max(last_customer.get(m.conversation_id, at), at)
    return {c: c in last_customer and last_customer[c] > at for c, at in first_bot.items()}


@dataclass(frozen=True)
class ConversationIndex:
    """The loaded rows by conversation, so each row's figures are a lookup away."""

    drafts: dict[int, list[DraftRow]]
    replied: dict[int, bool]
    handoffs: dict[int, list[str]]

    @classmethod
    def of(cls, data: Dataset, conversations: set[int]) -> ConversationIndex:
        drafts: dict[int, list[DraftRow]] = defaultdict(list)
        handoffs: dict[int, list[str]] = defaultdict(list)
        for draft in data.drafts:
            if draft.conversation_id in conversations:
                drafts[draft.conversation_id].append(draft)
        for handoff in data.handoffs:
            if handoff.conversation_id in conversations:
                handoffs[handoff.conversation_id].append(handoff.reason)
        return cls(dict(drafts), customer_replies(data.messages), dict(handoffs))


def summarise(
    conversations: Sequence[ConversationRow], index: ConversationIndex, prices: Prices
) -> Metrics:
    """Every figure for one row's conversations."""
    n = len(conversations)
    drafts = [d for c in conversations for d in index.drafts.get(c.id, [])]
    replies = [index.replied[c.id] for c in conversations if c.id in index.replied]
    known = [c for c in conversations if c.outcome.known]
    conversions = sum(1 for c in known if c.outcome.converted)
    revenue = sum(
        (c.outcome.value for c in conversations if c.outcome.converted and c.outcome.value),
        Decimal(0),
    )
    states = Counter(d.state for d in drafts)
    distances = [d.edit_distance for d in drafts if d.state in SENT and d.edit_distance is not None]
    reasons = Counter(reason for c in conversations for reason in index.handoffs.get(c.id, []))
    by_reason = _counts(REASONS, reasons)
    failures = Counter(name for d in drafts for name in set(d.failed_checks))
    usage = sum((d.usage for d in drafts), Usage())
    spend = dollars(usage, prices)
    return Metrics(
        conversations=n,
        contacts=len({c.contact_id for c in conversations if c.contact_id is not None}),
        bot_replied=len(replies),
        customer_replied=sum(replies),
        customer_reply_rate=_share(sum(replies), len(replies)),
        known_outcomes=len(known),
        conversions=conversions,
        conversion_rate=_share(conversions, len(known)),
        conversion_ci=conversion_ci(conversions, len(known)),
        revenue=revenue,
        revenue_per_conversation=revenue / n if n else None,
        drafts=len(drafts),
        drafts_by_state=_counts(DRAFT_STATES, states),
        edit_distance_mean=mean(distances),
        edit_distance_count=len(distances),
        time_to_draft=timing(_seconds(d.last_customer_message_at, d.ready_at) for d in drafts),
        time_to_reply=timing(_seconds(d.last_customer_message_at, d.sent_at) for d in drafts),
        handoffs=reasons.total(),
        handoff_rate=_share(reasons.total(), n),
        handoffs_by_reason=by_reason,
        handoff_rate_by_reason={r: _share(k, n) for r, k in by_reason.items()},
        guardrail_checked_drafts=sum(1 for d in drafts if d.guardrails_checked),
        guardrail_failed_drafts=sum(1 for d in drafts if d.failed_checks),
        guardrail_failures=_counts(CHECKS, failures),
        usage=usage,
        spend=spend,
        cost_per_conversation=Dollars(*(getattr(spend, f.name) / n for f in fields(spend)))
        if n
        else None,
        cache_read_share=usage.cache_read_share,
        thinking_cost_per_conversation=_billed(prices, "output_tokens", usage.thinking_tokens) / n
        if n
        else None,
        thinking_share=usage.thinking_share,
    )


# The kinds of token Anthropic bills, each at its own price (thinking is inside output).
BILLED = (
    "input_tokens",
    "output_tokens",
    "cache_write_5m_tokens",
    "cache_write_1h_tokens",
    "cache_read_input_tokens",
)


def dollars(usage: Usage, prices: Prices) -> Dollars:
    """Each kind of token at its own price (``core.pricing.cost``, one kind at a time)."""

    def one(kind: str) -> Decimal:
        return _billed(prices, kind, getattr(usage, kind))

    return Dollars(
        input=one("input_tokens"),
        output=one("output_tokens"),
        cache_write_5m=one("cache_write_5m_tokens"),
        cache_write_1h=one("cache_write_1h_tokens"),
        cache_read=one("cache_read_input_tokens"),
    )


def _billed(prices: Prices, kind: str, tokens: int) -> Decimal:
    """``tokens`` of one billed kind, in dollars."""
    return cost(prices, **{**dict.fromkeys(BILLED, 0), kind: tokens})


def timing(seconds: Iterable[float | None]) -> Timing:
    values = [s for s in seconds if s is not None]
    return Timing(len(values), median(values), percentile(values, 90))


def approvals(drafts: Iterable[DraftRow]) -> list[RepApprovals]:
    """Per rep (``decided_by``), the drafts they decided; autopilot sends have no rep."""
    by_rep: dict[int, list[DraftRow]] = defaultdict(list)
    for d in drafts:
        if d.decided_by is not None and d.state in DECIDED:
            by_rep[d.decided_by].append(d)
    reps = []
    for rep, decided in sorted(by_rep.items()):
        states = Counter(d.state for d in decided)
        distances = [
            d.edit_distance for d in decided if d.state in SENT and d.edit_distance is not None
        ]
        reps.append(
            RepApprovals(
                rep_id=rep,
                decided=len(decided),
                by_state=_counts(DECIDED, states),
                approval_rate=_share(states["sent"], len(decided)),
                approval_ci=wilson_interval(states["sent"], len(decided)),
                edit_distance_mean=mean(distances),
                time_to_decide=timing(_seconds(d.ready_at, d.decided_at) for d in decided),
            )
        )
    return reps


def _share(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def _seconds(start: datetime | None, end: datetime | None) -> float | None:
    return (end - start).total_seconds() if start is not None and end is not None else None


def _counts(names: Sequence[str], counter: Counter[str]) -> dict[str, int]:
    """Every known name (zeros included, so columns are stable), then any unexpected one."""
    return {**dict.fromkeys(names, 0), **counter}
