"""What the Chatwoot stand-in says, in Chatwoot 4.15.1's real shapes (pure functions).

Webhook bodies follow ``Message#webhook_data`` and ``Conversation#webhook_data``
(tests/fixtures/chatwoot/CONTRACT.md §1.3-1.4): the message type is a name, message times are
ISO strings, conversation times are integers and ``updated_at`` a float. REST answers
follow the jbuilder partials (§3): the message type is the enum's integer and the message
partial carries a push-format ``sender`` but no ``sender_type``.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from standins.chatwoot_state import (
    INCOMING,
    OUTGOING,
    Account,
    Change,
    Contact,
    Conversation,
    Message,
)

MESSAGE_TYPE_NAMES = {0: "incoming", 1: "outgoing", 2: "activity", 3: "template"}
_ADDITIONAL = {
    "browser": {
        "device_name": "Unknown",
        "browser_name": "Chrome",
        "platform_name": "macOS",
        "browser_version": "137.0.0.0",
        "platform_version": "15.5",
    },
    "referer": "https://acme-outdoor.example/products/trail-tent-2p",
    "browser_language": "en",
}


def iso(t: float | None) -> str | None:
    """Rails' ISO-8601 with milliseconds, e.g. 2026-06-18T09:13:58.402Z."""
    if t is None:
        return None
    return datetime.fromtimestamp(t, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


# --- webhook bodies --------------------------------------------------------------------


def webhook(account: Account, change: Change) -> dict[str, Any]:
    """The body Chatwoot POSTs to the agent bot for one change."""
    conversation = change.conversation
    if change.message is not None:
        body = message_webhook(account, conversation, change.message)
        body["event"] = change.event
        return body
    body = conversation_webhook(account, conversation)
    body["event"] = change.event
    if change.event == "conversation_status_changed":
        body["changed_attributes"] = None  # Rails resets status_change before dispatch
    elif change.event == "conversation_updated":
        body["changed_attributes"] = [
            {name: {"previous_value": before, "current_value": after}}
            for name, (before, after) in (change.changed or {}).items()
        ]
    return body


def message_webhook(
    account: Account, conversation: Conversation, message: Message
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "account": {"id": account.id, "name": account.name},
        "additional_attributes": {},
        "content_attributes": message.content_attributes,
        "content_type": "text",
        "content": message.content,
        "conversation": conversation_webhook(account, conversation),
        "created_at": iso(message.created_at),
        "id": message.id,
        "inbox": {"id": conversation.inbox_id, "name": account.inbox_of(conversation).name},
        "message_type": MESSAGE_TYPE_NAMES[message.message_type],
        "private": message.private,
        "sender": _webhook_sender(account, conversation, message),
        "source_id": None,
    }
    if message.attachments:
        body["attachments"] = message.attachments
    return body


def conversation_webhook(account: Account, conversation: Conversation) -> dict[str, Any]:
    contact = conversation.contact
    last = conversation.last_public()
    assignee = assignee_push(account, conversation)
    team = account.teams.get(conversation.team_id or 0)
    return {
        "additional_attributes": _ADDITIONAL,
        "can_reply": account.can_reply(conversation),
        "channel": account.inbox_of(conversation).channel,
        "contact_inbox": {
            "id": contact.contact_inbox_id,
            "contact_id": contact.id,
            "inbox_id": conversation.inbox_id,
            "source_id": contact.source_id,
            "created_at": iso(contact.created_at),
            "updated_at": iso(contact.created_at),
            "hmac_verified": False,
            "pubsub_token": contact.source_id.replace("-", "")[:24],
        },
        "id": conversation.id,
        "inbox_id": conversation.inbox_id,
        "messages": [message_push(account, conversation, last)] if last else [],
        "labels": list(conversation.labels),
        "meta": {
            "sender": contact_push(contact),
            "assignee": assignee,
            "assignee_type": conversation.assignee[0]
            if assignee and conversation.assignee
            else None,
            "team": {"id": team.id, "name": team.name} if team else None,
            "hmac_verified": False,
        },
        "status": conversation.status,
        "custom_attributes": dict(conversation.custom_attributes),
        "snoozed_until": iso(conversation.snoozed_until),
        "unread_count": _unread(conversation),
        "first_reply_created_at": iso(conversation.first_reply_created_at),
        "priority": None,
        "waiting_since": int(conversation.waiting_since or 0),
        "agent_last_seen_at": 0,
        "contact_last_seen_at": int(conversation.last_activity_at),
        "last_activity_at": int(conversation.last_activity_at),
        "timestamp": int(conversation.last_activity_at),
        "created_at": int(conversation.created_at),
        "updated_at": conversation.updated_at,
        "account": {"id": account.id, "name": account.name},
    }


def message_push(account: Account, conversation: Conversation, message: Message) -> dict[str, Any]:
    """``Message#push_event_data``: every DB column, the integer type, a typed sender."""
    body: dict[str, Any] = {
        "id": message.id,
        "content": message.content,
        "account_id": account.id,
        "inbox_id": conversation.inbox_id,
        "conversation_id": conversation.id,
        "message_type": message.message_type,
        "created_at": int(message.created_at),
        "updated_at": iso(message.created_at),
        "private": message.private,
        "status": message.status,
        "source_id": None,
        "content_type": "text",
        "content_attributes": message.content_attributes,
        "sender_type": message.sender_type,
        "sender_id": message.sender_id,
        "external_source_ids": {},
        "additional_attributes": {},
        "processed_message_content": message.content,
        "sentiment": {},
        "conversation": {
            "assignee_id": conversation.assignee[1] if conversation.assignee else None,
            "unread_count": _unread(conversation),
            "last_activity_at": int(conversation.last_activity_at),
            "contact_inbox": {"source_id": conversation.contact.source_id},
        },
    }
    if message.attachments:
        body["attachments"] = message.attachments
    sender = push_sender(account, conversation, message)
    if sender is not None:
        body["sender"] = sender
    return body


# --- REST answers ----------------------------------------------------------------------


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
        "additional_attributes": _ADDITIONAL,
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
        "unread_count": _unread(conversation),
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


def contact_push(contact: Contact) -> dict[str, Any]:
    return {
        "additional_attributes": {},
        "custom_attributes": {},
        "email": contact.email,
        "id": contact.id,
        "identifier": None,
        "name": contact.name,
        "phone_number": None,
        "thumbnail": "",
        "blocked": False,
        "type": "contact",
    }


# --- pieces ------------------------------------------------------------------------------


def _webhook_sender(
    account: Account, conversation: Conversation, message: Message
) -> dict[str, Any] | None:
    """``Message#webhook_data`` sender: a contact has no ``type`` key here."""
    if message.sender_type == "Contact":
        contact = conversation.contact
        return {
            "account": {"id": account.id, "name": account.name},
            "additional_attributes": {},
            "avatar": "",
            "custom_attributes": {},
            "email": contact.email,
            "id": contact.id,
            "identifier": None,
            "name": contact.name,
            "phone_number": None,
            "thumbnail": "",
            "blocked": False,
        }
    if message.sender_type == "User" and message.sender_id in account.users:
        user = account.users[message.sender_id]
        return {"id": user.id, "name": user.name, "email": user.email, "type": "user"}
    if message.sender_type == "AgentBot":
        return {"id": account.bot.id, "name": account.bot.name, "type": "agent_bot"}
    return None


def push_sender(
    account: Account, conversation: Conversation, message: Message
) -> dict[str, Any] | None:
    if message.sender_type == "Contact":
        return contact_push(conversation.contact)
    if message.sender_type == "User" and message.sender_id in account.users:
        return _user_push(account, message.sender_id)
    if message.sender_type == "AgentBot":
        return _bot_push(account)
    return None


def assignee_push(account: Account, conversation: Conversation) -> dict[str, Any] | None:
    if conversation.assignee is None:
        return None
    kind, assignee_id = conversation.assignee
    return _bot_push(account) if kind == "AgentBot" else _user_push(account, assignee_id)


def _user_push(account: Account, user_id: int) -> dict[str, Any]:
    user = account.users[user_id]
    return {
        "id": user.id,
        "name": user.name,
        "available_name": user.name,
        "avatar_url": "",
        "type": "user",
        "availability_status": "online",
        "thumbnail": "",
    }


def _bot_push(account: Account) -> dict[str, Any]:
    return {"id": account.bot.id, "name": account.bot.name, "avatar_url": "", "type": "agent_bot"}


def _unread(conversation: Conversation) -> int:
    unread = 0
    for message in reversed(conversation.messages):
        if message.message_type == OUTGOING and not message.private:
            break
        unread += message.message_type == INCOMING
    return min(unread, 10)  # Chatwoot caps it
