"""The Chatwoot stand-in, driven by Wingman's real ChatwootClient and a tiny webhook receiver.

Its webhooks are checked against the real payload shapes in tests/fixtures/chatwoot/events/:
the same keys in the same order, the same JSON types, and parsed by chatwoot.events.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import requests

from chatwoot.client import ChatwootClient
from chatwoot.errors import ChatwootError
from chatwoot.events import parse_event
from chatwoot.history import HistoryClient
from chatwoot.senders import SenderKind
from chatwoot.signature import verify
from chatwoot.types import Assignee
from standins.chatwoot import ChatwootStandin, serve
from tests.conftest import ROOT, load_event

BOT, USER, SECRET = "bot-token-abc123", "user-token-def456", "webhook-secret-ghi789"
ACCOUNT = 3
REP = {"id": 21, "name": "Daniel Ortiz"}


class Receiver(ThreadingHTTPServer):
    """Records every webhook POST; answers the statuses in ``script`` first, then 200."""

    daemon_threads = True

    def __init__(self) -> None:
        self.received: list[tuple[dict[str, str], bytes]] = []
        self.script: list[int] = []
        self.lock = threading.Lock()
        super().__init__(("127.0.0.1", 0), _ReceiverHandler)
        self.thread = threading.Thread(target=self.serve_forever, kwargs={"poll_interval": 0.05})
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/chatwoot/webhook"

    def payloads(self) -> list[dict[str, Any]]:
        with self.lock:
            return [json.loads(body) for _, body in self.received]

    def events(self, name: str) -> list[dict[str, Any]]:
        return [p for p in self.payloads() if p["event"] == name]

    def close(self) -> None:
        self.shutdown()
        self.thread.join()
        self.server_close()


class _ReceiverHandler(BaseHTTPRequestHandler):
    server: Receiver

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["content-length"]))
        with self.server.lock:
            self.server.received.append((dict(self.headers), body))
            status = self.server.script.pop(0) if self.server.script else 200
        self.send_response(status)
        self.send_header("content-length", "0")
        self.end_headers()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    yield server
    server.close()


@pytest.fixture
def standin(receiver: Receiver) -> Iterator[ChatwootStandin]:
    server = serve(
        account_id=ACCOUNT,
        bot_token=BOT,
        user_token=USER,
        webhook_url=receiver.url,
        secret=SECRET,
        retry_wait=0.05,
    )
    yield server
    server.stop()


@pytest.fixture
def http() -> Iterator[requests.Session]:
    with requests.Session() as session:
        yield session


@pytest.fixture
def client(standin: ChatwootStandin, http: requests.Session) -> ChatwootClient:
    return ChatwootClient(standin.url, ACCOUNT, BOT, user_token=USER, timeout=5, session=http)


def control(http: requests.Session, standin: ChatwootStandin, path: str, **body: Any) -> Any:
    response = http.post(f"{standin.url}/_standin/{path}", json=body, timeout=5)
    assert response.status_code == 200, response.text
    return response.json()


def customer(
    http: requests.Session, standin: ChatwootStandin, content: str | None, **extra: Any
) -> int:
    answer = control(http, standin, "customer_message", content=content, **extra)
    conversation_id: int = answer["conversation_id"]
    return conversation_id


def inspect(http: requests.Session, standin: ChatwootStandin, conversation_id: int) -> Any:
    response = http.get(f"{standin.url}/_standin/conversations/{conversation_id}", timeout=5)
    assert response.status_code == 200, response.text
    return response.json()


def delivered(standin: ChatwootStandin) -> None:
    assert standin.deliverer.wait_idle(5), "webhooks still queued after 5 s"


# --- labelling -------------------------------------------------------------------------


def test_it_says_it_is_a_stand_in(standin: ChatwootStandin, http: requests.Session) -> None:
    response = http.get(standin.url + "/", timeout=5)
    assert response.headers["x-wingman-standin"] == "chatwoot"
    assert "NOT a real Chatwoot" in response.json()["banner"]
    api = http.get(f"{standin.url}/api/v1/accounts/{ACCOUNT}/conversations/1", timeout=5)
    assert api.headers["x-wingman-standin"] == "chatwoot"


# --- the REST API, through the real client ---------------------------------------------


def test_messages_and_private_notes_are_posted_as_the_bot(
    standin: ChatwootStandin, http: requests.Session, client: ChatwootClient
) -> None:
    conversation_id = customer(http, standin, "Hi!")

    reply = client.create_message(conversation_id, "Hello there", echo_id="e-1")
    note = client.create_message(conversation_id, "a draft", private=True)

    assert (reply.message_type, reply.private, reply.sender_type, reply.sender_id) == (
        "outgoing",
        False,
        "agent_bot",
        7,
    )
    assert note.private and note.content == "a draft"
    raw = http.post(
        f"{standin.url}/api/v1/accounts/{ACCOUNT}/conversations/{conversation_id}/messages",
        json={"content": "raw", "echo_id": "e-2"},
        headers={"api_access_token": BOT},
        timeout=5,
    ).json()
    assert raw["message_type"] == 1 and raw["echo_id"] == "e-2"  # REST carries the integer
    assert "sender_type" not in raw and raw["sender"]["type"] == "agent_bot"
    seen = inspect(http, standin, conversation_id)["messages"]
    assert [(m["content"], m["private"]) for m in seen] == [
        ("Hi!", False),
        ("Hello there", False),
        ("a draft", True),
        ("raw", False),
    ]


def test_an_empty_message_is_refused(
    standin: ChatwootStandin, http: requests.Session, client: ChatwootClient
) -> None:
    conversation_id = customer(http, standin, "Hi!")
    with pytest.raises(ChatwootError) as caught:
        client.create_message(conversation_id, "  ")
    assert caught.value.status == 422 and not caught.value.transient


def test_toggle_status_sets_and_reports_the_status(
    standin: ChatwootStandin, http: requests.Session, client: ChatwootClient
) -> None:
    conversation_id = customer(http, standin, "Hi!")
    assert inspect(http, standin, conversation_id)["status"] == "pending"

    assert client.toggle_status(conversation_id, "open") == "open"
    assert (
        client.toggle_status(conversation_id, "snoozed", snoozed_until=2_000_000_000) == "snoozed"
    )
    assert client.get_conversation(conversation_id).status == "snoozed"
    # Without a status Chatwoot toggles: anything but open becomes open.
    toggled = http.post(
        f"{standin.url}/api/v1/accounts/{ACCOUNT}/conversations/{conversation_id}/toggle_status",
        headers={"api_access_token": BOT},
        timeout=5,
    ).json()
    assert toggled["payload"]["current_status"] == "open"


def test_labels_are_read_merged_and_written(
    standin: ChatwootStandin, http: requests.Session, client: ChatwootClient
) -> None:
    conversation_id = customer(http, standin, "Hi!")

    assert client.add_labels(conversation_id, ["lead", "tent"]) == ["lead", "tent"]
    assert client.add_labels(conversation_id, ["vip", "lead"]) == ["lead", "tent", "vip"]
    assert client.remove_labels(conversation_id, ["tent"]) == ["lead", "vip"]
    assert client.get_labels(conversation_id) == ["lead", "vip"]
    # The POST itself replaces the whole set, as Chatwoot's does.
    replaced = http.post(
        f"{standin.url}/api/v1/accounts/{ACCOUNT}/conversations/{conversation_id}/labels",
        json={"labels": ["only"]},
        headers={"api_access_token": BOT},
        timeout=5,
    ).json()
    assert replaced == {"payload": ["only"]}


def test_custom_attributes_are_merged_over_a_replacing_post(
    standin: ChatwootStandin, http: requests.Session, client: ChatwootClient
) -> None:
    conversation_id = customer(http, standin, "Hi!")

    url = f"{standin.url}/api/v1/accounts/{ACCOUNT}/conversations/{conversation_id}"

    def post(attributes: dict[str, Any]) -> Any:
        body = {"custom_attributes": attributes}
        headers = {"api_access_token": BOT}
        answer = http.post(f"{url}/custom_attributes", json=body, headers=headers, timeout=5)
        return answer.json()

    post({"arm": "a", "score": 1})
    replaced = post({"score": 2})  # Chatwoot's POST replaces the whole hash

    assert replaced == {"custom_attributes": {"score": 2}}
    assert client.get_conversation(conversation_id).custom_attributes == {"score": 2}


def test_assignments_to_agents_and_teams(
    standin: ChatwootStandin, http: requests.Session, client: ChatwootClient
) -> None:
    conversation_id = customer(http, standin, "Hi!")

    client.assign(conversation_id, assignee_id=21)
    assert client.get_conversation(conversation_id).assignee == Assignee(21, "Daniel Ortiz", "User")
    client.assign(conversation_id, team_id=2)
    assert inspect(http, standin, conversation_id)["team_id"] == 2
    # Chatwoot looks the agent up with find_by: an unknown id unassigns.
    client.assign(conversation_id, assignee_id=999)
    assert client.get_conversation(conversation_id).assignee is None


def test_typing_is_accepted(
    standin: ChatwootStandin, http: requests.Session, client: ChatwootClient
) -> None:
    conversation_id = customer(http, standin, "Hi!")
    client.toggle_typing(conversation_id, True)
    client.toggle_typing(conversation_id, False)


def test_show_conversation_has_the_last_message_of_any_kind_and_the_newest_non_activity(
    standin: ChatwootStandin, http: requests.Session, client: ChatwootClient
) -> None:
    """``messages`` is ``conversation.messages.last`` (CONTRACT-NEXT §8): a rep's note too."""
    conversation_id = customer(http, standin, "Hi!", assignee=REP)
    reply = client.create_message(conversation_id, "Hello!")
    snapshot = client.get_conversation(conversation_id)
    assert snapshot.last_message is not None
    assert (snapshot.last_message.id, snapshot.last_message.content) == (reply.id, "Hello!")
    assert snapshot.last_message.sender_type == "agent_bot"
    assert snapshot.last_non_activity_message == snapshot.last_message

    control(http, standin, "agent_note", conversation_id=conversation_id, content="/send", user=REP)
    snapshot = client.get_conversation(conversation_id)

    assert snapshot.last_message is not None
    assert (snapshot.last_message.content, snapshot.last_message.private) == ("/send", True)
    assert snapshot.last_message.sender_type == "user"
    assert snapshot.last_non_activity_message == snapshot.last_message
    assert (snapshot.id, snapshot.inbox_id, snapshot.status) == (conversation_id, 12, "pending")
    assert snapshot.assignee == Assignee(21, "Daniel Ortiz", "User")


def test_a_missing_conversation_is_404(client: ChatwootClient) -> None:
    with pytest.raises(ChatwootError) as caught:
        client.get_conversation(4242)
    assert caught.value.status == 404 and not caught.value.transient


def test_conversations_are_listed_25_per_page_with_the_user_token(http: requests.Session) -> None:
    # No webhook URL: 30 conversations' deliveries are beside the point here.
    standin = serve(account_id=ACCOUNT, bot_token=BOT, user_token=USER)
    client = ChatwootClient(standin.url, ACCOUNT, BOT, user_token=USER, session=http)
    history = HistoryClient(standin.url, ACCOUNT, USER, session=http)

    def listed(**params: Any) -> dict[str, Any]:
        url = f"{standin.url}/api/v1/accounts/{ACCOUNT}/conversations"
        answer = http.get(url, params=params, headers={"api_access_token": USER}, timeout=5)
        data: dict[str, Any] = answer.json()["data"]
        return data

    try:
        ids = [customer(http, standin, f"Hi {n}") for n in range(30)]
        client.toggle_status(ids[0], "open")

        first, second, third = (history.conversation_page(page) for page in (1, 2, 3))

        assert (len(first.conversations), len(second.conversations)) == (25, 5)
        assert third.conversations == []
        assert first.all_count == 30
        # Most recently active first.
        assert [c.display_id for c in first.conversations][:2] == [ids[-1], ids[-2]]
        assert [c["id"] for c in listed(status="open")["payload"]] == [ids[0]]
        assert listed(status="pending")["meta"]["all_count"] == 29
        assert listed(status="all", inbox_id=99)["payload"] == []
        assert len(listed(status="all", updated_within=3600)["payload"]) == 30
        assert listed(status="all")["meta"]["unassigned_count"] == 30
    finally:
        standin.stop()


def test_messages_are_listed_in_pages_before_and_after(
    standin: ChatwootStandin, http: requests.Session, client: ChatwootClient
) -> None:
    conversation_id = customer(http, standin, "message 0")
    for n in range(1, 130):
        client.create_message(conversation_id, f"message {n}", private=n % 2 == 0)
    delivered(standin)

    latest = client.list_messages(conversation_id)
    older = client.list_messages(conversation_id, before=latest[0].id)
    newer = client.list_messages(conversation_id, after=latest[0].id - 110)
    between = client.list_messages(conversation_id, after=older[0].id, before=latest[0].id)

    def numbers(messages: list[Any]) -> list[int]:
        return [int(m.content.split()[1]) for m in messages]

    assert numbers(latest) == list(range(110, 130))  # the latest 20, ascending
    assert numbers(older) == list(range(90, 110))
    assert numbers(newer) == list(range(1, 101))  # at most 100
    assert numbers(between) == list(range(91, 110))
    assert latest[0].private and not latest[1].private  # private notes included


def test_tokens_are_checked(
    standin: ChatwootStandin, http: requests.Session, client: ChatwootClient
) -> None:
    conversation_id = customer(http, standin, "Hi!")
    base = f"{standin.url}/api/v1/accounts/{ACCOUNT}/conversations"

    def status(url: str, token: str | None) -> int:
        headers = {"api_access_token": token} if token else {}
        return http.get(url, headers=headers, timeout=5).status_code

    assert status(f"{base}/{conversation_id}", None) == 401
    assert status(f"{base}/{conversation_id}", "wrong") == 401
    assert status(f"{base}/{conversation_id}", BOT) == 200
    # A bot token may not list conversations or messages; a user token may.
    assert status(base, BOT) == 401
    assert status(f"{base}/{conversation_id}/messages", BOT) == 401
    assert status(base, USER) == 200
    assert status(f"{standin.url}/api/v1/accounts/4/conversations/{conversation_id}", BOT) == 401
    wrong = ChatwootClient(standin.url, ACCOUNT, "wrong", user_token=BOT, session=http)
    with pytest.raises(ChatwootError) as caught:
        wrong.create_message(conversation_id, "Hello")
    assert caught.value.status == 401 and not caught.value.transient
    with pytest.raises(ChatwootError) as caught:
        wrong.list_messages(conversation_id)
    assert caught.value.status == 401


# --- webhooks ------------------------------------------------------------------------------


def check_signature(headers: dict[str, str], body: bytes) -> None:
    verify(
        SECRET,
        timestamp=headers.get("X-Chatwoot-Timestamp"),
        signature=headers.get("X-Chatwoot-Signature"),
        body=body,
        now=time.time(),
        max_skew=300,
    )


def test_webhooks_are_signed_compact_and_parse_as_chatwoot_events(
    standin: ChatwootStandin, receiver: Receiver, http: requests.Session, client: ChatwootClient
) -> None:
    conversation_id = customer(http, standin, "Does it fit <two> pads & a dog?")
    client.create_message(conversation_id, "Yes!")
    client.create_message(conversation_id, "💬 Draft D1", private=True)
    control(http, standin, "agent_note", conversation_id=conversation_id, content="/send", user=REP)
    delivered(standin)

    messages = []
    for headers, body in receiver.received:
        check_signature(headers, body)
        uuid.UUID(headers["X-Chatwoot-Delivery"])
        assert headers["Content-Type"] == "application/json"
        assert b": " not in body and b"<" not in body  # compact, Rails-escaped
        event = parse_event(json.loads(body))
        if event.name == "message_created":
            assert event.message is not None
            messages.append(event.message)

    assert [(m.sender_kind, m.private, m.content) for m in messages] == [
        (SenderKind.CUSTOMER, False, "Does it fit <two> pads & a dog?"),
        (SenderKind.BOT, False, "Yes!"),
        (SenderKind.BOT, True, "💬 Draft D1"),
        (SenderKind.HUMAN, True, "/send"),
    ]
    assert [m.sender_type for m in messages] == ["contact", "agent_bot", "agent_bot", "user"]
    assert messages[-1].sender_id == 21 and messages[-1].sender_name == "Daniel Ortiz"
    assert len({h["X-Chatwoot-Delivery"] for h, _ in receiver.received}) == len(receiver.received)


def skeleton_differences(real: Any, ours: Any, path: str = "") -> list[str]:
    """Where ``ours`` differs from ``real`` in keys, key order or JSON types (nulls aside)."""
    if real is None or ours is None:
        return []
    if isinstance(real, dict) and isinstance(ours, dict):
        if path.rsplit(".", 1)[-1].endswith("attributes"):
            return []  # free-form hashes
        if list(real) != list(ours):
            return [f"{path or '.'}: keys {list(ours)} != {list(real)}"]
        return [d for k in real for d in skeleton_differences(real[k], ours[k], f"{path}.{k}")]
    if isinstance(real, list) and isinstance(ours, list):
        if real and ours:
            return skeleton_differences(real[0], ours[0], f"{path}[0]")
        return []
    if type(real) is not type(ours):
        return [f"{path}: {type(ours).__name__} != {type(real).__name__}"]
    return []


def _incoming(http: requests.Session, standin: ChatwootStandin, client: ChatwootClient) -> int:
    return customer(http, standin, "Hi!")


def _attachment_only(
    http: requests.Session, standin: ChatwootStandin, client: ChatwootClient
) -> int:
    return customer(http, standin, None, attachments=[{"file_type": "image"}])


def _bot_reply(http: requests.Session, standin: ChatwootStandin, client: ChatwootClient) -> int:
    conversation_id = customer(http, standin, "Hi!")
    client.create_message(conversation_id, "Hello!")
    return conversation_id


def _agent_note(http: requests.Session, standin: ChatwootStandin, client: ChatwootClient) -> int:
    conversation_id = customer(http, standin, "Hi!")
    control(http, standin, "agent_note", conversation_id=conversation_id, content="/send", user=REP)
    return conversation_id


def _handoff(http: requests.Session, standin: ChatwootStandin, client: ChatwootClient) -> int:
    conversation_id = customer(http, standin, None, attachments=[{"file_type": "image"}])
    client.add_labels(conversation_id, ["damaged-item"])
    client.toggle_status(conversation_id, "open")
    return conversation_id


def _resolved(http: requests.Session, standin: ChatwootStandin, client: ChatwootClient) -> int:
    conversation_id = customer(http, standin, "Thanks!", assignee=REP)
    client.assign(conversation_id, team_id=2)
    client.toggle_status(conversation_id, "resolved")
    return conversation_id


Scenario = Callable[[requests.Session, ChatwootStandin, ChatwootClient], int]


@pytest.mark.parametrize(
    ("fixture", "scenario", "pick"),
    [
        ("message_created_incoming", _incoming, 0),
        ("message_created_attachment_only", _attachment_only, 0),
        ("message_created_outgoing_bot", _bot_reply, 1),
        ("message_created_private_note_by_agent", _agent_note, 1),
        ("conversation_opened", _handoff, 0),
        ("conversation_status_changed", _resolved, 0),
    ],
)
def test_webhooks_have_the_real_shapes(
    fixture: str,
    scenario: Scenario,
    pick: int,
    standin: ChatwootStandin,
    receiver: Receiver,
    http: requests.Session,
    client: ChatwootClient,
) -> None:
    real = load_event(fixture)
    scenario(http, standin, client)
    delivered(standin)

    ours = receiver.events(real["event"])[pick]

    assert skeleton_differences(real, ours) == []
    assert parse_event(ours).name == real["event"]
    if ours["event"] == "message_created":
        # A name at the top, the integer in conversation.messages[], ISO vs unix seconds.
        assert ours["message_type"] == real["message_type"]
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", ours["created_at"])
        assert isinstance(ours["conversation"]["messages"][0]["message_type"], int)
    else:
        assert ours["status"] == real["status"]


def test_conversation_messages_hold_the_last_public_message_and_updated_at_grows(
    standin: ChatwootStandin, receiver: Receiver, http: requests.Session, client: ChatwootClient
) -> None:
    conversation_id = customer(http, standin, "Hi!")
    client.create_message(conversation_id, "draft", private=True)
    client.create_message(conversation_id, "Hello!")
    client.toggle_status(conversation_id, "open")
    delivered(standin)

    payloads = receiver.payloads()
    conversations = [p.get("conversation", p) for p in payloads]
    stamps = [c["updated_at"] for c in conversations]
    assert all(isinstance(stamp, float) for stamp in stamps)
    assert stamps == sorted(stamps) and len(set(stamps)) >= 4
    note = next(p for p in payloads if p.get("private"))
    assert note["conversation"]["messages"][0]["content"] == "Hi!"  # never the note itself
    opened = receiver.events("conversation_opened")[0]
    assert opened["messages"][0]["content"] == "Hello!"
    assert opened["messages"][0]["sender"]["type"] == "agent_bot"
    assert receiver.events("conversation_status_changed")[0]["changed_attributes"] is None
    updates = [u["changed_attributes"] for u in receiver.events("conversation_updated")]
    assert {"status": {"previous_value": "pending", "current_value": "open"}} in updates[-1]


def test_a_resolved_conversation_goes_back_to_pending_when_the_customer_writes(
    standin: ChatwootStandin, receiver: Receiver, http: requests.Session, client: ChatwootClient
) -> None:
    conversation_id = customer(http, standin, "Hi!")
    client.toggle_status(conversation_id, "resolved")

    customer(http, standin, "One more thing", conversation_id=conversation_id)
    delivered(standin)

    assert inspect(http, standin, conversation_id)["status"] == "pending"
    assert [e["status"] for e in receiver.events("conversation_status_changed")] == [
        "resolved",
        "pending",
    ]


def test_500_and_429_are_retried_with_the_same_delivery_id_and_others_are_not(
    standin: ChatwootStandin, receiver: Receiver, http: requests.Session
) -> None:
    receiver.script = [500, 429]
    first = customer(http, standin, "Hi!")
    delivered(standin)
    receiver.script = [502]
    customer(http, standin, "Hello again", conversation_id=first)
    delivered(standin)

    headers = [h for h, _ in receiver.received]
    assert len({h["X-Chatwoot-Delivery"] for h in headers[:3]}) == 1
    for each, body in receiver.received:
        check_signature(each, body)
    records = control_get(http, standin, "deliveries")["deliveries"]
    assert [(r["attempts"], r["state"], r["status"]) for r in records] == [
        (3, "delivered", 200),
        (1, "failed", 502),
    ]


def control_get(http: requests.Session, standin: ChatwootStandin, path: str) -> Any:
    return http.get(f"{standin.url}/_standin/{path}", timeout=5).json()


def test_without_a_secret_deliveries_are_unsigned(
    receiver: Receiver, http: requests.Session
) -> None:
    server = serve(bot_token=BOT, webhook_url=receiver.url)
    try:
        customer(http, server, "Hi!")
        delivered(server)
    finally:
        server.stop()
    headers = receiver.received[0][0]
    assert "X-Chatwoot-Signature" not in headers and "X-Chatwoot-Timestamp" not in headers
    assert "X-Chatwoot-Delivery" in headers


# --- controls ----------------------------------------------------------------------------


def test_scripted_failures_hit_matching_calls_only(
    standin: ChatwootStandin, http: requests.Session, client: ChatwootClient
) -> None:
    conversation_id = customer(http, standin, "Hi!")
    control(http, standin, "fail", path_contains="/labels", status=500, times=2)
    control(http, standin, "fail", path_contains="/messages", status=429, method="POST")

    for _ in range(2):
        with pytest.raises(ChatwootError) as caught:
            client.get_labels(conversation_id)
        assert caught.value.status == 500 and caught.value.transient
    assert client.get_labels(conversation_id) == []
    client.get_conversation(conversation_id)  # not matched
    with pytest.raises(ChatwootError) as caught:
        client.create_message(conversation_id, "Hello!")
    assert caught.value.status == 429
    client.create_message(conversation_id, "Hello!")
    assert [m["content"] for m in inspect(http, standin, conversation_id)["messages"]] == [
        "Hi!",
        "Hello!",
    ]


def test_an_applied_failure_takes_effect_but_answers_an_error(
    standin: ChatwootStandin, receiver: Receiver, http: requests.Session, client: ChatwootClient
) -> None:
    conversation_id = customer(http, standin, "Hi!")
    control(http, standin, "fail", path_contains="/messages", status=500, apply=True)

    with pytest.raises(ChatwootError):
        client.create_message(conversation_id, "Hello!")
    delivered(standin)

    assert inspect(http, standin, conversation_id)["messages"][-1]["content"] == "Hello!"
    assert receiver.events("message_created")[-1]["content"] == "Hello!"  # the echo came
    assert client.get_conversation(conversation_id).last_message is not None


def test_the_inspection_shows_notes_senders_and_mentions(
    standin: ChatwootStandin, http: requests.Session, client: ChatwootClient
) -> None:
    conversation_id = customer(http, standin, "Hi!", contact={"name": "Sam Lee"})
    client.create_message(
        conversation_id,
        "💬 Draft D1 for [@Daniel Ortiz](mention://user/21/Daniel%20Ortiz)",
        private=True,
    )
    control(http, standin, "agent_note", conversation_id=conversation_id, content="/send", user=REP)

    seen = inspect(http, standin, conversation_id)

    assert [(m["sender"]["type"], m["sender"]["name"], m["private"]) for m in seen["messages"]] == [
        ("contact", "Sam Lee", False),
        ("agent_bot", "Aria (AI)", True),
        ("user", "Daniel Ortiz", True),
    ]
    assert seen["mentions"] == [
        {"user_id": 21, "name": "Daniel Ortiz", "message_id": seen["messages"][1]["id"]}
    ]


def test_bad_control_requests_are_400(standin: ChatwootStandin, http: requests.Session) -> None:
    url = f"{standin.url}/_standin"
    assert http.post(f"{url}/customer_message", json={}, timeout=5).status_code == 400
    assert http.post(f"{url}/agent_note", json={"conversation_id": 1}, timeout=5).status_code == 400
    assert http.post(f"{url}/fail", json={"status": 200}, timeout=5).status_code == 400
    assert http.post(f"{url}/nope", json={}, timeout=5).status_code == 404
    assert http.post(f"{url}/reset", data=b"[1]", timeout=5).status_code == 400


def test_reset_forgets_everything(
    standin: ChatwootStandin, http: requests.Session, client: ChatwootClient
) -> None:
    conversation_id = customer(http, standin, "Hi!")
    control(http, standin, "fail", path_contains="/labels")
    control(http, standin, "reset")
    assert control_get(http, standin, "conversations") == {"conversations": []}
    assert control_get(http, standin, "deliveries") == {"deliveries": []}
    assert customer(http, standin, "Hi again") == conversation_id
    assert client.get_labels(conversation_id) == []


# --- the command line ------------------------------------------------------------------------


def test_it_runs_as_a_module_and_prints_its_url() -> None:
    args = ["--port", "0", "--bot-token", BOT, "--webhook-url", "http://127.0.0.1:9/hook"]
    process = subprocess.Popen(
        [sys.executable, "-m", "standins.chatwoot", *args],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert process.stdout is not None
        lines = [process.stdout.readline() for _ in range(3)]
        assert "NOT a real Chatwoot" in lines[0]
        assert "unsigned" in lines[1]
        url = re.search(r"Listening on (\S+)", lines[2])
        assert url, lines
        with requests.get(url.group(1) + "/", timeout=5) as response:
            assert response.json()["standin"] == "chatwoot"
    finally:
        process.terminate()
        process.wait(timeout=10)
        if process.stdout is not None:
            process.stdout.close()


# --- held webhooks, an injected clock, dropped connections (for the simulation) ----------


def test_held_webhooks_wait_for_the_caller_and_on_publish_sees_them_mid_call(
    http: requests.Session,
) -> None:
    now = [1_781_774_000.0]
    server = serve(
        account_id=ACCOUNT, bot_token=BOT, secret=SECRET, clock=lambda: now[0], hold_webhooks=True
    )
    seen: list[str] = []
    server.on_publish = lambda delivery: seen.append(delivery.event)
    try:
        client = ChatwootClient(server.url, ACCOUNT, BOT, timeout=5, session=http)
        conversation_id = customer(http, server, "Hi!")
        first = server.take_webhooks()
        assert [d.event for d in first] == ["message_created"]
        assert server.take_webhooks() == []  # handed over once
        now[0] += 60
        client.create_message(conversation_id, "Hello!", content_attributes={"wingman": "k"})
        held = server.take_webhooks()
        assert [d.event for d in held][0] == "message_created"
        assert seen == ["message_created", *[d.event for d in held]]
        echo = json.loads(held[0].body)
        assert echo["content_attributes"] == {"wingman": "k"}  # CONTRACT-NEXT §7
        assert echo["created_at"].startswith("2026-06-18T09:14:20")  # the injected clock
        headers = server.deliverer.headers(held[0])
        timestamp = headers["X-Chatwoot-Timestamp"]
        assert timestamp == str(int(now[0]))
        verify(
            SECRET,
            timestamp=timestamp,
            signature=headers["X-Chatwoot-Signature"],
            body=held[0].body,
            now=now[0],
            max_skew=300,
        )
    finally:
        server.stop()


def test_a_dropped_call_takes_effect_but_the_client_gets_no_answer(
    standin: ChatwootStandin, http: requests.Session, client: ChatwootClient
) -> None:
    conversation_id = customer(http, standin, "Hi!")
    control(http, standin, "fail", path_contains="/messages", apply=True, drop=True)
    with pytest.raises(ChatwootError) as caught:
        client.create_message(conversation_id, "Hello!")
    assert caught.value.transient and caught.value.status is None
    snapshot = client.get_conversation(conversation_id)
    assert snapshot.last_message is not None and snapshot.last_message.content == "Hello!"


def test_a_reply_from_the_phone_app_has_no_sender_and_external_echo(
    standin: ChatwootStandin, http: requests.Session, receiver: Receiver
) -> None:
    conversation_id = customer(http, standin, "Hi!")
    control(
        http,
        standin,
        "agent_note",
        conversation_id=conversation_id,
        content="Hey!",
        from_phone=True,
    )
    assert standin.deliverer.wait_idle(5)
    [echo] = [p for p in receiver.events("message_created") if p["content"] == "Hey!"]
    assert echo["sender"] is None and echo["private"] is False
    assert echo["content_attributes"] == {"external_echo": True}
    message = parse_event(echo).message
    assert message is not None and message.sender_kind is SenderKind.HUMAN


def test_windowed_inboxes_compute_can_reply_from_the_customers_last_message(
    http: requests.Session,
) -> None:
    now = [1_781_774_000.0]
    server = serve(account_id=ACCOUNT, bot_token=BOT, clock=lambda: now[0], hold_webhooks=True)
    try:
        whatsapp = control(http, server, "customer_message", content="Hi", inbox_id=13)
        twilio = control(http, server, "customer_message", content="Hi", inbox_id=15)
        [first, second] = [json.loads(d.body) for d in server.take_webhooks()]
        assert first["conversation"]["channel"] == "Channel::Whatsapp"
        assert first["conversation"]["can_reply"] is True
        assert first["inbox"] == {"id": 13, "name": "WhatsApp Sales"}
        assert second["conversation"]["channel"] == "Channel::TwilioSms"
        assert second["conversation"]["contact_inbox"]["source_id"].startswith("whatsapp:+")
        client = ChatwootClient(server.url, ACCOUNT, BOT, timeout=5, session=http)
        now[0] += 24 * 3600 - 1
        client.create_message(whatsapp["conversation_id"], "still in time")
        assert json.loads(server.take_webhooks()[0].body)["conversation"]["can_reply"] is True
        now[0] += 2
        client.create_message(twilio["conversation_id"], "too late: Chatwoot takes it anyway")
        assert json.loads(server.take_webhooks()[0].body)["conversation"]["can_reply"] is False
    finally:
        server.stop()
