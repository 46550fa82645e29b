import copy
from datetime import UTC, datetime
from typing import Any

import pytest

from chatwoot.events import (
    KNOWN_EVENTS,
    PayloadError,
    SenderKind,
    parse_event,
    parse_timestamp,
    sender_kind,
)
from tests.conftest import event_names, load_event


@pytest.mark.parametrize("name", event_names())
def test_every_fixture_parses(name: str) -> None:
    payload = load_event(name)
    assert payload["event"] in KNOWN_EVENTS
    event = parse_event(payload)
    assert event.name == payload["event"]
    assert event.account.id == 3


def test_incoming_message() -> None:
    event = parse_event(load_event("message_created_incoming"))
    message, conversation = event.message, event.conversation
    assert message is not None and conversation is not None
    assert message.id == 918273
    assert message.message_type == "incoming"
    assert message.sender_kind is SenderKind.CUSTOMER
    assert message.sender_type == "contact"  # contact senders carry no "type" on the wire
    assert message.created_at == datetime(2026, 6, 18, 9, 13, 58, 402000, tzinfo=UTC)
    assert message.status == "sent"  # only conversation.messages[0] carries it
    assert message.contact is not None and message.contact.email == "maya.chen@example.com"
    assert conversation.display_id == 1423 and conversation.account_id == 3
    assert conversation.channel == "Channel::WebWidget"
    assert conversation.status == "pending"
    assert conversation.updated_at == 1781774038.431207
    assert event.inbox is not None and event.inbox.id == 12
    assert event.inbox.name == "Website Support"


def test_attachment_only_message_has_no_content() -> None:
    message = parse_event(load_event("message_created_attachment_only")).message
    assert message is not None
    assert message.content is None
    assert [a["file_type"] for a in message.attachments] == ["image"]


@pytest.mark.parametrize(
    ("name", "kind", "private"),
    [
        ("message_created_incoming", SenderKind.CUSTOMER, False),
        ("message_created_outgoing_bot", SenderKind.BOT, False),
        ("message_created_private_note_by_agent", SenderKind.HUMAN, True),
    ],
)
def test_who_sent_it(name: str, kind: SenderKind, private: bool) -> None:
    message = parse_event(load_event(name)).message
    assert message is not None
    assert message.sender_kind is kind
    assert message.private is private


@pytest.mark.parametrize(
    ("message_type", "sender", "attributes", "kind"),
    [
        ("incoming", {"id": 1, "name": "Maya"}, {}, SenderKind.CUSTOMER),
        ("incoming", None, {}, SenderKind.CUSTOMER),
        ("outgoing", {"id": 7, "type": "agent_bot"}, {}, SenderKind.BOT),
        ("outgoing", {"id": 9, "type": "captain_assistant"}, {}, SenderKind.BOT),
        ("outgoing", {"id": 21, "type": "user"}, {}, SenderKind.HUMAN),
        ("outgoing", None, {"external_echo": True}, SenderKind.HUMAN),
        ("outgoing", None, {}, SenderKind.SYSTEM),
        ("template", None, {}, SenderKind.SYSTEM),
        ("activity", None, {}, SenderKind.SYSTEM),
    ],
)
def test_sender_kind(
    message_type: str, sender: dict[str, Any] | None, attributes: dict[str, Any], kind: SenderKind
) -> None:
    assert sender_kind(message_type, sender, attributes) is kind


def test_conversation_event_reads_assignee_and_team() -> None:
    conversation = parse_event(load_event("conversation_status_changed")).conversation
    assert conversation is not None
    assert conversation.status == "resolved"
    assert (conversation.assignee_id, conversation.assignee_type) == (21, "User")
    assert conversation.assignee_name == "Daniel Ortiz"
    assert conversation.team_name == "Returns & Warranty"
    assert conversation.labels == ["damaged-item", "replacement-sent"]


def test_widget_event_for_a_new_visitor() -> None:
    event = parse_event(load_event("webwidget_triggered"))
    assert event.conversation is None
    assert event.contact is not None and event.contact.name == "silent-meadow-552"
    assert event.inbox is not None and event.inbox.channel == "Channel::WebWidget"


def test_rest_style_integer_message_type_is_understood() -> None:
    payload = load_event("message_created_outgoing_bot")
    payload["message_type"] = 1
    message = parse_event(payload).message
    assert message is not None and message.message_type == "outgoing"


def _without(payload: dict[str, Any], path: str) -> dict[str, Any]:
    payload = copy.deepcopy(payload)
    *parents, leaf = path.split(".")
    target = payload
    for part in parents:
        target = target[part]
    del target[leaf]
    return payload


@pytest.mark.parametrize(
    ("fixture", "path"),
    [
        ("message_created_incoming", "id"),
        ("message_created_incoming", "conversation"),
        ("message_created_incoming", "conversation.id"),
        ("message_created_incoming", "account"),
        ("message_created_incoming", "account.id"),
        ("conversation_opened", "id"),
        ("conversation_opened", "account"),
        ("webwidget_triggered", "inbox"),
    ],
)
def test_missing_ids_are_named(fixture: str, path: str) -> None:
    with pytest.raises(PayloadError) as info:
        parse_event(_without(load_event(fixture), path))
    assert info.value.field == path


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2026-06-18T09:13:58.402Z", datetime(2026, 6, 18, 9, 13, 58, 402000, tzinfo=UTC)),
        (1781774038, datetime(2026, 6, 18, 9, 13, 58, tzinfo=UTC)),
        (None, None),
        ("not a date", None),
        (True, None),
    ],
)
def test_parse_timestamp(value: Any, expected: datetime | None) -> None:
    assert parse_timestamp(value) == expected
