"""The bodies the Chatwoot stand-in POSTs to the agent bot, in Chatwoot 4.15.1's real shapes
(pure functions).

They follow ``Message#webhook_data`` and ``Conversation#webhook_data``
(tests/fixtures/chatwoot/CONTRACT.md §1.3-1.4): the message type is a name, message times are
ISO strings, conversation times are integers and ``updated_at`` a float.
"""

from __future__ import annotations

from typing import Any

from standins.chatwoot_changes import Change
from standins.chatwoot_push import (
    ADDITIONAL_ATTRIBUTES,
    assignee_push,
    contact_push,
    iso,
    message_push,
    unread_count,
)
from standins.chatwoot_records import Conversation, Message
from standins.chatwoot_state import Account

MESSAGE_TYPE_NAMES = {0: "incoming", 1: "outgoing", 2: "activity", 3: "template"}


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
        "additional_attributes": ADDITIONAL_ATTRIBUTES,
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
        "unread_count": unread_count(conversation),
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
