"""The webhook on the real app, real Redis, and both databases."""

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from redis import Redis
from rq import Queue
from rq.serializers import JSONSerializer
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, func, select

from chatwoot.signature import sign
from core.db import session_scope
from core.models import Account, Contact, Conversation, Delivery, Inbox, Message
from core.store import apply_pending
from tests.conftest import event_names, load_event

URL = "/chatwoot/webhook"
NOW = datetime(2026, 6, 18, 9, 14, tzinfo=UTC)
SECRET = "test-webhook-secret"


def fixed_now() -> datetime:
    return NOW


def row_counts(engine: Engine) -> dict[str, int]:
    with Session(engine) as session:
        return {
            model.__name__: session.exec(select(func.count()).select_from(model)).one()
            for model in (Delivery, Account, Inbox, Contact, Conversation, Message)
        }


def apply_stored(engine: Engine) -> None:
    """What the worker does first with each stored delivery: upsert what it says."""
    with session_scope(engine) as session:
        for delivery in session.exec(select(Delivery).order_by(col(Delivery.id))).all():
            if delivery.processed_at is None:
                apply_pending(session, delivery, now=NOW)


def queued(redis_conn: Redis) -> list[tuple[str, list[Any]]]:
    queue = Queue("wingman", connection=redis_conn, serializer=JSONSerializer)
    return [(str(job.func_name), list(job.args)) for job in queue.jobs]


def post(client: Any, body: bytes | str, delivery: str | None = "d-1", **headers: str) -> Any:
    if delivery:
        headers["X-Chatwoot-Delivery"] = delivery
    return client.post(URL, data=body, headers={"Content-Type": "application/json", **headers})


@pytest.fixture
def client(make_app: Any) -> Any:
    return make_app(now=fixed_now).test_client()


@pytest.mark.parametrize("name", event_names())
def test_each_event_is_stored_once_and_enqueued_once(
    client: Any, engine: Engine, redis_conn: Redis, name: str
) -> None:
    body = json.dumps(load_event(name))
    first = post(client, body, delivery="3f1c-uuid")
    assert first.status_code == 200, first.json
    assert first.json["status"] == "stored"
    after_first = row_counts(engine)
    assert after_first["Delivery"] == 1
    again = post(client, body, delivery="3f1c-uuid")
    assert again.status_code == 200 and again.json["status"] == "duplicate"
    assert again.json["delivery"] == first.json["delivery"]
    assert row_counts(engine) == after_first
    assert queued(redis_conn) == [("workers.jobs.process_delivery", [first.json["delivery"]])]


def test_the_raw_delivery_is_kept(client: Any, engine: Engine) -> None:
    body = json.dumps(load_event("message_created_incoming"), separators=(",", ":"))
    post(client, body, delivery="abc-123")
    with Session(engine) as session:
        delivery = session.exec(select(Delivery)).one()
    assert delivery.body == body
    assert delivery.delivery_key == "abc-123"
    assert delivery.event == "message_created"
    assert delivery.received_at == NOW
    assert (delivery.account_id, delivery.conversation_display_id) == (3, 1423)
    assert delivery.message_id == 918273 and delivery.processed_at is None


def test_without_a_delivery_header_the_body_is_the_key(client: Any, engine: Engine) -> None:
    body = json.dumps(load_event("conversation_opened"))
    assert post(client, body, delivery=None).json["status"] == "stored"
    assert post(client, body, delivery=None).json["status"] == "duplicate"
    assert row_counts(engine)["Delivery"] == 1


def test_unknown_event_is_acknowledged_and_ignored(
    client: Any, engine: Engine, redis_conn: Redis
) -> None:
    response = post(client, json.dumps({"event": "conversation_typing_on", "id": 5}))
    assert response.status_code == 200 and response.json["status"] == "ignored"
    counts = row_counts(engine)
    assert counts["Delivery"] == 1 and counts["Conversation"] == 0
    assert queued(redis_conn) == []


def without(name: str, path: str) -> str:
    payload = load_event(name)
    *parents, leaf = path.split(".")
    target = payload
    for part in parents:
        target = target[part]
    del target[leaf]
    return json.dumps(payload)


@pytest.mark.parametrize(
    ("body", "status", "mentions"),
    [
        (b"not json", 400, "not valid JSON"),
        (b"\xff\xfe", 400, "UTF-8"),
        (b"[1, 2]", 400, "JSON object"),
        (b'"message_created"', 400, "JSON object"),
        (b"{}", 400, "'event'"),
        (b'{"event": 42}', 400, "'event'"),
        (without("message_created_incoming", "id"), 422, "'id'"),
        (without("message_created_incoming", "conversation"), 422, "'conversation'"),
        (without("message_created_incoming", "conversation.id"), 422, "'conversation.id'"),
        (without("message_created_incoming", "account"), 422, "'account'"),
        (json.dumps({**load_event("message_created_incoming"), "id": "abc"}), 422, "'id'"),
        (without("conversation_opened", "account"), 422, "'account'"),
    ],
)
def test_bad_input_gets_a_named_error_and_stores_nothing(
    client: Any, engine: Engine, redis_conn: Redis, body: bytes | str, status: int, mentions: str
) -> None:
    response = post(client, body)
    assert response.status_code == status
    assert mentions in response.json["error"]
    assert set(row_counts(engine).values()) == {0}
    assert queued(redis_conn) == []


def test_body_over_one_mebibyte_is_refused(client: Any, engine: Engine) -> None:
    payload = load_event("message_created_incoming")
    payload["content"] = "x" * (1024 * 1024)
    response = post(client, json.dumps(payload))
    assert response.status_code == 413
    assert "1 MiB" in response.json["error"]
    assert row_counts(engine)["Delivery"] == 0


def test_message_event_error_names_the_field(client: Any) -> None:
    response = post(client, without("message_created_incoming", "conversation.id"))
    assert response.json["field"] == "conversation.id"


# --- signatures -------------------------------------------------------------------------


@pytest.fixture
def signed_client(make_app: Any) -> Any:
    return make_app(now=fixed_now, CHATWOOT_WEBHOOK_SECRET=SECRET).test_client()


def signed_headers(body: bytes, timestamp: int, secret: str = SECRET) -> dict[str, str]:
    return {
        "X-Chatwoot-Timestamp": str(timestamp),
        "X-Chatwoot-Signature": sign(secret, str(timestamp), body),
    }


def test_signed_delivery_is_accepted(signed_client: Any, engine: Engine) -> None:
    body = json.dumps(load_event("message_created_incoming")).encode()
    response = post(signed_client, body, **signed_headers(body, int(NOW.timestamp())))
    assert response.status_code == 200
    assert row_counts(engine)["Delivery"] == 1


@pytest.mark.parametrize(
    ("headers", "check"),
    [
        ({}, "signature"),
        ({"X-Chatwoot-Signature": "sha256=00"}, "timestamp"),
        ("wrong-secret", "signature"),
        ("stale", "timestamp"),
        ("tampered", "signature"),
    ],
)
def test_bad_signatures_get_401_naming_the_check(
    signed_client: Any, engine: Engine, headers: Any, check: str
) -> None:
    body = json.dumps(load_event("message_created_incoming")).encode()
    now = int(NOW.timestamp())
    sent = body
    if headers == "wrong-secret":
        headers = signed_headers(body, now, secret="other")
    elif headers == "stale":
        headers = signed_headers(body, now - 301)
    elif headers == "tampered":
        headers = signed_headers(body, now)
        sent = body.replace(b"Trail Tent", b"Trail Tant")
    response = post(signed_client, sent, **headers)
    assert response.status_code == 401
    assert response.json["check"] == check
    assert response.json["error"]
    assert row_counts(engine)["Delivery"] == 0


def test_without_a_secret_unsigned_deliveries_are_accepted(client: Any) -> None:
    response = post(client, json.dumps(load_event("message_created_incoming")))
    assert response.status_code == 200


# --- failures around storage ------------------------------------------------------------


def test_redis_down_still_stores_and_acknowledges(
    make_app: Any, engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    from bot import create_app
    from core.settings import Settings
    from workers.queue import connect

    dead = connect("redis://127.0.0.1:1/0")
    settings = Settings.from_env({"REDIS_URL": "redis://127.0.0.1:1/0"})
    app = create_app({"settings": settings, "engine": engine, "redis": dead, "now": fixed_now})
    response = post(app.test_client(), json.dumps(load_event("message_created_incoming")))
    assert response.status_code == 200
    assert row_counts(engine)["Delivery"] == 1
    assert "the delivery sweeper will retry it" in caplog.text


def test_storage_failure_answers_500_so_chatwoot_retries(make_app: Any, redis_conn: Redis) -> None:
    from bot import create_app
    from core.db import make_engine
    from core.settings import Settings

    broken = make_engine("postgresql+psycopg://nobody@127.0.0.1:1/none")
    app = create_app({"settings": Settings.from_env({}), "engine": broken, "redis": redis_conn})
    response = post(app.test_client(), json.dumps(load_event("message_created_incoming")))
    assert response.status_code == 500
    assert "not stored" in response.json["error"]
    assert queued(redis_conn) == []


def test_wrong_method_is_json(client: Any) -> None:
    response = client.get(URL)
    assert response.status_code == 405 and "error" in response.json


# --- odd input (issue #10, finding 7): a 4xx naming the field, never a 500 -------------------


def with_value(name: str, path: str, value: Any) -> str:
    """The fixture with the value at a dotted path replaced."""
    payload = load_event(name)
    *parents, leaf = path.split(".")
    target = payload
    for part in parents:
        target = target[int(part)] if isinstance(target, list) else target[part]
    target[leaf] = value
    return json.dumps(payload)


def test_deeply_nested_json_is_a_400_and_stores_nothing(
    client: Any, engine: Engine, redis_conn: Redis
) -> None:
    depth = 100_000
    body = '{"event": "message_created", "content_attributes": ' + "[" * depth + "]" * depth + "}"
    response = post(client, body)
    assert response.status_code == 400
    assert "nested" in response.json["error"]
    assert set(row_counts(engine).values()) == {0}
    assert queued(redis_conn) == []


ODD_VALUES = {
    "a superscript digit as the id": ("message_created_incoming", "id", "²", "id"),
    "attachments that are a number": ("message_created_incoming", "attachments", 5, "attachments"),
    "a conversation created in the year 3 billion": (
        "message_created_incoming",
        "conversation.created_at",
        1e20,
        "conversation.created_at",
    ),
    "a message id above 2^63": ("message_created_incoming", "id", 2**63, "id"),
    "a conversation id above 2^63": (
        "message_created_incoming",
        "conversation.id",
        2**64 + 5,
        "conversation.id",
    ),
    "an account id above 2^63 on a conversation event": (
        "conversation_opened",
        "account.id",
        2**63,
        "account.id",
    ),
}


@pytest.mark.parametrize("case", ODD_VALUES)
def test_odd_values_get_a_422_naming_the_field_and_store_nothing(
    client: Any, engine: Engine, redis_conn: Redis, case: str
) -> None:
    fixture, path, value, field = ODD_VALUES[case]
    response = post(client, with_value(fixture, path, value))
    assert response.status_code == 422, response.json
    assert response.json["field"] == field
    assert f"'{field}'" in response.json["error"]
    assert set(row_counts(engine).values()) == {0}
    assert queued(redis_conn) == []


def test_nul_characters_are_stripped_from_every_stored_string(client: Any, engine: Engine) -> None:
    payload = load_event("message_created_incoming")
    payload["content"] = "Does the Trail\u0000 Tent fit two?\u0000"
    payload["content_attributes"] = {
        "in_reply_to\u0000": None,
        "note": ["a\u0000b", {"c": "\u0000d"}],
    }
    payload["attachments"] = [
        {"id": 7, "file_type": "image", "data_url": "https://x.example/a\u0000.png"}
    ]
    payload["sender"]["name"] = "Maya\u0000 Chen"
    payload["conversation"]["meta"]["sender"]["name"] = "Maya\u0000 Chen"
    payload["conversation"]["labels"] = ["tent\u0000s"]
    response = post(client, json.dumps(payload))
    assert response.status_code == 200, response.json
    apply_stored(engine)
    with Session(engine) as session:
        message = session.exec(select(Message)).one()
        contact = session.exec(select(Contact)).one()
        conversation = session.exec(select(Conversation)).one()
    assert message.content == "Does the Trail Tent fit two?"
    assert message.content_attributes == {"in_reply_to": None, "note": ["ab", {"c": "d"}]}
    assert message.attachments == [
        {"id": 7, "file_type": "image", "data_url": "https://x.example/a.png"}
    ]
    assert message.sender_name == contact.name == "Maya Chen"
    assert conversation.labels == ["tents"]


def test_a_signed_body_replayed_under_a_new_delivery_id_is_a_duplicate(
    signed_client: Any, engine: Engine, redis_conn: Redis
) -> None:
    """Chatwoot reuses X-Chatwoot-Delivery on retries; a replay within the timestamp
    window needs no new signature and may carry any delivery id (issue #10, finding 6)."""
    note = {**load_event("message_created_private_note_by_agent"), "content": "/bot on"}
    body = json.dumps(note).encode()
    first = post(signed_client, body, delivery="d-1", **signed_headers(body, int(NOW.timestamp())))
    assert first.json["status"] == "stored"
    replay = signed_headers(body, int(NOW.timestamp()) + 100)
    again = post(signed_client, body, delivery="d-2-forged", **replay)
    assert again.status_code == 200
    assert again.json == {"status": "duplicate", "delivery": first.json["delivery"]}
    assert row_counts(engine)["Delivery"] == 1
    assert queued(redis_conn) == [("workers.jobs.process_delivery", [first.json["delivery"]])]
