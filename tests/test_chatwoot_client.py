"""The REST client against `responses`: what it sends, what it returns, how it fails."""

from __future__ import annotations

import copy
import json
import traceback
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
import requests
import responses
from responses import matchers

from chatwoot.client import ChatwootClient
from chatwoot.errors import ChatwootError
from chatwoot.types import Assignee, ChatwootMessage
from tests.conftest import load_event

BASE = "https://chat.example"
API = f"{BASE}/api/v1/accounts/3"
CONV = f"{API}/conversations/1423"
BOT = "bot-token-Zq81xYv"
USER = "user-token-Kp27mWn"


@pytest.fixture
def rsps() -> Iterator[responses.RequestsMock]:
    # Unregistered URLs raise ConnectionError, and every registered one must be called.
    with responses.RequestsMock() as mock:
        yield mock


@pytest.fixture
def client() -> ChatwootClient:
    return ChatwootClient(BASE + "/", 3, BOT, user_token=USER)


def rest_message(**overrides: Any) -> dict[str, Any]:
    """A message as Chatwoot's REST message partial renders it (integer message_type)."""
    message = {
        "id": 918300,
        "content": "The Trail Tent 2P fits two 20-in pads.",
        "inbox_id": 12,
        "echo_id": "draft-17",
        "conversation_id": 1423,
        "message_type": 1,
        "content_type": "text",
        "status": "sent",
        "content_attributes": {},
        "created_at": 1781774400,
        "private": False,
        "source_id": None,
        "sender": {"id": 7, "name": "Wingman", "avatar_url": "", "type": "agent_bot"},
    }
    return message | overrides


def conversation(**overrides: Any) -> dict[str, Any]:
    """A conversation in Chatwoot's real shape, taken from the shared webhook fixture."""
    body = copy.deepcopy(load_event("conversation_opened"))
    del body["event"]
    return body | overrides


def sent(call: Any) -> Any:
    return json.loads(call.request.body)


# --- messages ------------------------------------------------------------------------------


def test_create_message_posts_outgoing_text_as_the_bot(
    rsps: responses.RequestsMock, client: ChatwootClient
) -> None:
    rsps.post(f"{CONV}/messages", json=rest_message())

    message = client.create_message(1423, "The Trail Tent 2P fits two 20-in pads.")

    call: Any = rsps.calls[0]
    assert call.request.url == f"{CONV}/messages"
    assert call.request.headers["api_access_token"] == BOT
    assert call.request.req_kwargs["timeout"] == 10.0
    assert sent(call) == {
        "content": "The Trail Tent 2P fits two 20-in pads.",
        "message_type": "outgoing",
        "content_type": "text",
        "private": False,
    }
    assert message == ChatwootMessage(
        id=918300,
        content="The Trail Tent 2P fits two 20-in pads.",
        message_type="outgoing",
        private=False,
        created_at=datetime(2026, 6, 18, 9, 20, tzinfo=UTC),
        sender_type="agent_bot",
        sender_id=7,
        content_attributes={},
    )


def test_create_private_note_sends_attributes_and_echo_id(
    rsps: responses.RequestsMock, client: ChatwootClient
) -> None:
    rsps.post(f"{CONV}/messages", json=rest_message(private=True))

    note = client.create_message(
        1423, "Draft ready", private=True, content_attributes={"in_reply_to": 918290}, echo_id="d-1"
    )

    assert sent(rsps.calls[0]) == {
        "content": "Draft ready",
        "message_type": "outgoing",
        "content_type": "text",
        "private": True,
        "content_attributes": {"in_reply_to": 918290},
        "echo_id": "d-1",
    }
    assert note.private is True


@pytest.mark.parametrize(
    ("raw", "name"), [(0, "incoming"), (1, "outgoing"), (2, "activity"), (3, "template")]
)
def test_integer_message_type_is_normalised(
    rsps: responses.RequestsMock, client: ChatwootClient, raw: int, name: str
) -> None:
    rsps.post(f"{CONV}/messages", json=rest_message(message_type=raw))

    assert client.create_message(1423, "hi").message_type == name


def test_unknown_message_type_is_a_permanent_error(
    rsps: responses.RequestsMock, client: ChatwootClient
) -> None:
    rsps.post(f"{CONV}/messages", json=rest_message(message_type=9))

    with pytest.raises(ChatwootError) as caught:
        client.create_message(1423, "hi")
    assert caught.value.transient is False
    assert caught.value.status == 200
    # The same coercion layer as webhook bodies: the error names the field and the value.
    assert "'message_type' must be one of" in str(caught.value)
    assert "got 9" in str(caught.value)


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"created_at": None}, "'created_at' is missing"),
        ({"id": "x"}, "'id' must be a whole number"),
        ({"content": "a\x00b"}, None),  # NUL removed, as from a webhook
        ({"sender": {"type": "agent_bot"}}, "'sender.id' is missing"),
    ],
)
def test_a_rest_message_is_validated_like_a_webhook_body(
    rsps: responses.RequestsMock,
    client: ChatwootClient,
    change: dict[str, Any],
    problem: str | None,
) -> None:
    rsps.post(f"{CONV}/messages", json={**rest_message(), **change})

    if problem is None:
        assert client.create_message(1423, "hi").content == "ab"
        return
    with pytest.raises(ChatwootError) as caught:
        client.create_message(1423, "hi")
    assert problem in str(caught.value)


def test_list_messages_uses_the_user_token_and_cursor_params(
    rsps: responses.RequestsMock, client: ChatwootClient
) -> None:
    customer = {"id": 4817, "name": "Maya Chen", "type": "contact"}
    rsps.get(
        f"{CONV}/messages",
        match=[matchers.query_param_matcher({"before": "918300"})],
        json={
            "meta": {"labels": [], "contact_id": 4817},
            "payload": [
                rest_message(id=918290, message_type=0, content=None, sender=customer),
                rest_message(id=918295, message_type=2, content="Assigned", sender=None),
            ],
        },
    )

    messages = client.list_messages(1423, before=918300)

    assert rsps.calls[0].request.headers["api_access_token"] == USER
    assert [(m.id, m.message_type, m.sender_type, m.sender_id) for m in messages] == [
        (918290, "incoming", "contact", 4817),
        (918295, "activity", None, None),
    ]
    assert messages[0].content is None


# --- status, typing, assignment ------------------------------------------------------------


def test_toggle_status_returns_the_current_status(
    rsps: responses.RequestsMock, client: ChatwootClient
) -> None:
    rsps.post(
        f"{CONV}/toggle_status",
        json={
            "meta": {},
            "payload": {
                "success": True,
                "conversation_id": 1423,
                "current_status": "snoozed",
                "snoozed_until": "2026-06-19T09:00:00.000Z",
            },
        },
    )

    assert client.toggle_status(1423, "snoozed", snoozed_until=1781859600) == "snoozed"
    assert sent(rsps.calls[0]) == {"status": "snoozed", "snoozed_until": 1781859600}
    assert rsps.calls[0].request.headers["api_access_token"] == BOT


@pytest.mark.parametrize(
    ("status", "snoozed_until"), [("closed", None), ("", None), ("open", 1781859600)]
)
def test_toggle_status_rejects_bad_arguments_before_any_request(
    rsps: responses.RequestsMock, client: ChatwootClient, status: str, snoozed_until: int | None
) -> None:
    with pytest.raises(ValueError):
        client.toggle_status(1423, status, snoozed_until=snoozed_until)
    assert len(rsps.calls) == 0


@pytest.mark.parametrize(("on", "value"), [(True, "on"), (False, "off")])
def test_toggle_typing(
    rsps: responses.RequestsMock, client: ChatwootClient, on: bool, value: str
) -> None:
    rsps.post(f"{CONV}/toggle_typing_status", body="")

    client.toggle_typing(1423, on)

    assert sent(rsps.calls[0]) == {"typing_status": value, "is_private": False}


@pytest.mark.parametrize(
    ("kwargs", "body"), [({"assignee_id": 5}, {"assignee_id": 5}), ({"team_id": 2}, {"team_id": 2})]
)
def test_assign(
    rsps: responses.RequestsMock,
    client: ChatwootClient,
    kwargs: dict[str, int],
    body: dict[str, int],
) -> None:
    rsps.post(f"{CONV}/assignments", json={"id": 5, "name": "Ana"})

    client.assign(1423, **kwargs)

    assert sent(rsps.calls[0]) == body


@pytest.mark.parametrize("kwargs", [{}, {"assignee_id": 5, "team_id": 2}])
def test_assign_needs_exactly_one_target(client: ChatwootClient, kwargs: dict[str, int]) -> None:
    with pytest.raises(ValueError):
        client.assign(1423, **kwargs)


# --- labels: Chatwoot replaces the whole set on POST ---------------------------------------


def test_add_labels_writes_old_and_new_labels(
    rsps: responses.RequestsMock, client: ChatwootClient
) -> None:
    rsps.get(f"{CONV}/labels", json={"payload": ["damaged-item"]})
    rsps.post(f"{CONV}/labels", json={"payload": ["damaged-item", "wingman", "arm-b"]})

    labels = client.add_labels(1423, ["wingman", "arm-b", "wingman", "damaged-item"])

    assert sent(rsps.calls[1]) == {"labels": ["damaged-item", "wingman", "arm-b"]}
    assert rsps.calls[1].request.headers["api_access_token"] == BOT
    assert labels == ["damaged-item", "wingman", "arm-b"]


def test_add_labels_skips_the_write_when_nothing_changes(
    rsps: responses.RequestsMock, client: ChatwootClient
) -> None:
    rsps.get(f"{CONV}/labels", json={"payload": ["damaged-item", "wingman"]})

    assert client.add_labels(1423, ["wingman"]) == ["damaged-item", "wingman"]
    assert [c.request.method for c in rsps.calls] == ["GET"]


def test_remove_labels_writes_the_rest(
    rsps: responses.RequestsMock, client: ChatwootClient
) -> None:
    rsps.get(f"{CONV}/labels", json={"payload": ["damaged-item", "wingman"]})
    rsps.post(f"{CONV}/labels", json={"payload": ["damaged-item"]})

    assert client.remove_labels(1423, ["wingman"]) == ["damaged-item"]
    assert sent(rsps.calls[1]) == {"labels": ["damaged-item"]}


def test_remove_labels_skips_the_write_when_absent(
    rsps: responses.RequestsMock, client: ChatwootClient
) -> None:
    rsps.get(f"{CONV}/labels", json={"payload": ["damaged-item"]})

    assert client.remove_labels(1423, ["wingman"]) == ["damaged-item"]
    assert len(rsps.calls) == 1


# --- conversation and custom attributes ----------------------------------------------------


def test_get_conversation_returns_a_snapshot(
    rsps: responses.RequestsMock, client: ChatwootClient
) -> None:
    rsps.get(CONV, json=conversation())

    snapshot = client.get_conversation(1423)

    assert rsps.calls[0].request.headers["api_access_token"] == BOT
    assert (snapshot.id, snapshot.status, snapshot.inbox_id) == (1423, "open", 12)
    assert snapshot.assignee is None
    assert snapshot.labels == ["damaged-item"]
    assert snapshot.custom_attributes == {"ai_handoff_reason": "damaged_item_photo"}
    last = snapshot.last_message
    assert last is not None
    assert (last.id, last.message_type, last.sender_type, last.sender_id) == (
        918290,
        "incoming",
        "contact",
        4817,
    )
    assert last.created_at == datetime.fromtimestamp(1781774232, UTC)


@pytest.mark.parametrize(
    ("meta", "expected"),
    [
        # REST conversation partial: agent partial plus meta.assignee_type
        (
            {"assignee": {"id": 5, "name": "Ana", "role": "agent"}, "assignee_type": "User"},
            Assignee(5, "Ana", "User"),
        ),
        # push format, as in webhook bodies: the type sits on the assignee
        (
            {"assignee": {"id": 7, "name": "Wingman", "type": "agent_bot"}},
            Assignee(7, "Wingman", "AgentBot"),
        ),
        ({"assignee": None, "assignee_type": None}, None),
    ],
)
def test_snapshot_assignee(
    rsps: responses.RequestsMock,
    client: ChatwootClient,
    meta: dict[str, Any],
    expected: Assignee | None,
) -> None:
    rsps.get(CONV, json=conversation(meta=meta, messages=[]))

    snapshot = client.get_conversation(1423)

    assert snapshot.assignee == expected
    assert snapshot.last_message is None


# --- conversation lists --------------------------------------------------------------------


def conversation_page(*ids: int) -> dict[str, Any]:
    meta = {"mine_count": 0, "assigned_count": 1, "unassigned_count": 2, "all_count": 3}
    return {"data": {"meta": meta, "payload": [conversation(id=i) for i in ids]}}


# --- tokens --------------------------------------------------------------------------------


def test_listing_messages_needs_the_user_token(rsps: responses.RequestsMock) -> None:
    client = ChatwootClient(BASE, 3, BOT)

    with pytest.raises(ChatwootError, match="CHATWOOT_USER_TOKEN") as caught:
        client.list_messages(1423)
    assert caught.value.transient is False
    assert len(rsps.calls) == 0


def test_bot_endpoints_need_the_bot_token(rsps: responses.RequestsMock) -> None:
    # No fallback to the user token: the bot recognises its own echoes by sender.
    client = ChatwootClient(BASE, 3, None, user_token=USER)

    with pytest.raises(ChatwootError, match="CHATWOOT_BOT_TOKEN") as caught:
        client.create_message(1423, "hi")
    assert caught.value.transient is False
    assert len(rsps.calls) == 0


# --- errors --------------------------------------------------------------------------------

TRANSPORT_FAILURES: list[Any] = [
    requests.ConnectionError("connection refused"),
    requests.ConnectTimeout("connect timed out"),
    requests.ReadTimeout("read timed out"),
]


@pytest.mark.parametrize(
    ("failure", "transient", "status"),
    [
        *((exc, True, None) for exc in TRANSPORT_FAILURES),
        (429, True, 429),
        (500, True, 500),
        (502, True, 502),
        (503, True, 503),
        (400, False, 400),
        (401, False, 401),
        (403, False, 403),
        (404, False, 404),
        (422, False, 422),
    ],
    ids=lambda v: type(v).__name__ if isinstance(v, Exception) else None,
)
def test_failures_are_classified(
    rsps: responses.RequestsMock,
    client: ChatwootClient,
    failure: Any,
    transient: bool,
    status: int | None,
) -> None:
    if isinstance(failure, Exception):
        rsps.post(f"{CONV}/toggle_status", body=failure)
    else:
        rsps.post(f"{CONV}/toggle_status", status=failure, json={"error": "Nope"})

    with pytest.raises(ChatwootError) as caught:
        client.toggle_status(1423, "open")

    error = caught.value
    assert (error.transient, error.status) == (transient, status)
    assert "POST /api/v1/accounts/3/conversations/1423/toggle_status" in str(error)
    if status is not None:
        assert '{"error": "Nope"}' in str(error)
    assert len(rsps.calls) == 1  # the client never retries


def test_a_redirect_is_not_followed(rsps: responses.RequestsMock, client: ChatwootClient) -> None:
    # requests would carry the api_access_token header to the redirect target.
    rsps.get(f"{CONV}/labels", status=301, headers={"Location": "https://elsewhere.example/x"})

    with pytest.raises(ChatwootError) as caught:
        client.get_labels(1423)
    assert (caught.value.transient, caught.value.status) == (False, 301)
    assert len(rsps.calls) == 1


@pytest.mark.parametrize(
    "body",
    [
        "<html>Bad gateway page served with 200</html>",
        json.dumps({"payload": "damaged-item"}),
        json.dumps({"labels": ["damaged-item"]}),
        json.dumps(["damaged-item"]),
        json.dumps({"payload": [1, 2]}),
    ],
)
def test_an_unexpected_2xx_body_is_permanent(
    rsps: responses.RequestsMock, client: ChatwootClient, body: str
) -> None:
    rsps.get(f"{CONV}/labels", body=body)

    with pytest.raises(ChatwootError) as caught:
        client.get_labels(1423)
    assert (caught.value.transient, caught.value.status) == (False, 200)
    assert "GET /api/v1/accounts/3/conversations/1423/labels" in str(caught.value)


def test_a_long_error_body_is_cut_short(
    rsps: responses.RequestsMock, client: ChatwootClient
) -> None:
    rsps.get(CONV, status=500, body="x" * 5000)

    with pytest.raises(ChatwootError) as caught:
        client.get_conversation(1423)
    assert len(str(caught.value)) < 400


@pytest.mark.parametrize(
    "failure",
    [
        requests.ConnectionError(f"proxy said: bad header api_access_token={BOT}"),
        401,
        500,
    ],
    ids=["connection-error", "401", "500"],
)
def test_tokens_never_appear_in_errors(
    rsps: responses.RequestsMock, client: ChatwootClient, failure: Any
) -> None:
    echo = {"error": f"Invalid Access Token {BOT}", "hint": f"user {USER}"}
    if isinstance(failure, Exception):
        rsps.post(f"{CONV}/messages", body=failure)
    else:
        rsps.post(f"{CONV}/messages", status=failure, json=echo)

    with pytest.raises(ChatwootError) as caught:
        client.create_message(1423, "hi")

    text = "".join(traceback.format_exception(caught.value))
    assert BOT not in text
    assert USER not in text
    assert "[redacted]" in text


def test_for_account_calls_that_accounts_endpoints_on_the_same_session(
    rsps: responses.RequestsMock,
) -> None:
    """A bot token also works in every account its bot is attached in (CONTRACT-NEXT §A)."""
    session = requests.Session()
    unbound = ChatwootClient(BASE, None, BOT, user_token=USER, session=session)
    other = f"{BASE}/api/v1/accounts/58/conversations/7/messages"
    rsps.post(other, json=rest_message(id=5, conversation_id=7))
    message = unbound.for_account(58).create_message(7, "hi")
    assert message.id == 5 and rsps.calls[0].request.headers["api_access_token"] == BOT
    bound = unbound.for_account(58)
    assert bound._session is session and bound.for_account(58) is bound
    with pytest.raises(ValueError, match="for_account"):
        unbound.create_message(7, "hi")
