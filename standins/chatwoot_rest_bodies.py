"""The Chatwoot stand-in's REST answers, in Chatwoot 4.15.1's real shapes (pure functions).

They follow the jbuilder partials (tests/fixtures/chatwoot/CONTRACT.md §3): the message type
is the enum's integer and the message partial carries a push-format ``sender`` but no
``sender_type``.
"""

from __future__ import annotations

import uuid
from typing import Any

from standins.chatwoot_push import (
    ADDITIONAL_ATTRIBUTES,
    assignee_push,
    iso,
    message_push,
    push_sender,
    unread_count,
)
from standins.chatwoot_records import Contact, Conversation, Message
from standins.chatwoot_state import Account


def message_rest(
    account: Account, conversation: Conversation, message: Message, *, echo_id: str | None = None
) -> dict[str, Any]:
    """``api/v1/models/_message.json.jbuilder``."""
    body: dict[str, Any] = {
        "id": message.id,
        "content": message.content,
        "inbox_id": conversation.inbox_id,
    }
    if echo_id is not None:
        body["echo_id"] = echo_id  # in this answer only, never in a webhook
    body.update(
        conversation_id=conversation.id,
        message_type=message.message_type,
        content_type="text",
        status=message.status,
        content_attributes=message.content_attributes,
        created_at=int(message.created_at),
        private=message.private,
        source_id=None,
    )
    sender = push_sender(account, conversation, message)
    if sender is not None:
        body["sender"] = sender
    if message.attachments:
        body["attachments"] = message.attachments
    return body


def conversation_rest(account: Account, conversation: Conversation) -> dict[str, Any]:
    """``api/v1/conversations/partials/_conversation.json.jbuilder``.

    ``messages`` holds the last message of any kind (``conversation.messages.last``: a note
    or an activity too), and ``last_non_activity_message`` the newest that isn't an
    activity, notes included (CONTRACT-NEXT §8).
    """
    last = conversation.messages[-1] if conversation.messages else None
    pushed = message_push(account, conversation, last) if last else None
    newest = conversation.last_non_activity()
    non_activity = message_push(account, conversation, newest) if newest else None
    meta: dict[str, Any] = {
        "sender": contact_model(conversation.contact),
        "channel": account.inbox_of(conversation).channel,
        "assignee": assignee_push(account, conversation),
        "assignee_type": conversation.assignee[0] if conversation.assignee else None,
        "hmac_verified": False,
    }
    team = account.teams.get(conversation.team_id or 0)
    if team is not None:
        meta["team"] = team_model(account, team.id)
    return {
        "meta": meta,
        "id": conversation.id,
        "messages": [pushed] if pushed else [],
        "account_id": account.id,
        "uuid": str(uuid.uuid5(uuid.NAMESPACE_URL, f"standin/{account.id}/{conversation.id}")),
        "additional_attributes": ADDITIONAL_ATTRIBUTES,
        "agent_last_seen_at": 0,
        "assignee_last_seen_at": 0,
        "can_reply": account.can_reply(conversation),
        "contact_last_seen_at": int(conversation.last_activity_at),
        "custom_attributes": dict(conversation.custom_attributes),
        "inbox_id": conversation.inbox_id,
        "labels": list(conversation.labels),
        "muted": False,
        "snoozed_until": iso(conversation.snoozed_until),
        "status": conversation.status,
        "created_at": int(conversation.created_at),
        "updated_at": conversation.updated_at,
        "timestamp": int(conversation.last_activity_at),
        "first_reply_created_at": int(conversation.first_reply_created_at or 0),
        "unread_count": unread_count(conversation),
        "last_non_activity_message": non_activity,
        "last_activity_at": int(conversation.last_activity_at),
        "priority": None,
        "waiting_since": int(conversation.waiting_since or 0),
    }


def contact_model(contact: Contact) -> dict[str, Any]:
    return {
        "additional_attributes": {},
        "availability_status": "online",
        "email": contact.email,
        "id": contact.id,
        "name": contact.name,
        "phone_number": None,
        "blocked": False,
        "identifier": None,
        "thumbnail": "",
        "custom_attributes": {},
        "created_at": int(contact.created_at),
    }


def agent_model(account: Account, user_id: int) -> dict[str, Any]:
    user = account.users[user_id]
    return {
        "id": user.id,
        "account_id": account.id,
        "availability_status": "online",
        "auto_offline": True,
        "confirmed": True,
        "email": user.email,
        "available_name": user.name,
        "name": user.name,
        "role": "agent",
        "thumbnail": "",
        "custom_role_id": None,
    }


def team_model(account: Account, team_id: int) -> dict[str, Any]:
    team = account.teams[team_id]
    return {
        "id": team.id,
        "name": team.name,
        "description": "",
        "allow_auto_assign": True,
        "account_id": account.id,
        "is_member": False,
    }
