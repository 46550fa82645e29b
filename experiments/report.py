"""The experiment report as text: a terminal table, CSV, or JSON (``flask --app bot report``).

The numbers all come from ``experiments.analytics``; this only lays them out. The JSON
mirrors ``analytics.Report`` field for field, plus the total ``conversations`` and a
``total`` in each set of dollars; money is a number, a datetime ISO 8601 (``filters.until``
is exclusive: ``--until 2026-06-30`` reads ``2026-07-01T00:00:00+00:00``).

CSV: one row per arm (``level`` "arm"), then per arm version ("version"), then per inbox
and arm ("inbox"); each level's rows partition the conversations, so sum within one level
only. Empty cells mean "not applicable" or "nothing to divide by". The names are stable;
a new handoff reason or guardrail check adds a column beside its siblings, so read columns
by name. In order:

- ``level``: "arm", "version" or "inbox".
- ``experiment``, ``arm``: the arm; both empty on the no-experiment row.
- ``version``: the arm version, on "version" rows; ``inbox_id``: Chatwoot's inbox id, on
  "inbox" rows.
- ``conversations``: conversations attributed to the row (first draft by this arm);
  ``contacts``: distinct contacts among them.
- ``bot_replied_conversations``: those with a public bot message;
  ``customer_replied_conversations``: of these, those where the customer wrote after it;
  ``customer_reply_rate``: the second over the first.
- ``known_outcomes``: converted or lost; ``conversions``; ``conversion_rate``: conversions /
  known outcomes; ``conversion_ci_low``, ``conversion_ci_high``: its 95% Wilson interval;
  ``p_best``: the probability this row has the experiment's best conversion rate, among
  the rows of its level (and inbox).
- ``revenue``: deal values of converted conversations, in the deal value's currency;
  ``revenue_per_conversation``: revenue / conversations.
- ``drafts``: all drafts in those conversations; ``drafts_pending``, ``drafts_sent``,
  ``drafts_edited``, ``drafts_skipped``, ``drafts_superseded``, ``drafts_replaced``,
  ``drafts_discarded``, ``drafts_expired``, ``drafts_failed``, ``drafts_undelivered``: by
  state.
- ``edit_distance_mean``: mean normalised edit distance (0 = sent as written) of sent and
  edited drafts; ``edit_distance_drafts``: how many had one.
- ``time_to_draft_median_s``, ``time_to_draft_p90_s``: seconds from the customer's last
  message to the draft being ready; ``time_to_draft_drafts``: drafts measured.
- ``time_to_reply_median_s``, ``time_to_reply_p90_s``, ``time_to_reply_drafts``: the same,
  to the reply being sent to the customer.
- ``handoffs``: handoffs in those conversations; ``handoff_rate``: per conversation;
  ``handoff_rate_customer_asked``, ``handoff_rate_upset``, ``handoff_rate_ready_to_pay``,
  ``handoff_rate_missing_knowledge``, ``handoff_rate_claude_failed``,
  ``handoff_rate_not_configured``, ``handoff_rate_rep_command``,
  ``handoff_rate_autonomy_off``, ``handoff_rate_spend_cap``, ``handoff_rate_send_failed``,
  ``handoff_rate_overdue``: per conversation, by reason.
- ``guardrail_checked_drafts``: drafts with guardrail results; ``guardrail_failed_drafts``:
  drafts that failed any check; ``guardrail_failed_prices``, ``guardrail_failed_links``,
  ``guardrail_failed_length``, ``guardrail_failed_leaks``: drafts that failed each check.
- ``input_tokens``, ``output_tokens``, ``thinking_tokens``, ``cache_write_5m_tokens``,
  ``cache_write_1h_tokens``, ``cache_read_input_tokens``: Claude usage, summed over the
  drafts (failed ones included: Anthropic bills a reply cut short). ``output_tokens`` is
  what Anthropic bills as output, thinking included; ``thinking_tokens`` is the part of it
  spent thinking.
- ``spend_usd``: what those drafts cost in all, in dollars at ``CLAUDE_PRICES_PER_MTOK``.
- ``cost_input_usd``, ``cost_output_usd``, ``cost_cache_write_5m_usd``,
  ``cost_cache_write_1h_usd``, ``cost_cache_read_usd``, ``cost_total_usd``: dollars per
  conversation, by kind of token and in all.
- ``cost_thinking_usd``: the thinking part of ``cost_output_usd``, per conversation (already
  in it and in ``cost_total_usd``: don't add it again).
- ``cache_read_share``: cache reads / all prompt tokens (input, cache reads and writes).
- ``thinking_share``: thinking tokens / output tokens.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Sequence
from dataclasses import fields, is_dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from core.vocabulary import GUARDRAIL_CHECKS as CHECKS
from core.vocabulary import HANDOFF_REASONS as REASONS
from experiments.analytics import ArmReport, Report
from experiments.metrics import DRAFT_STATES, Dollars, RepApprovals, Timing
from experiments.stats import conversion_ci

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
    """The CSV described in the module docstring: a header and one line per row."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    levels = (("arm", report.arms), ("version", report.versions), ("inbox", report.inboxes))
    for level, rows in levels:
        for row in rows:
            writer.writerow(_cells(csv_row(level, row)))
    return out.getvalue()


def to_json(report: Report) -> str:
    """The whole report, mirroring ``analytics.Report``."""
    body = {"conversations": report.conversations, **_plain(report)}
    return json.dumps(body, indent=2) + "\n"


def to_table(report: Report) -> str:
    """A readable fixed-width summary; the rest of the numbers are in --json and --csv."""
    lines = [f"Wingman experiment report: {report.conversations} conversations{_scope(report)}"]
    if not report.arms:
        lines.append("Nothing to report yet: no conversation the bot drafted for, and no arms.")
        return "\n".join(lines) + "\n"
    if report.conversations == 0:
        lines.append("Nothing to report yet: no conversation the bot drafted for matches.")
    lines += ["", "By arm", *_arm_grid(report.arms, _arm_label)]
    if len(report.versions) > len(report.arms):
        lines += ["", "By arm version", *_arm_grid(report.versions, _version_label)]
    if report.inboxes:
        lines += ["", "By inbox", *_arm_grid(report.inboxes, _inbox_label)]
    if report.reps:
        lines += ["", "Approvals by rep", *_rep_grid(report.reps)]
    lines += [
        "",
        "Times are median/p90: to draft and to reply from the customer's last message, to",
        "decide from the draft being ready. think: share of output tokens spent thinking",
        "(in $/conv already). Every number: --json; flat, per arm: --csv.",
    ]
    return "\n".join(lines) + "\n"


_ARM_HEADERS = (
    "convs",
    "contacts",
    "reply",
    "conversion (95% CI)",
    "p_best",
    "rev/conv",
    "drafts",
    "sent",
    "edited",
    "edit",
    "to draft",
    "to reply",
    "handoffs/conv",
    "guard fails",
    "$/conv",
    "think",
    "cache",
)


def _arm_grid(rows: Sequence[ArmReport], label: Callable[[ArmReport], str]) -> list[str]:
    body = []
    for row in rows:
        m = row.metrics
        low, high = m.conversion_ci
        per = m.cost_per_conversation
        body.append(
            [
                label(row),
                str(m.conversations),
                str(m.contacts),
                _pct(m.customer_reply_rate),
                f"{_pct(m.conversion_rate)} ({low * 100:.1f}-{high * 100:.1f})",
                _num(row.p_best, 3),
                _num(m.revenue_per_conversation, 2),
                str(m.drafts),
                str(m.drafts_by_state.get("sent", 0)),
                str(m.drafts_by_state.get("edited", 0)),
                _num(m.edit_distance_mean, 2),
                _times(m.time_to_draft),
                _times(m.time_to_reply),
                _num(m.handoff_rate, 2),
                str(m.guardrail_failed_drafts),
                _num(per.total if per else None, 4),
                _pct(m.thinking_share, 0),
                _pct(m.cache_read_share, 0),
            ]
        )
    return _grid(("arm", *_ARM_HEADERS), body)


def _rep_grid(reps: Sequence[RepApprovals]) -> list[str]:
    headers = ("rep", "decided", "sent", "edited", "skipped", "superseded", "unedited (95% CI)")
    body = [
        [
            str(rep.rep_id),
            str(rep.decided),
            *(str(rep.by_state.get(s, 0)) for s in ("sent", "edited", "skipped", "superseded")),
            f"{_pct(rep.approval_rate)} ({rep.approval_ci[0] * 100:.1f}"
            f"-{rep.approval_ci[1] * 100:.1f})",
            _num(rep.edit_distance_mean, 2),
            _times(rep.time_to_decide),
        ]
        for rep in reps
    ]
    return _grid((*headers, "edit", "to decide"), body)


def _grid(headers: Sequence[str], body: list[list[str]]) -> list[str]:
    """Left-aligned first column, the numbers right-aligned, two spaces apart."""
    widths = [max(len(cell) for cell in column) for column in zip(headers, *body, strict=True)]

    def line(cells: Sequence[str]) -> str:
        first = cells[0].ljust(widths[0])
        rest = (cell.rjust(width) for cell, width in zip(cells[1:], widths[1:], strict=True))
        return "  ".join((first, *rest)).rstrip()

    return [line(headers), *(line(cells) for cells in body)]


def _arm_label(row: ArmReport) -> str:
    return f"{row.experiment}/{row.arm}" if row.experiment else "(no experiment)"


def _version_label(row: ArmReport) -> str:
    return f"{_arm_label(row)} v{row.version}" if row.version else _arm_label(row)


def _inbox_label(row: ArmReport) -> str:
    return f"inbox {row.inbox_id if row.inbox_id is not None else '?'}: {_arm_label(row)}"


def _scope(report: Report) -> str:
    f = report.filters
    parts = []
    if f.since is not None:
        parts.append(f"first draft on or after {f.since:%Y-%m-%d %H:%M} UTC")
    if f.until is not None:
        parts.append(f"before {f.until:%Y-%m-%d %H:%M} UTC")
    if f.inbox_id is not None:
        parts.append(f"inbox {f.inbox_id}")
    if f.experiment is not None:
        parts.append(f"experiment {f.experiment}")
    return f" ({', '.join(parts)})" if parts else ""


def _pct(value: float | None, decimals: int = 1) -> str:
    return "-" if value is None else f"{value * 100:.{decimals}f}%"


def _num(value: float | Decimal | None, decimals: int) -> str:
    return "-" if value is None else f"{value:.{decimals}f}"


def _times(timing: Timing) -> str:
    return f"{_duration(timing.median_s)}/{_duration(timing.p90_s)}" if timing.count else "-"


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if abs(seconds) >= size:
            return f"{seconds / size:.1f}{unit}"
    return f"{seconds:.0f}s"


def _timing_cells(name: str, timing: Timing) -> dict[str, Any]:
    return {
        f"{name}_median_s": timing.median_s,
        f"{name}_p90_s": timing.p90_s,
        f"{name}_drafts": timing.count,
    }


def _cells(row: dict[str, Any]) -> dict[str, Any]:
    # Money is exact (Decimal) in the report; CSV readers want plain numbers.
    return {k: float(v) if isinstance(v, Decimal) else v for k, v in row.items()}


def _plain(value: Any) -> Any:
    """JSON types for the report's dataclasses; money as numbers, with each total."""
    if isinstance(value, Dollars):
        return {
            **{f.name: float(getattr(value, f.name)) for f in fields(value)},
            "total": float(value.total),
        }
    if is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in fields(value)}
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    return value


def _baseline_numbers(conversations: int, converted: int) -> dict[str, Any]:
    low, high = conversion_ci(converted, conversations)
    return {
        "known_outcomes": conversations,
        "conversions": converted,
        "conversion_rate": converted / conversations if conversations else None,
        "conversion_ci_low": low,
        "conversion_ci_high": high,
    }


def baseline_line(conversations: int, converted: int) -> str:
    """The human-only baseline under the table: conversion before the bot."""
    if not conversations:
        return "\nHuman-only baseline: no imported conversations with a known outcome.\n"
    n = _baseline_numbers(conversations, converted)
    return (
        f"\nHuman-only baseline (imported, never drafted): {converted} of {conversations} "
        f"converted, {_pct(n['conversion_rate'])} "
        f"(95% CI {_pct(n['conversion_ci_low'])}–{_pct(n['conversion_ci_high'])})\n"
    )


def baseline_csv(conversations: int, converted: int) -> str:
    """One more CSV row, ``level`` "baseline", with the conversion columns filled in."""
    row: dict[str, Any] = {column: "" for column in CSV_COLUMNS}
    row.update(level="baseline", conversations=conversations)
    row.update({k: _plain(v) for k, v in _baseline_numbers(conversations, converted).items()})
    out = io.StringIO()
    csv.DictWriter(out, fieldnames=CSV_COLUMNS, lineterminator="\n").writerow(row)
    return out.getvalue()


def with_baseline_json(text: str, conversations: int, converted: int) -> str:
    data = json.loads(text)
    data["baseline"] = {
        "conversations": conversations,
        **_baseline_numbers(conversations, converted),
    }
    return json.dumps(data, indent=2) + "\n"
