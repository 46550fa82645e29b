"""Database rows to export rows: pseudonyms, outcomes, arms and costs, per message or
per conversation."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from sqlalchemy.engine import Row

from core.models import DRAFT_STATES, Conversation
from core.pricing import Prices, cost
from experiments.outcomes import DEFAULT_VALUE_ATTRIBUTE, outcome
from tools.export.columns import PSEUDONYM_HEX_DIGITS, SENDER_KINDS


def pseudonymizer(key: str) -> Callable[[int | None], str | None]:
    """Contact id to a keyed hash: stable for one key, not reversible without it."""
    secret = key.encode()

    def pseudonym(contact_id: int | None) -> str | None:
        if contact_id is None:
            return None
        digest = hmac.new(secret, str(contact_id).encode(), hashlib.sha256).hexdigest()
        return digest[:PSEUDONYM_HEX_DIGITS]

    return pseudonym


def same_contact(contact_id: int | None) -> int | None:
    return contact_id


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _arm(experiment: str | None, key: str | None, version: int | None) -> str | None:
    return f"{experiment}/{key}@v{version}" if key is not None else None


def _outcome(
    labels: list[str] | None, custom_attributes: dict[str, Any] | None, status: str | None
) -> tuple[str, float | None]:
    value = (custom_attributes or {}).get(DEFAULT_VALUE_ATTRIBUTE)
    if not isinstance(value, str | int | float | bool | None):
        value = json.dumps(value)  # hashable for the cache; no more a number than before
    return _outcome_of(tuple(labels or ()), status, value)


# Building a Conversation costs 40 µs, most of a row's budget, and conversations repeat a
# handful of (labels, status, value) combinations; bounded, so memory stays flat.
@lru_cache(maxsize=4096)
def _outcome_of(
    labels: tuple[str, ...], status: str | None, value: str | float | None
) -> tuple[str, float | None]:
    conversation = Conversation(
        account_id=0,  # outcome() reads only labels, status and custom attributes
        display_id=0,
        first_seen_at=datetime.min.replace(tzinfo=UTC),
        labels=list(labels),
        custom_attributes={DEFAULT_VALUE_ATTRIBUTE: value},
        status=status,
    )
    result = outcome(conversation)
    name = "converted" if result.converted else "lost" if result.lost else "open"
    return name, float(result.value) if result.value is not None else None


def _direction(message_type: str, private: bool) -> str:
    if private or message_type == "activity":
        return "internal"
    return "inbound" if message_type == "incoming" else "outbound"


def message_rows(
    records: Iterable[Sequence[Any]], *, contact: Callable[[int | None], Any] = same_contact
) -> Iterator[dict[str, Any]]:
    """Rows of MESSAGE_COLUMNS from ``message_query`` records."""
    current: tuple[int | None, tuple[str, float | None]] = (None, ("open", None))
    # Unpacked by position: a Row's attribute access costs a third of a row's budget.
    for (
        message_id,
        conversation_id,
        display_id,
        account_id,
        inbox_id,
        channel,
        contact_id,
        status,
        labels,
        custom_attributes,
        message_type,
        sender_kind,
        private,
        content,
        attachments,
        created_at,
        received_at,
        origin,
        deleted,
        draft_id,
        draft_state,
        edit_distance,
        arm_experiment,
        arm_key,
        arm_version,
        follow_up_step,
        lead_group,
    ) in records:
        if current[0] != conversation_id:  # records come grouped by conversation
            current = (conversation_id, _outcome(labels, custom_attributes, status))
        result, value = current[1]
        yield {
            "message_id": message_id,
            "conversation_id": conversation_id,
            "conversation_display_id": display_id,
            "account_id": account_id,
            "inbox_id": inbox_id,
            "channel": channel,
            "contact_id": contact(contact_id),
            "direction": _direction(message_type, private),
            "sender_kind": sender_kind,
            "message_type": message_type,
            "private": bool(private),
            "content": content,
            "attachments": len(attachments or ()),
            "created_at": _iso(created_at),
            "received_at": _iso(received_at),
            "origin": origin,
            "deleted": bool(deleted),
            "draft_id": draft_id,
            "draft_state": draft_state,
            "edit_distance": edit_distance,
            "arm": _arm(arm_experiment, arm_key, arm_version),
            "follow_up_step": follow_up_step,
            "lead_group": lead_group,
            "outcome": result,
            "deal_value": value,
        }


def conversation_rows(
    records: Iterable[Row[Any]],
    *,
    prices: Prices,
    contact: Callable[[int | None], Any] = same_contact,
) -> Iterator[dict[str, Any]]:
    """Rows of CONVERSATION_COLUMNS from ``conversation_query`` records."""
    for r in records:
        first_customer, first_reply = r.first_customer_message_at, r.first_reply_at
        waited = None
        if first_customer is not None and first_reply is not None:
            waited = (first_reply - first_customer).total_seconds()
        dollars = cost(
            prices,
            input_tokens=r.input_tokens or 0,
            output_tokens=r.output_tokens or 0,
            cache_write_5m_tokens=r.cache_write_5m_tokens or 0,
            cache_write_1h_tokens=r.cache_write_1h_tokens or 0,
            cache_read_input_tokens=r.cache_read_input_tokens or 0,
        )
        thinking = int(r.thinking_tokens or 0)
        # Thinking is billed as output, and output_tokens (in dollars above) includes it.
        thought = cost(
            prices,
            input_tokens=0,
            output_tokens=thinking,
            cache_write_5m_tokens=0,
            cache_write_1h_tokens=0,
            cache_read_input_tokens=0,
        )
        result, value = _outcome(r.labels, r.custom_attributes, r.status)
        yield {
            "conversation_id": r.id,
            "conversation_display_id": r.display_id,
            "account_id": r.account_id,
            "inbox_id": r.inbox_id,
            "channel": r.channel,
            "contact_id": contact(r.contact_id),
            "status": r.status,
            "first_message_at": _iso(r.first_message_at),
            "last_message_at": _iso(r.last_message_at),
            "first_customer_message_at": _iso(first_customer),
            "first_reply_at": _iso(first_reply),
            "time_to_first_reply_seconds": waited,
            "messages": r.messages,
            **{f"messages_{k}": int(r._mapping[f"messages_{k}"]) for k in SENDER_KINDS},
            "drafts": r.drafts or 0,
            **{f"drafts_{s}": int(r._mapping[f"drafts_{s}"] or 0) for s in DRAFT_STATES},
            "arm": _arm(r.arm_experiment, r.arm_key, r.version),
            "lead_group": r.lead_group,
            "follow_ups_sent": int(r.follow_ups_sent or 0),
            "outcome": result,
            "deal_value": value,
            "cost_usd": round(float(dollars), 6),
            "thinking_tokens": thinking,
            "cost_thinking_usd": round(float(thought), 6),
        }
