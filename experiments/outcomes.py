"""A conversation's outcome, read from its stored state.

Conversion is a configured label (default ``sold``) and the deal value a configured custom
attribute (default ``deal_value``); lost is resolved without conversion. Wingman applies
conversation events in Chatwoot's ``updated_at`` order (``core.merges``), so reading the
outcome from the stored state means a repeated or stale event can never double-count or
un-convert a sale, while a newer event that removes the label does un-convert it.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from core.models import Conversation

DEFAULT_LABEL = "sold"
DEFAULT_VALUE_ATTRIBUTE = "deal_value"


@dataclass(frozen=True)
class Outcome:
    converted: bool
    lost: bool
    value: Decimal | None

    @property
    def known(self) -> bool:
        return self.converted or self.lost


def outcome(
    conversation: Conversation,
    *,
    label: str = DEFAULT_LABEL,
    value_attribute: str = DEFAULT_VALUE_ATTRIBUTE,
) -> Outcome:
    converted = label in (conversation.labels or [])
    lost = not converted and conversation.status == "resolved"
    value = None
    if converted:
        raw = (conversation.custom_attributes or {}).get(value_attribute)
        try:
            value = Decimal(str(raw)) if raw not in (None, "") else None
        except InvalidOperation:
            value = None  # a rep typed something that isn't a number: no value, still sold
    return Outcome(converted, lost, value)
