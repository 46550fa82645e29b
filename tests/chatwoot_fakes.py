"""Chatwoot's REST answers in their real shapes, for tests that mock the network edge."""

from __future__ import annotations

import json
import re
from typing import Any

import requests
import responses

from standins.chatwoot_records import StandinError
from standins.chatwoot_rest_bodies import message_rest
from standins.chatwoot_state import Account

BASE = "https://chat.example.com"
ACCOUNT = 3
CONVERSATIONS = f"{BASE}/api/v1/accounts/{ACCOUNT}/conversations"


# When the fake's messages are created: Chatwoot's answer carries it, nothing reads it.
_CREATED_AT = 1781774133.0


class FakeChatwoot:
    """Records what the bot posts and answers like Chatwoot; can fail the next N posts."""

    def __init__(self, mock: responses.RequestsMock) -> None:
        self.mock = mock
        self.account = Account(ACCOUNT)
        self.posted: list[dict[str, Any]] = []
        self.statuses: list[str] = []
        self.assignments: list[dict[str, Any]] = []
        self.typing: list[str] = []
        self.fail_next: list[int] = []  # HTTP statuses for the next posts, in order
        # Save the next N posts but lose the answer (the client times out after the save).
        self.lose_answers = 0
        self.last_public: dict[str, Any] | None = None
        conversation = rf"{re.escape(CONVERSATIONS)}/(\d+)"
        mock.add_callback(
            responses.POST, re.compile(conversation + "/messages"), callback=self._create
        )
        mock.add_callback(
            responses.POST, re.compile(conversation + "/toggle_status"), callback=self._status
        )
        mock.add_callback(responses.GET, re.compile(conversation + "$"), callback=self._show)
        mock.add_callback(
            responses.POST, re.compile(conversation + "/assignments"), callback=self._assign
        )
        mock.add_callback(
            responses.POST,
            re.compile(conversation + "/toggle_typing_status"),
            callback=self._typing,
        )

    def _create(self, request: Any) -> tuple[int, dict[str, str], str]:
        if self.fail_next:
            return self.fail_next.pop(0), {}, json.dumps({"error": "boom"})
        body = json.loads(request.body)
        # The stand-in's account stores the message and renders Chatwoot's answer, so there
        # is one copy of the REST shape; a conversation it hasn't seen is opened on the way.
        display_id = int(request.url.rsplit("/", 2)[-2])
        account = self.account
        conversation = account.conversations.get(display_id) or account.open_conversation(
            display_id, contact={}, assignee=None, now=_CREATED_AT
        )
        try:
            created, _ = account.post(
                conversation,
                body.get("content"),
                private=body.get("private", False),
                sender=("AgentBot", account.bot.id),
                content_attributes=body.get("content_attributes") or {},
                now=_CREATED_AT,
            )
        except StandinError as error:
            return error.status, {}, json.dumps({"error": str(error)})
        echo_id = body.get("echo_id")
        message = message_rest(
            account, conversation, created, echo_id=None if echo_id is None else str(echo_id)
        )
        self.posted.append(message)
        if not message["private"]:
            self.last_public = message
        if self.lose_answers:
            self.lose_answers -= 1
            raise requests.Timeout("read timed out (stand-in: saved, answer lost)")
        return 200, {}, json.dumps(message)

    def _status(self, request: Any) -> tuple[int, dict[str, str], str]:
        if self.fail_next:
            return self.fail_next.pop(0), {}, json.dumps({"error": "boom"})
        status = json.loads(request.body)["status"]
        self.statuses.append(status)
        display_id = int(request.url.rsplit("/", 2)[-2])
        payload = {"success": True, "conversation_id": display_id, "current_status": status}
        return 200, {}, json.dumps({"meta": {}, "payload": payload})

    def _typing(self, request: Any) -> tuple[int, dict[str, str], str]:
        self.typing.append(json.loads(request.body)["typing_status"])
        return 200, {}, "{}"

    def _assign(self, request: Any) -> tuple[int, dict[str, str], str]:
        body = json.loads(request.body)
        self.assignments.append(body)
        return 200, {}, json.dumps({"id": body.get("assignee_id"), "name": "Daniel Ortiz"})

    def _show(self, request: Any) -> tuple[int, dict[str, str], str]:
        display_id = int(request.url.rsplit("/", 1)[-1])
        messages = [self.last_public] if self.last_public else []
        body = {
            "id": display_id,
            "inbox_id": 12,
            "status": self.statuses[-1] if self.statuses else "pending",
            "labels": [],
            "custom_attributes": {},
            "meta": {"assignee": None},
            "messages": messages,
            "last_non_activity_message": self.last_public,
        }
        return 200, {}, json.dumps(body)

    def public(self) -> list[str]:
        return [m["content"] for m in self.posted if not m["private"]]

    def notes(self) -> list[str]:
        return [m["content"] for m in self.posted if m["private"]]
