"""The merge rules: what a later payload changes in a stored conversation or message.

Pure functions of the stored row and the incoming payload; ``core.upserts`` applies them.
"""

from __future__ import annotations

from typing import Any

from chatwoot.event_data import MESSAGE_STATUSES, ConversationData, MessageData
from core.models import Conversation, Message


def conversation_changes(row: Conversation, data: ConversationData) -> dict[str, Any]:
    """What a conversation payload changes in the stored row.

    Chatwoot delivers each event as its own job with no ordering, so state is applied only
    from payloads at least as new (by Chatwoot's ``updated_at``) as what is stored. Facts
    that never change (inbox, contact, channel, the contact's source id) are filled in from
    any payload.
    """
    facts: dict[str, Any] = {
        "inbox_id": data.inbox_id,
        "channel": data.channel,
        "contact_source_id": data.contact_source_id[:255] if data.contact_source_id else None,
        "chatwoot_created_at": data.created_at,
        "contact_id": data.contact.id if data.contact else None,
    }
    changes = {k: v for k, v in facts.items() if getattr(row, k) is None and v is not None}
    stored, incoming = row.chatwoot_updated_at, data.updated_at
    label_times = first_sightings(row.label_times or {}, data.labels, incoming)
    if label_times != (row.label_times or {}):
        changes["label_times"] = label_times
    if stored is not None and (incoming is None or incoming < stored):
        return changes
    if row.status == "resolved" and data.status in ("pending", "open") and row.bot_muted:
        # Reopened (by the customer writing again): the mute was for the old conversation.
        changes.update(bot_muted=False, bot_muted_reason=None, bot_muted_at=None)
    changes.update(
        status=data.status or row.status,
        assignee_id=data.assignee_id,
        assignee_type=data.assignee_type,
        assignee_name=data.assignee_name,
        team_id=data.team_id,
        team_name=data.team_name,
        labels=list(data.labels),
        custom_attributes=dict(data.custom_attributes),
        can_reply=data.can_reply,
        waiting_since=data.waiting_since,
        chatwoot_updated_at=incoming,
    )
    return {k: v for k, v in changes.items() if getattr(row, k) != v}


def first_sightings(
    known: dict[str, float], labels: list[str] | tuple[str, ...], at: float | None
) -> dict[str, float]:
    """Each label's earliest sighting, from any payload, stale ones included: a late
    payload that carried the label earlier moves its first sighting back."""
    if at is None:
        return known
    times = dict(known)
    for label in labels:
        if label not in times or at < times[label]:
            times[label] = at
    return times


def message_changes(row: Message, data: MessageData) -> dict[str, Any]:
    """Merge a later delivery of a message into the stored one, field by field, forward only.

    Message payloads carry no ``updated_at``, so "newest wins" has nothing to order by.
    Instead: values fill in (a transcription, a ``source_id``), the status only advances,
    ``deleted`` stays set, and nothing is ever nulled.
    """
    changes: dict[str, Any] = {}
    if data.content is not None and data.content != row.content and not row.deleted:
        changes["content"] = data.content
    for name in ("source_id", "content_type", "sender_id", "sender_name", "sender_type"):
        if getattr(row, name) is None and getattr(data, name) is not None:
            changes[name] = getattr(data, name)
    if _status_rank(data.status) > _status_rank(row.status):
        changes["status"] = data.status
    attributes = merge_filled(row.content_attributes or {}, data.content_attributes)
    if row.deleted:
        attributes["deleted"] = True
    if attributes != (row.content_attributes or {}):
        changes["content_attributes"] = attributes
    if data.deleted and not row.deleted:
        changes["deleted"] = True
    attachments = merge_attachments(row.attachments or [], data.attachments)
    if attachments != (row.attachments or []):
        changes["attachments"] = attachments
    return changes


def merge_filled(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    """``old`` updated with the values of ``new`` that say something (not None or "")."""
    merged = dict(old)
    merged.update({k: v for k, v in new.items() if v is not None and v != ""})
    return merged


def merge_attachments(old: list[dict[str, Any]], new: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Merge attachments by id, so a voice note's later ``transcribed_text`` fills in."""
    by_id = {a.get("id"): dict(a) for a in old}
    order = [a.get("id") for a in old]
    for attachment in new:
        key = attachment.get("id")
        if key in by_id:
            by_id[key] = merge_filled(by_id[key], attachment)
        else:
            by_id[key] = dict(attachment)
            order.append(key)
    return [by_id[key] for key in order]


def _status_rank(status: str | None) -> int:
    return MESSAGE_STATUSES.index(status) if status in MESSAGE_STATUSES else -1
