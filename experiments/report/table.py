"""The report as a fixed-width terminal table: a summary; --json and --csv hold the rest."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from decimal import Decimal

from experiments.analytics import ArmReport, Report
from experiments.metrics import RepApprovals, Timing
from experiments.report.document import baseline_numbers


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


def baseline_line(conversations: int, converted: int) -> str:
    """The human-only baseline under the table: conversion before the bot."""
    if not conversations:
        return "\nHuman-only baseline: no imported conversations with a known outcome.\n"
    n = baseline_numbers(conversations, converted)
    return (
        f"\nHuman-only baseline (imported, never drafted): {converted} of {conversations} "
        f"converted, {_pct(n['conversion_rate'])} "
        f"(95% CI {_pct(n['conversion_ci_low'])}–{_pct(n['conversion_ci_high'])})\n"
    )
