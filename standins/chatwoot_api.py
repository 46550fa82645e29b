"""The Chatwoot stand-in's REST endpoints, as Chatwoot 4.15.1 answers them.

Each route takes a ``Call`` and returns (status, body); a ``StandinError`` becomes
``{"error": ...}`` with its status. Changes happen under the account's lock, and their
webhooks are rendered under it too (``ChatwootStandin.publish``).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from standins.chatwoot_records import STATUSES, Conversation, StandinError
from standins.chatwoot_rest_bodies import (
    agent_model,
    contact_model,
    conversation_rest,
    message_rest,
    team_model,
)
from standins.chatwoot_state import PAGE_SIZE, Account

if TYPE_CHECKING:
    from standins.chatwoot import ChatwootStandin

Result = tuple[int, Any]
Route = Callable[["Call"], Result]


@dataclass
class Call:
    server: ChatwootStandin
    method: str
    path: str
    query: dict[str, str]
    body: dict[str, Any]
    who: str  # "bot" | "user" (by token) | "control"
    conversation_id: int | None

    @property
    def account(self) -> Account:
        return self.server.account

    def conversation(self) -> Conversation:
        assert self.conversation_id is not None
        return self.account.conversation(self.conversation_id)

    def now(self) -> float:
        return self.server.clock()


# --- REST -------------------------------------------------------------------------------


def create_message(call: Call) -> Result:
    body, account = call.body, call.account
    if body.get("message_type", "outgoing") not in ("outgoing", 1):
        raise StandinError(422, "message_type: only outgoing, incoming is for API inboxes")
    content = body.get("content")
    if content is not None and not isinstance(content, str):
        raise StandinError(422, "content must be a string")
    attributes = body.get("content_attributes") or {}
    if not isinstance(attributes, dict):
        raise StandinError(422, "content_attributes must be an object")
    # The sender is the token's owner; a user token may post as the bot.
    if call.who == "bot" or body.get("sender_type") == "AgentBot":
        sender = ("AgentBot", account.bot.id)
    else:
        sender = ("User", account.admin.id)
    echo_id = body.get("echo_id")
    template = _template_params(body.get("template_params"))
    with account.lock:
        conversation = call.conversation()
        message, changes = account.post(
            conversation,
            content,
            private=body.get("private") in (True, "true"),
            sender=sender,
            content_attributes=attributes,
            now=call.now(),
        )
        message.template_params = template
        call.server.publish(changes)
        echo = str(echo_id) if echo_id is not None else None
        return 200, message_rest(account, conversation, message, echo_id=echo)


def _template_params(value: Any) -> dict[str, Any] | None:
    """Chatwoot's Message::TEMPLATE_PARAMS_SCHEMA (CONTRACT-NEXT §2.1): ``name`` required;
    category, language and namespace strings; processed_params an object. Chatwoot answers a
    failure 422 with "Validation failed: …"."""
    if value is None:
        return None
    problem = None
    if not isinstance(value, dict):
        problem = "template_params must be an object"
    elif not isinstance(value.get("name"), str):
        problem = "template_params: name is required"
    elif any(
        k in value and not isinstance(value[k], str) for k in ("category", "language", "namespace")
    ):
        problem = "template_params: category, language and namespace must be strings"
    elif "processed_params" in value and not isinstance(value["processed_params"], dict):
        problem = "template_params: processed_params must be an object"
    if problem is not None:
        raise StandinError(422, f"Validation failed: {problem}")
    return dict(value)


def list_messages(call: Call) -> Result:
    account = call.account
    before, after = _query_int(call, "before"), _query_int(call, "after")
    with account.lock:
        conversation = call.conversation()
        messages = account.page_of_messages(conversation, before=before, after=after)
        assignee = conversation.assignee
        meta = {
            "labels": list(conversation.labels),
            "additional_attributes": {},
            "contact": contact_model(conversation.contact),
            "assignee": agent_model(account, assignee[1])
            if assignee and assignee[0] == "User"
            else None,
            "agent_last_seen_at": 0,
            "assignee_last_seen_at": 0,
        }
        payload = [message_rest(account, conversation, m) for m in messages]
    return 200, {"meta": meta, "payload": payload}


def toggle_status(call: Call) -> Result:
    status, until = call.body.get("status"), call.body.get("snoozed_until")
    if status is not None and not isinstance(status, str):
        raise StandinError(422, "status must be a string")
    if until is not None and (not isinstance(until, int | float) or isinstance(until, bool)):
        raise StandinError(422, "snoozed_until must be unix seconds")
    account = call.account
    with account.lock:
        conversation = call.conversation()
        changes = account.set_status(
            conversation, status, snoozed_until=until, by_bot=call.who == "bot", now=call.now()
        )
        call.server.publish(changes)
        snoozed = conversation.snoozed_until
        payload = {
            "success": True,
            "conversation_id": conversation.id,
            "current_status": conversation.status,
            "snoozed_until": int(snoozed) if snoozed is not None else None,
        }
    return 200, {"meta": {}, "payload": payload}


def toggle_typing(call: Call) -> Result:
    if call.body.get("typing_status") not in ("on", "off", "recording"):
        raise StandinError(422, "typing_status must be on, off or recording")
    with call.account.lock:
        call.conversation()  # Chatwoot relays typing over ActionCable only: nothing to store
    return 200, None


def get_labels(call: Call) -> Result:
    with call.account.lock:
        return 200, {"payload": list(call.conversation().labels)}


def set_labels(call: Call) -> Result:
    labels = call.body.get("labels")
    if not isinstance(labels, list) or not all(isinstance(x, str) for x in labels):
        raise StandinError(422, "labels must be a list of strings")
    account = call.account
    with account.lock:
        conversation = call.conversation()
        call.server.publish(account.set_labels(conversation, labels, now=call.now()))
        return 200, {"payload": list(conversation.labels)}


def set_custom_attributes(call: Call) -> Result:
    attrs = call.body.get("custom_attributes")
    if not isinstance(attrs, dict):
        raise StandinError(422, "custom_attributes must be an object")
    account = call.account
    with account.lock:
        conversation = call.conversation()
        call.server.publish(account.set_custom_attributes(conversation, attrs, now=call.now()))
        return 200, {"custom_attributes": dict(conversation.custom_attributes)}


def assign(call: Call) -> Result:
    body, account = call.body, call.account
    with account.lock:
        conversation = call.conversation()
        now = call.now()
        if "assignee_id" in body or body.get("assignee_type") == "AgentBot":
            wanted = body.get("assignee_id")
            # AssignmentService looks the id up with find_by: an unknown id unassigns.
            if body.get("assignee_type") == "AgentBot":
                target = ("AgentBot", account.bot.id) if wanted == account.bot.id else None
            else:
                target = ("User", wanted) if wanted in account.users else None
            call.server.publish(account.assign(conversation, target, now=now))
            if target is None:
                return 200, None
            if target[0] == "AgentBot":
                return 200, {"id": account.bot.id, "name": account.bot.name, "thumbnail": ""}
            return 200, agent_model(account, target[1])
        if "team_id" in body:
            team_id = body["team_id"] if body["team_id"] in account.teams else None
            call.server.publish(account.set_team(conversation, team_id, now=now))
            return 200, team_model(account, team_id) if team_id is not None else None
        return 200, None


def show_conversation(call: Call) -> Result:
    with call.account.lock:
        return 200, conversation_rest(call.account, call.conversation())


def list_conversations(call: Call) -> Result:
    status = call.query.get("status", "open")
    if status not in (*STATUSES, "all"):
        raise StandinError(422, f"unknown status {status!r}")
    kind = call.query.get("assignee_type", "all")
    page = _query_int(call, "page") or 1
    within = _query_int(call, "updated_within")
    account = call.account
    me = ("User", account.admin.id)
    with account.lock:
        found = account.find_conversations(
            status=status,
            inbox_id=_query_int(call, "inbox_id"),
            updated_within=within,
            now=call.now(),
        )
        meta = {
            "mine_count": sum(c.assignee == me for c in found),
            "assigned_count": sum(c.assignee is not None for c in found),
            "unassigned_count": sum(c.assignee is None for c in found),
            "all_count": len(found),
        }
        filters: dict[str, Callable[[Conversation], bool]] = {
            "me": lambda c: c.assignee == me,
            "assigned": lambda c: c.assignee is not None,
            "unassigned": lambda c: c.assignee is None,
        }
        wanted = filters.get(kind)
        found = [c for c in found if wanted is None or wanted(c)]
        if within is None:  # updated_within answers everything at once
            found = found[(page - 1) * PAGE_SIZE : page * PAGE_SIZE]
        payload = [conversation_rest(account, c) for c in found]
    return 200, {"data": {"meta": meta, "payload": payload}}


_ID = r"/conversations/(\d+)"
# (method, path under /api/v1/accounts/{id}, route, allowed for bot tokens)
REST_ROUTES: list[tuple[str, re.Pattern[str], Route, bool]] = [
    ("POST", re.compile(_ID + "/messages$"), create_message, True),
    ("GET", re.compile(_ID + "/messages$"), list_messages, False),
    ("POST", re.compile(_ID + "/toggle_status$"), toggle_status, True),
    ("POST", re.compile(_ID + "/toggle_typing_status$"), toggle_typing, True),
    ("GET", re.compile(_ID + "/labels$"), get_labels, True),
    ("POST", re.compile(_ID + "/labels$"), set_labels, True),
    ("POST", re.compile(_ID + "/custom_attributes$"), set_custom_attributes, True),
    ("POST", re.compile(_ID + "/assignments$"), assign, True),
    ("GET", re.compile(_ID + "$"), show_conversation, True),
    ("GET", re.compile("/conversations$"), list_conversations, False),
]


def _query_int(call: Call, name: str) -> int | None:
    raw = call.query.get(name)
    if raw is None or raw == "":
        return None
    try:
        return int(raw)
    except ValueError:
        raise StandinError(422, f"{name} must be a whole number, got {raw!r}") from None
