"""Names every layer shares: why a conversation went to humans, and which guardrail checks
exist. Reports list them in this order, and each stored value is one of them."""

from __future__ import annotations

HANDOFF_REASONS = (
    "customer_asked",
    "upset",
    "ready_to_pay",
    "missing_knowledge",
    "claude_failed",
    "not_configured",
    "rep_command",
    "autonomy_off",
    "spend_cap",
    "send_failed",
    "overdue",
)

GUARDRAIL_CHECKS = ("prices", "links", "length", "leaks")
