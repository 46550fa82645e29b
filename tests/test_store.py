"""Storage runs on both SQLite and PostgreSQL (the ``engine`` fixture is parametrised)."""

import copy
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, func, select

from core.db import session_scope
from core.merges import merge_attachments
from core.models import Account, Contact, Conversation, Delivery, Inbox, Message
from tests.conftest import event_names, load_event, store_event

NOW = datetime(2026, 6, 18, 9, 20, tzinfo=UTC)


def deliver(engine: Engine, payload: dict[str, Any], key: str) -> Any:
    return store_event(engine, payload, key=key, received_at=NOW)


def counts(engine: Engine) -> dict[str, int]:
    with Session(engine) as session:
        return {
            model.__name__: session.exec(select(func.count()).select_from(model)).one()
            for model in (Delivery, Account, Inbox, Contact, Conversation, Message)
        }


def conversation(engine: Engine) -> Conversation:
    with Session(engine) as session:
        return session.exec(select(Conversation)).one()


def message(engine: Engine, message_id: int) -> Message:
    with Session(engine) as session:
        row = session.get(Message, message_id)
        assert row is not None
        return row


@pytest.mark.parametrize("name", event_names())
def test_each_fixture_is_stored_once_even_when_delivered_twice(engine: Engine, name: str) -> None:
    payload = load_event(name)
    first = deliver(engine, payload, key="delivery-1")
    after_first = counts(engine)
    again = deliver(engine, payload, key="delivery-1")
    assert not first.duplicate and again.duplicate
    assert again.delivery_id == first.delivery_id
    assert counts(engine) == after_first
    assert after_first["Delivery"] == 1
    assert after_first["Account"] == 1
    assert after_first["Message"] == (1 if name.startswith("message_") else 0)
    assert after_first["Conversation"] == (0 if name == "webwidget_triggered" else 1)


def test_the_same_body_under_a_new_delivery_id_is_a_duplicate(engine: Engine) -> None:
    payload = load_event("message_created_incoming")
    first = deliver(engine, payload, key="a")
    before = counts(engine)
    again = deliver(engine, payload, key="b")
    assert again.duplicate and again.delivery_id == first.delivery_id
    assert counts(engine) == before


def test_the_same_event_in_a_newer_body_is_logged_and_changes_nothing_else(
    engine: Engine,
) -> None:
    payload = load_event("message_created_incoming")
    deliver(engine, payload, key="a")
    before = counts(engine)
    newer = copy.deepcopy(payload)
    newer["conversation"]["unread_count"] = 2
    assert not deliver(engine, newer, key="b").duplicate
    assert counts(engine) == {**before, "Delivery": 2}


def test_message_rows_record_who_sent_them(engine: Engine) -> None:
    for index, name in enumerate(
        [
            "message_created_incoming",
            "message_created_outgoing_bot",
            "message_created_private_note_by_agent",
        ]
    ):
        deliver(engine, load_event(name), key=str(index))
    kinds = {m: message(engine, m).sender_kind for m in (918273, 918281, 918279)}
    assert kinds == {918273: "customer", 918281: "bot", 918279: "human"}
    incoming = message(engine, 918273)
    assert incoming.created_at == datetime(2026, 6, 18, 9, 13, 58, 402000, tzinfo=UTC)
    assert incoming.origin == "webhook"
    row = conversation(engine)
    assert (row.account_id, row.display_id, row.channel) == (3, 1423, "Channel::WebWidget")
    assert row.contact_id == 4817 and row.inbox_id == 12


def test_conversation_events_apply_in_updated_at_order(engine: Engine) -> None:
    resolved = load_event("conversation_status_changed")  # updated_at 1781776964
    opened = load_event("conversation_opened")  # updated_at 1781774239, older
    deliver(engine, resolved, key="new")
    deliver(engine, opened, key="stale")
    row = conversation(engine)
    assert row.status == "resolved"
    assert row.labels == ["damaged-item", "replacement-sent"]
    assert row.assignee_name == "Daniel Ortiz"
    assert row.chatwoot_updated_at == resolved["updated_at"]


def test_a_newer_conversation_event_wins(engine: Engine) -> None:
    deliver(engine, load_event("conversation_opened"), key="old")
    newer = load_event("conversation_status_changed")
    deliver(engine, newer, key="new")
    row = conversation(engine)
    assert row.status == "resolved" and row.team_id == 2


def test_message_events_carry_conversation_state_by_the_same_rule(engine: Engine) -> None:
    deliver(engine, load_event("conversation_status_changed"), key="resolved")
    deliver(engine, load_event("message_created_incoming"), key="older-message")
    assert conversation(engine).status == "resolved"


def updated(payload: dict[str, Any], **changes: Any) -> dict[str, Any]:
    payload = copy.deepcopy(payload)
    payload["event"] = "message_updated"
    payload.update(changes)
    return payload


def test_message_updated_fills_in_and_never_nulls(engine: Engine) -> None:
    created = load_event("message_created_outgoing_bot")
    deliver(engine, created, key="created")
    with_source = updated(created, source_id="wamid.HBgL", content=None, sender=None)
    deliver(engine, with_source, key="source")
    row = message(engine, 918281)
    assert row.source_id == "wamid.HBgL"
    assert row.content == created["content"]
    assert row.sender_kind == "bot" and row.sender_id == 7
    # A stale replay without source_id doesn't erase it.
    deliver(engine, updated(created), key="replay")
    assert message(engine, 918281).source_id == "wamid.HBgL"


def with_status(payload: dict[str, Any], status: str) -> dict[str, Any]:
    payload = updated(payload)
    payload["conversation"]["messages"][0]["status"] = status
    return payload


def test_status_only_advances(engine: Engine) -> None:
    created = load_event("message_created_outgoing_bot")
    deliver(engine, created, key="created")
    assert message(engine, 918281).status == "sent"
    deliver(engine, with_status(created, "read"), key="read")
    deliver(engine, with_status(created, "delivered"), key="late-delivered")
    assert message(engine, 918281).status == "read"


def test_deleted_stays_set(engine: Engine) -> None:
    created = load_event("message_created_incoming")
    deliver(engine, created, key="created")
    deleted = updated(
        created, content="This message was deleted", content_attributes={"deleted": True}
    )
    deliver(engine, deleted, key="deleted")
    deliver(engine, updated(created), key="stale-replay")
    row = message(engine, 918273)
    assert row.deleted and row.content_attributes["deleted"] is True
    assert row.content == "This message was deleted"


def voice_note(transcript: str) -> dict[str, Any]:
    payload = load_event("message_created_attachment_only")
    payload["attachments"] = [
        {
            "id": 55400,
            "message_id": 918290,
            "file_type": "audio",
            "data_url": "https://support.example/voice.ogg?disposition=inline",
            "transcribed_text": transcript,
        }
    ]
    return payload


def test_a_later_transcription_fills_in(engine: Engine) -> None:
    deliver(engine, voice_note(""), key="created")
    deliver(engine, updated(voice_note("Do you ship to Canada?")), key="transcribed")
    deliver(engine, updated(voice_note("")), key="stale")
    attachments = message(engine, 918290).attachments
    assert [a["transcribed_text"] for a in attachments] == ["Do you ship to Canada?"]


def test_contact_is_upserted_from_the_sender(engine: Engine) -> None:
    deliver(engine, load_event("message_created_incoming"), key="m")
    renamed = load_event("message_created_incoming")
    renamed["id"] = 918300
    renamed["sender"]["name"] = "Maya C."
    renamed["sender"]["phone_number"] = None
    deliver(engine, renamed, key="m2")
    with Session(engine) as session:
        contact = session.get(Contact, 4817)
        assert contact is not None
        assert contact.name == "Maya C."
        assert contact.email == "maya.chen@example.com"


def test_merge_attachments_keeps_order_and_adds_new() -> None:
    old = [{"id": 1, "transcribed_text": ""}, {"id": 2, "file_type": "image"}]
    new = [{"id": 1, "transcribed_text": "hi"}, {"id": 3, "file_type": "audio"}]
    assert merge_attachments(old, new) == [
        {"id": 1, "transcribed_text": "hi"},
        {"id": 2, "file_type": "image"},
        {"id": 3, "file_type": "audio"},
    ]


def test_concurrent_deliveries_into_one_new_conversation(engine: Engine) -> None:
    """Eight webhook requests at once for a conversation nobody has seen: no unique-key
    race, no deadlock, every message stored under one conversation row."""
    from concurrent.futures import ThreadPoolExecutor

    def one(index: int) -> bool:
        payload = load_event("message_created_incoming")
        payload["id"] = 920_000 + index
        return bool(deliver(engine, payload, key=f"concurrent-{index}").delivery_id)

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(one, range(8)))
    assert results == [True] * 8
    totals = counts(engine)
    assert (totals["Conversation"], totals["Message"], totals["Contact"]) == (1, 8, 1)


def test_a_resolved_conversation_reopened_by_the_customer_unmutes_the_bot(engine: Engine) -> None:
    deliver(engine, load_event("conversation_status_changed"), key="resolved")
    with session_scope(engine) as session:
        row = session.exec(select(Conversation)).one()
        row.bot_muted, row.bot_muted_reason = True, "human_reply"
    reopened = load_event("message_created_incoming")
    reopened["id"] = 919000
    reopened["conversation"]["updated_at"] = 1781779999.0  # newer than the resolution
    deliver(engine, reopened, key="reopened")
    row = conversation(engine)
    assert row.status == "pending" and not row.bot_muted and row.bot_muted_reason is None


def test_a_stale_event_does_not_unmute(engine: Engine) -> None:
    deliver(engine, load_event("conversation_status_changed"), key="resolved")
    with session_scope(engine) as session:
        session.exec(select(Conversation)).one().bot_muted = True
    deliver(engine, load_event("message_created_incoming"), key="older")  # older updated_at
    assert conversation(engine).bot_muted


def test_the_contact_source_id_is_filled_in_once_like_other_facts(engine: Engine) -> None:
    opened = load_event("conversation_opened")
    opened.pop("contact_inbox", None)
    opened["messages"] = []
    deliver(engine, opened, key="opened")
    assert conversation(engine).contact_source_id is None
    payload = load_event("message_created_incoming")
    deliver(engine, payload, key="message")
    assert conversation(engine).contact_source_id == "b7e2c1d4-3f5a-4e8b-9c21-6d0f7a8e9b13"
    later = copy.deepcopy(payload)
    later["id"] += 1
    later["conversation"]["updated_at"] += 60
    later["conversation"]["contact_inbox"]["source_id"] = "something-else"
    deliver(engine, later, key="later")
    assert conversation(engine).contact_source_id == "b7e2c1d4-3f5a-4e8b-9c21-6d0f7a8e9b13"


def test_each_label_keeps_its_first_sighting_whatever_order_events_come_in(
    engine: Engine,
) -> None:
    """When a conversation was labelled sold is the re-activation report's conversion time;
    a stale event that carried the label earlier moves it back, never forward."""
    resolved = load_event("conversation_status_changed")  # updated_at 1781776964
    opened = copy.deepcopy(load_event("conversation_opened"))  # updated_at 1781774239
    opened["labels"] = ["damaged-item"]
    deliver(engine, resolved, key="new")
    assert conversation(engine).label_times == {
        "damaged-item": resolved["updated_at"],
        "replacement-sent": resolved["updated_at"],
    }
    deliver(engine, opened, key="stale")
    row = conversation(engine)
    assert row.labels == ["damaged-item", "replacement-sent"]  # state stays the newest
    assert row.label_times == {
        "damaged-item": opened["updated_at"],
        "replacement-sent": resolved["updated_at"],
    }
    newest = copy.deepcopy(resolved)
    newest["updated_at"] += 60
    newest["labels"] = ["damaged-item", "replacement-sent", "sold"]
    deliver(engine, newest, key="newest")
    assert conversation(engine).label_times["sold"] == newest["updated_at"]
