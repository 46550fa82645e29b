"""What an export holds: its formats, shapes and columns (docs/export.md says what
each column means)."""

from __future__ import annotations

from core.models import DRAFT_STATES

FORMATS = ("jsonl", "csv")
PER = ("message", "conversation")
SENDER_KINDS = ("customer", "bot", "human", "system")
PSEUDONYM_HEX_DIGITS = 16  # 64 bits: no collision expected below billions of contacts
YIELD_PER = 2000

MESSAGE_COLUMNS = (
    "message_id",
    "conversation_id",
    "conversation_display_id",
    "account_id",
    "inbox_id",
    "channel",
    "contact_id",
    "direction",
    "sender_kind",
    "message_type",
    "private",
    "content",
    "attachments",
    "created_at",
    "received_at",
    "origin",
    "deleted",
    "draft_id",
    "draft_state",
    "edit_distance",
    "arm",
    "follow_up_step",
    "lead_group",
    "outcome",
    "deal_value",
)
CONVERSATION_COLUMNS = (
    "conversation_id",
    "conversation_display_id",
    "account_id",
    "inbox_id",
    "channel",
    "contact_id",
    "status",
    "first_message_at",
    "last_message_at",
    "first_customer_message_at",
    "first_reply_at",
    "time_to_first_reply_seconds",
    "messages",
    *(f"messages_{kind}" for kind in SENDER_KINDS),
    "drafts",
    *(f"drafts_{state}" for state in DRAFT_STATES),
    "arm",
    "lead_group",
    "follow_ups_sent",
    "outcome",
    "deal_value",
    "cost_usd",
    "thinking_tokens",
    "cost_thinking_usd",
)
