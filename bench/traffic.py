"""Signed message_created deliveries in Chatwoot's real shape, as Chatwoot would send them:
one customer message each, spread over a number of conversations.

The load generator shares the machine with the server, so a body is made by filling a
serialized template rather than by copying and dumping a dict each time.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from bench.loadgen import Request
from chatwoot.signature import sign

EVENT = (
    Path(__file__).resolve().parents[1]
    / "tests/fixtures/chatwoot/events/message_created_incoming.json"
)
FIRST_MESSAGE_ID = 50_000_000
FIRST_CONVERSATION = 100_000
FIRST_CONTACT = 700_000


def _template() -> str:
    body: dict[str, Any] = json.loads(EVENT.read_text())
    body.update(id="@MID@", content="@TEXT@", created_at="@ISO@")
    body["sender"]["id"] = "@CONTACT@"
    body["conversation"].update(id="@CONV@", created_at="@NOW@", timestamp="@NOW@")
    body["conversation"]["contact_inbox"].update(contact_id="@CONTACT@", source_id="@SOURCE@")
    body["conversation"]["meta"]["sender"]["id"] = "@CONTACT@"
    for message in body["conversation"]["messages"]:
        message.update(
            id="@MID@",
            content="@TEXT@",
            processed_message_content="@TEXT@",
            conversation_id="@CONV@",
            created_at="@NOW@",
            sender_id="@CONTACT@",
        )
        message["sender"]["id"] = "@CONTACT@"
    return json.dumps(body)


class Traffic:
    """``make(index)`` is delivery ``index``: message FIRST_MESSAGE_ID + index, in
    conversation ``index % conversations``, signed with ``secret`` at the current time."""

    def __init__(self, secret: str, *, conversations: int, run: int = 0) -> None:
        self.secret = secret
        self.conversations = conversations
        self.run = run  # keeps message ids apart between runs on one database
        self.template = _template()

    def make(self, index: int) -> Request:
        slot = index % self.conversations
        now = int(time.time())
        fills = {
            '"@MID@"': str(FIRST_MESSAGE_ID + self.run * 10_000_000 + index),
            '"@CONV@"': str(FIRST_CONVERSATION + slot),
            '"@CONTACT@"': str(FIRST_CONTACT + slot),
            '"@NOW@"': str(now),
            "@SOURCE@": f"bench-{slot}",
            "@ISO@": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now)),
            "@TEXT@": f"Hi! Message {index}: does the Trail Tent 2P fit two adults?",
        }
        text = self.template
        for placeholder, value in fills.items():
            text = text.replace(placeholder, value)
        raw = text.encode()
        stamp = str(now)
        headers = {
            "Content-Type": "application/json",
            "X-Chatwoot-Delivery": f"bench-{self.run}-{index}",
            "X-Chatwoot-Timestamp": stamp,
            "X-Chatwoot-Signature": sign(self.secret, stamp, raw),
        }
        return "/chatwoot/webhook", headers, raw
