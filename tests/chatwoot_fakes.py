"""Chatwoot's REST answers in their real shapes, for tests that mock the network edge."""

from __future__ import annotations

import json
import re
from itertools import count
from typing import Any

import requests
import responses

BASE = "https://chat.example.com"
ACCOUNT = 3
CONVERSATIONS = f"{BASE}/api/v1/accounts/{ACCOUNT}/conversations"
_ids = count(990_000)


def message_json(
    content: str,
    *,
    private: bool,
    message_id: int | None = None,
    content_attributes: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The message partial POST /messages renders: integer message_type, push-format sender."""
    return {
        "id": message_id or next(_ids),
        "content": content,
        "message_type": 1,
        "private": private,
        "created_at": 1781774133,
        "content_type": "text",
        # Chatwoot keeps whatever keys were posted (CONTRACT-NEXT §7).
        "content_attributes": content_attributes or {},
        "sender": {"id": 7, "name": "Aria (AI)", "type": "agent_bot"},
    }


class FakeChatwoot:
    """Records what the bot posts and answers like Chatwoot; can fail the next N posts."""

    def __init__(self, mock: responses.RequestsMock) -> None:
        self.mock = mock
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
        message = message_json(
            body["content"],
            private=body.get("private", False),
            content_attributes=body.get("content_attributes"),
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
