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

# Why a follow-up step was skipped, cancelled or failed (``follow_ups.reason`` starts with
# one of these, then a colon and the particulars), with what an admin reads for each.
FOLLOW_UP_REASONS: dict[str, str] = {
    "window_closed": "the channel's messaging window had closed (only WhatsApp takes a template)",
    "no_template": "WhatsApp's window had closed and the inbox has no whatsapp_template",
    "twilio_template": "WhatsApp through Twilio needs a template, which Wingman doesn't send",
    "closes_before_hours": "the window would close before working hours start",
    "later_step_due": "a later step was already due",
    "contact_cap": "the contact already had the most follow-ups allowed in the period",
    "autonomy_off": "the inbox's autonomy is off",
    "customer_wrote": "the customer wrote again",
    "opted_out": "the contact opted out",
    "not_dormant": "the conversation was no longer a dormant lead",
    "switched_off": "follow-ups were switched off for the inbox",
    "rep_skipped": "a rep skipped the draft",
    "claude_failed": "Claude could not write it",
    "guardrails": "the guardrails stopped it on autopilot",
    "spend_cap": "the daily Claude spend cap was reached",
    "channel_refused": "the channel refused it after Chatwoot accepted it",
    "expired": "its draft waited past the window",
}
