"""The report as CSV: one flat row per arm, arm version and inbox (docs/report.md names
every column)."""

from __future__ import annotations

import csv
import io
from decimal import Decimal
from typing import Any

from core.models import DRAFT_STATES
from core.vocabulary import GUARDRAIL_CHECKS as CHECKS
from core.vocabulary import HANDOFF_REASONS as REASONS
from experiments.analytics import ArmReport, Report
from experiments.metrics import Timing
from experiments.report.document import baseline_numbers, plain

_TIMING_PARTS = ("median_s", "p90_s", "drafts")
_USAGE = (
    "input_tokens",
    "output_tokens",
    "thinking_tokens",
    "cache_write_5m_tokens",
    "cache_write_1h_tokens",
    "cache_read_input_tokens",
)
_COSTS = ("input", "output", "cache_write_5m", "cache_write_1h", "cache_read")

CSV_COLUMNS: tuple[str, ...] = (
    "level",
    "experiment",
    "arm",
    "version",
    "inbox_id",
    "conversations",
    "contacts",
    "bot_replied_conversations",
    "customer_replied_conversations",
    "customer_reply_rate",
    "known_outcomes",
    "conversions",
    "conversion_rate",
    "conversion_ci_low",
    "conversion_ci_high",
    "p_best",
    "revenue",
    "revenue_per_conversation",
    "drafts",
    *(f"drafts_{state}" for state in DRAFT_STATES),
    "edit_distance_mean",
    "edit_distance_drafts",
    *(f"{t}_{part}" for t in ("time_to_draft", "time_to_reply") for part in _TIMING_PARTS),
    "handoffs",
    "handoff_rate",
    *(f"handoff_rate_{reason}" for reason in REASONS),
    "guardrail_checked_drafts",
    "guardrail_failed_drafts",
    *(f"guardrail_failed_{check}" for check in CHECKS),
    *_USAGE,
    "spend_usd",
    *(f"cost_{kind}_usd" for kind in _COSTS),
    "cost_total_usd",
    "cost_thinking_usd",
    "cache_read_share",
    "thinking_share",
)


def csv_row(level: str, row: ArmReport) -> dict[str, Any]:
    """One CSV row: every number of an arm row, flattened under ``CSV_COLUMNS``."""
    m = row.metrics
    per = m.cost_per_conversation
    return {
        "level": level,
        "experiment": row.experiment,
        "arm": row.arm,
        "version": row.version,
        "inbox_id": row.inbox_id,
        "conversations": m.conversations,
        "contacts": m.contacts,
        "bot_replied_conversations": m.bot_replied,
        "customer_replied_conversations": m.customer_replied,
        "customer_reply_rate": m.customer_reply_rate,
        "known_outcomes": m.known_outcomes,
        "conversions": m.conversions,
        "conversion_rate": m.conversion_rate,
        "conversion_ci_low": m.conversion_ci[0],
        "conversion_ci_high": m.conversion_ci[1],
        "p_best": row.p_best,
        "revenue": m.revenue,
        "revenue_per_conversation": m.revenue_per_conversation,
        "drafts": m.drafts,
        **{f"drafts_{state}": m.drafts_by_state.get(state, 0) for state in DRAFT_STATES},
        "edit_distance_mean": m.edit_distance_mean,
        "edit_distance_drafts": m.edit_distance_count,
        **_timing_cells("time_to_draft", m.time_to_draft),
        **_timing_cells("time_to_reply", m.time_to_reply),
        "handoffs": m.handoffs,
        "handoff_rate": m.handoff_rate,
        **{f"handoff_rate_{r}": m.handoff_rate_by_reason.get(r) for r in REASONS},
        "guardrail_checked_drafts": m.guardrail_checked_drafts,
        "guardrail_failed_drafts": m.guardrail_failed_drafts,
        **{f"guardrail_failed_{c}": m.guardrail_failures.get(c, 0) for c in CHECKS},
        **{kind: getattr(m.usage, kind) for kind in _USAGE},
        "spend_usd": m.spend.total,
        **{f"cost_{kind}_usd": getattr(per, kind) if per else None for kind in _COSTS},
        "cost_total_usd": per.total if per else None,
        "cost_thinking_usd": m.thinking_cost_per_conversation,
        "cache_read_share": m.cache_read_share,
        "thinking_share": m.thinking_share,
    }


def to_csv(report: Report) -> str:
    """A header and one line per row, level by level: arms, arm versions, inboxes."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    levels = (("arm", report.arms), ("version", report.versions), ("inbox", report.inboxes))
    for level, rows in levels:
        for row in rows:
            writer.writerow(_cells(csv_row(level, row)))
    return out.getvalue()


def _timing_cells(name: str, timing: Timing) -> dict[str, Any]:
    return {
        f"{name}_median_s": timing.median_s,
        f"{name}_p90_s": timing.p90_s,
        f"{name}_drafts": timing.count,
    }


def _cells(row: dict[str, Any]) -> dict[str, Any]:
    # Money is exact (Decimal) in the report; CSV readers want plain numbers.
    return {k: float(v) if isinstance(v, Decimal) else v for k, v in row.items()}


def baseline_csv(conversations: int, converted: int) -> str:
    """One more CSV row, ``level`` "baseline", with the conversion columns filled in."""
    row: dict[str, Any] = {column: "" for column in CSV_COLUMNS}
    row.update(level="baseline", conversations=conversations)
    row.update({k: plain(v) for k, v in baseline_numbers(conversations, converted).items()})
    out = io.StringIO()
    csv.DictWriter(out, fieldnames=CSV_COLUMNS, lineterminator="\n").writerow(row)
    return out.getvalue()
