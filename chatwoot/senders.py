"""Who wrote a message: the sender kinds and the rule that tells them apart."""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Any


class SenderKind(StrEnum):
    """Who wrote a message, as analytics and the reply logic need it."""

    CUSTOMER = "customer"
    BOT = "bot"
    HUMAN = "human"
    SYSTEM = "system"


def sender_kind(
    message_type: str,
    sender: Mapping[str, Any] | None,
    content_attributes: Mapping[str, Any],
    additional_attributes: Mapping[str, Any] | None = None,
) -> SenderKind:
    """Who wrote a message, from the webhook's message type, sender and attributes."""
    sender_type = None if sender is None else sender.get("type")
    return classify(
        message_type,
        sender_type if isinstance(sender_type, str) else None,
        has_sender=sender is not None,
        content_attributes=content_attributes,
        additional_attributes=additional_attributes or {},
    )


def classify(
    message_type: str,
    sender_type: str | None,
    *,
    has_sender: bool,
    content_attributes: Mapping[str, Any],
    additional_attributes: Mapping[str, Any],
) -> SenderKind:
    """Who wrote a message, from its already-read sender type and attributes."""
    if additional_attributes.get("campaign_id") not in (None, ""):
        # A website campaign's opening message: sent as the campaign's configured user
        # though nobody typed it, so never a human taking over, and never the customer
        # (CONTRACT-NEXT §6.1; Chatwoot's own human_response? excludes it too).
        return SenderKind.SYSTEM
    if message_type == "incoming":
        return SenderKind.CUSTOMER
    if message_type != "outgoing":
        return SenderKind.SYSTEM  # templates (greeting, CSAT…) and activity messages
    if content_attributes.get("automation_rule_id") not in (None, ""):
        return SenderKind.SYSTEM  # an automation rule's "send message" (§6.3)
    if sender_type in ("agent_bot", "captain_assistant"):
        return SenderKind.BOT
    if sender_type == "user":
        return SenderKind.HUMAN
    if not has_sender and content_attributes.get("external_echo"):
        return SenderKind.HUMAN  # replied from the WhatsApp/Instagram phone app
    return SenderKind.SYSTEM
