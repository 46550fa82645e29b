"""The Chatwoot stand-in's test and demo controls under ``/_standin`` (JSON, no token).

They play the people Chatwoot stands between: a customer writing in the web widget, a rep
typing a private note, and a Chatwoot that fails on cue. Their changes are delivered to the
agent bot exactly like the REST API's.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from standins.chatwoot_api import Call, Result, Route
from standins.chatwoot_push import assignee_push, iso, push_sender
from standins.chatwoot_records import Conversation, Message, StandinError
from standins.chatwoot_state import Account
from standins.chatwoot_webhook_bodies import MESSAGE_TYPE_NAMES

MAX_ATTACHMENTS = 15  # Chatwoot's limit per message


@dataclass
class Failure:
    """A scripted REST failure: the next ``times`` matching calls answer ``status``."""

    path_contains: str
    status: int
    times: int
    method: str | None
    delay: float
    apply: bool
    drop: bool = False


def customer_message(call: Call) -> Result:
    body, account = call.body, call.account
    content, attachments = body.get("content"), body.get("attachments") or []
    if content is not None and not isinstance(content, str):
        raise StandinError(400, "content must be a string")
    if not isinstance(attachments, list) or not all(isinstance(a, dict) for a in attachments):
        raise StandinError(400, "attachments must be a list of objects")
    if not content and not attachments:
        raise StandinError(400, "a customer message needs content or attachments")
    if len(attachments) > MAX_ATTACHMENTS:
        raise StandinError(400, f"at most {MAX_ATTACHMENTS} attachments per message")
    wanted = _body_id(body, "conversation_id") if "conversation_id" in body else None
    with account.lock:
        conversation = account.conversations.get(wanted) if wanted is not None else None
        if conversation is None:
            assignee = account.user(body["assignee"]) if body.get("assignee") else None
            raw = body.get("contact")
            contact: dict[str, Any] = raw if isinstance(raw, dict) else {}
            inbox_id = _body_id(body, "inbox_id") if "inbox_id" in body else None
            conversation = account.open_conversation(
                wanted, contact=contact, assignee=assignee, now=call.now(), inbox_id=inbox_id
            )
        message, changes = account.customer_says(conversation, content, attachments, now=call.now())
        call.server.publish(changes)
        return 200, {
            "conversation_id": conversation.id,
            "message_id": message.id,
            "status": conversation.status,
        }


def agent_note(call: Call) -> Result:
    body, account = call.body, call.account
    conversation_id = _body_id(body, "conversation_id")
    from_phone = body.get("from_phone") is True
    if not isinstance(body.get("user"), dict) and not from_phone:
        raise StandinError(400, 'a note needs "user": {"id", "name"}')
    private = body.get("private", True) is not False and not from_phone
    with account.lock:
        conversation = account.conversation(conversation_id)
        sender = None if from_phone else ("User", account.user(body["user"]).id)
        message, changes = account.post(
            conversation,
            body.get("content") if isinstance(body.get("content"), str) else None,
            private=private,
            sender=sender,
            content_attributes={"external_echo": True} if from_phone else {},
            now=call.now(),
        )
        call.server.publish(changes)
    return 200, {"conversation_id": conversation.id, "message_id": message.id}


def channel_failed(call: Call) -> Result:
    body, account = call.body, call.account
    conversation_id, message_id = _body_id(body, "conversation_id"), _body_id(body, "message_id")
    error = body.get("error", "131047: Re-engagement message")
    if not isinstance(error, str) or not error:
        raise StandinError(400, "error must be a non-empty string")
    with account.lock:
        conversation = account.conversation(conversation_id)
        message = next((m for m in conversation.messages if m.id == message_id), None)
        if message is None:
            raise StandinError(404, f"no message {message_id} in conversation {conversation_id}")
        call.server.publish(account.channel_failed(conversation, message, error, now=call.now()))
    return 200, {"message_id": message_id, "status": "failed"}


def fail(call: Call) -> Result:
    body = call.body
    path, status, times = body.get("path_contains"), body.get("status", 500), body.get("times", 1)
    method, delay, apply = body.get("method"), body.get("delay", 0), body.get("apply", False)
    drop = body.get("drop", False)
    if not isinstance(path, str) or not path:
        raise StandinError(400, "path_contains must be a non-empty string")
    if not isinstance(status, int) or not 400 <= status <= 599:
        raise StandinError(400, "status must be an HTTP error status (400-599)")
    if not isinstance(times, int) or isinstance(times, bool) or times < 1:
        raise StandinError(400, "times must be a positive whole number")
    if method not in (None, "GET", "POST"):
        raise StandinError(400, "method must be GET or POST")
    if not isinstance(delay, int | float) or delay < 0:
        raise StandinError(400, "delay must be a non-negative number of seconds")
    if not isinstance(drop, bool):
        raise StandinError(400, "drop must be true or false")
    failure = Failure(path, status, times, method, float(delay), apply is True, drop)
    with call.server.failures_lock:
        call.server.failures.append(failure)
    return 200, {"scripted": times}


def inspect_conversation(call: Call) -> Result:
    with call.account.lock:
        return 200, inspection(call.account, call.conversation())


def list_standin_conversations(call: Call) -> Result:
    with call.account.lock:
        found = sorted(call.account.conversations.values(), key=lambda c: c.id)
        summary = [{"id": c.id, "status": c.status, "messages": len(c.messages)} for c in found]
    return 200, {"conversations": summary}


def deliveries(call: Call) -> Result:
    return 200, {"deliveries": call.server.deliverer.records()}


def reset(call: Call) -> Result:
    call.server.reset()
    return 200, {"reset": True}


CONTROL_ROUTES: list[tuple[str, re.Pattern[str], Route]] = [
    ("POST", re.compile(r"^/_standin/customer_message$"), customer_message),
    ("POST", re.compile(r"^/_standin/agent_note$"), agent_note),
    ("POST", re.compile(r"^/_standin/fail$"), fail),
    ("POST", re.compile(r"^/_standin/channel_failed$"), channel_failed),
    ("GET", re.compile(r"^/_standin/conversations/(\d+)$"), inspect_conversation),
    ("GET", re.compile(r"^/_standin/conversations$"), list_standin_conversations),
    ("GET", re.compile(r"^/_standin/deliveries$"), deliveries),
    ("POST", re.compile(r"^/_standin/reset$"), reset),
]


def inspection(account: Account, conversation: Conversation) -> dict[str, Any]:
    """Everything about a conversation, private notes included, for tests and the demo."""
    assignee = assignee_push(account, conversation)
    return {
        "id": conversation.id,
        "status": conversation.status,
        "inbox_id": conversation.inbox_id,
        "labels": list(conversation.labels),
        "custom_attributes": dict(conversation.custom_attributes),
        "assignee": {"id": assignee["id"], "name": assignee["name"], "type": assignee["type"]}
        if assignee
        else None,
        "team_id": conversation.team_id,
        "contact": {"id": conversation.contact.id, "name": conversation.contact.name},
        "mentions": list(conversation.mentions),
        "messages": [
            {
                "id": m.id,
                "message_type": MESSAGE_TYPE_NAMES[m.message_type],
                "private": m.private,
                "content": m.content,
                "sender": _sender(account, conversation, m),
                "created_at": iso(m.created_at),
                "content_attributes": m.content_attributes,
                "attachments": m.attachments,
                "status": m.status,
                "template_params": m.template_params,
            }
            for m in conversation.messages
        ],
    }


def _sender(
    account: Account, conversation: Conversation, message: Message
) -> dict[str, Any] | None:
    pushed = push_sender(account, conversation, message)
    return {"type": pushed["type"], "id": pushed["id"], "name": pushed["name"]} if pushed else None


def _body_id(body: dict[str, Any], name: str) -> int:
    value = body.get(name)
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        raise StandinError(400, f"{name} must be a positive whole number")
    return value
