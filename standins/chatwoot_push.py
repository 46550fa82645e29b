"""The pieces of the Chatwoot stand-in's JSON that webhook bodies and REST answers share:
``push_event_data`` (a message, a contact, a user, the bot), Rails' time format, and a
conversation's unread count and additional attributes (pure functions).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from standins.chatwoot_records import INCOMING, OUTGOING, Contact, Conversation, Message
from standins.chatwoot_state import Account

ADDITIONAL_ATTRIBUTES = {
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
            "unread_count": unread_count(conversation),
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


def unread_count(conversation: Conversation) -> int:
    unread = 0
    for message in reversed(conversation.messages):
        if message.message_type == OUTGOING and not message.private:
            break
        unread += message.message_type == INCOMING
    return min(unread, 10)  # Chatwoot caps it
