import copy
from datetime import UTC, datetime
from typing import Any

import pytest

from chatwoot.events import KNOWN_EVENTS, parse_event, parse_timestamp
from chatwoot.senders import SenderKind, sender_kind
from chatwoot.values import PayloadError
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
        # An automation rule's "send message" (CONTRACT-NEXT §6.3), whoever it names.
        ("outgoing", None, {"automation_rule_id": 9}, SenderKind.SYSTEM),
        ("outgoing", {"id": 21, "type": "user"}, {"automation_rule_id": 9}, SenderKind.SYSTEM),
    ],
)
def test_sender_kind(
    message_type: str, sender: dict[str, Any] | None, attributes: dict[str, Any], kind: SenderKind
) -> None:
    assert sender_kind(message_type, sender, attributes) is kind


@pytest.mark.parametrize(
    ("message_type", "sender"),
    [
        ("outgoing", {"id": 21, "name": "Daniel Ortiz", "type": "user"}),
        ("outgoing", None),
        ("incoming", {"id": 4817, "name": "Maya Chen"}),  # an API client's own campaign_id
    ],
)
def test_a_campaign_message_is_never_a_human_or_the_customer(
    message_type: str, sender: dict[str, Any] | None
) -> None:
    """Website campaigns send as their configured user; only campaign_id marks them
    (CONTRACT-NEXT §6.1)."""
    kind = sender_kind(message_type, sender, {}, {"campaign_id": 4})
    assert kind is SenderKind.SYSTEM


def test_a_campaign_webhook_parses_as_a_system_message() -> None:
    payload = load_event("message_created_private_note_by_agent")
    payload.update(private=False, additional_attributes={"campaign_id": 4})
    message = parse_event(payload).message
    assert message is not None
    assert message.sender_kind is SenderKind.SYSTEM
    assert message.sender_type == "user" and message.sender_id == 21  # still recorded
    assert message.additional_attributes == {"campaign_id": 4}


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


# --- the validation layer: legal shapes pass, unusable values are named --------------------


def _with(name: str, path: str, value: Any) -> dict[str, Any]:
    payload = load_event(name)
    *parents, leaf = path.split(".")
    target: Any = payload
    for part in parents:
        target = target[int(part)] if isinstance(target, list) else target[part]
    if isinstance(target, list):
        target[int(leaf)] = value
    else:
        target[leaf] = value
    return payload


@pytest.mark.parametrize(
    ("fixture", "path", "value"),
    [
        ("message_created_incoming", "content", None),
        ("message_created_incoming", "content", ""),
        ("message_created_incoming", "sender", None),
        ("message_created_incoming", "inbox", None),
        ("message_created_incoming", "attachments", None),
        ("message_created_incoming", "content_attributes", None),
        ("message_created_incoming", "source_id", None),
        ("message_created_incoming", "created_at", None),
        ("message_created_incoming", "id", "918273"),  # digits in a string
        ("message_created_incoming", "conversation.meta", None),
        ("message_created_incoming", "conversation.meta.assignee", None),
        ("message_created_incoming", "conversation.contact_inbox", None),
        ("message_created_incoming", "conversation.messages", []),
        ("message_created_incoming", "conversation.labels", None),
        ("message_created_incoming", "conversation.waiting_since", 0),
        ("message_created_incoming", "conversation.can_reply", None),
        ("message_created_outgoing_bot", "message_type", 1),  # REST's integer
        ("conversation_opened", "meta.team", None),
        ("webwidget_triggered", "current_conversation", None),
        ("webwidget_triggered", "contact", None),
    ],
)
def test_legal_chatwoot_shapes_are_accepted(fixture: str, path: str, value: Any) -> None:
    event = parse_event(_with(fixture, path, value))
    assert event.account.id == 3


@pytest.mark.parametrize(
    "case",
    [
        ("message_created_incoming", "id", "²", "must be a whole number"),
        ("message_created_incoming", "id", 0, "from 1 to 2^63-1"),
        ("message_created_incoming", "id", -4, "from 1 to 2^63-1"),
        ("message_created_incoming", "id", 2**63, "from 1 to 2^63-1"),
        ("message_created_incoming", "id", 12.0, "must be a whole number"),
        ("message_created_incoming", "id", True, "must be a whole number"),
        ("message_created_incoming", "id", None, "is missing"),
        ("message_created_incoming", "account", None, "is missing"),
        ("message_created_incoming", "account", [3], "must be an object"),
        ("message_created_incoming", "sender", 5, "must be an object"),
        ("message_created_incoming", "sender.id", "x", "must be a whole number"),
        ("message_created_incoming", "inbox.id", -1, "from 1 to 2^63-1"),
        ("message_created_incoming", "message_type", "email", "must be one of"),
        ("message_created_incoming", "message_type", 7, "must be one of"),
        ("message_created_incoming", "private", "yes", "must be true or false"),
        ("message_created_incoming", "content", 5, "must be text"),
        ("message_created_incoming", "content", "\ud800", "not valid Unicode"),
        ("message_created_incoming", "content_type", "x" * 33, "at most 32 characters"),
        ("message_created_incoming", "created_at", "yesterday", "ISO-8601"),
        ("message_created_incoming", "created_at", "1999-12-31T23:59:59Z", "from 2000 to 2100"),
        ("message_created_incoming", "attachments", 5, "must be a list"),
        ("message_created_incoming", "attachments", [{"id": 1}, "x"], "must be an object", 1),
        ("message_created_incoming", "content_attributes", "deleted", "must be an object"),
        ("message_created_incoming", "content_attributes", {"n": float("inf")}, "too large"),
        ("message_created_incoming", "conversation.id", "1423x", "must be a whole number"),
        ("message_created_incoming", "conversation.status", "x" * 17, "at most 16"),
        ("message_created_incoming", "conversation.channel", 12, "must be text"),
        ("message_created_incoming", "conversation.labels", "vip", "must be a list"),
        ("message_created_incoming", "conversation.labels", ["vip", 5], "must be text", 1),
        ("message_created_incoming", "conversation.created_at", 1e20, "from 2000 to 2100"),
        ("message_created_incoming", "conversation.updated_at", float("nan"), "from 2000"),
        ("message_created_incoming", "conversation.updated_at", "soon", "unix time"),
        ("message_created_incoming", "conversation.waiting_since", -5, "from 2000 to 2100"),
        ("message_created_incoming", "conversation.can_reply", "no", "true or false"),
        ("message_created_incoming", "conversation.meta.assignee", "Dan", "must be an object"),
        ("message_created_incoming", "conversation.messages.0.id", 2**64, "from 1 to 2^63-1"),
        ("conversation_opened", "meta.team", {"id": "five"}, "must be a whole number", "id"),
        ("conversation_opened", "custom_attributes", [], "must be an object"),
        ("webwidget_triggered", "inbox.id", None, "is missing"),
        ("webwidget_triggered", "contact.custom_attributes", 3, "must be an object"),
    ],
)
def test_unusable_values_are_named_by_their_path(case: tuple[Any, ...]) -> None:
    """(fixture, path, value, problem[, the part of ``value`` at fault])"""
    fixture, path, value, problem, *inner = case
    field = ".".join([path, *map(str, inner)])
    with pytest.raises(PayloadError) as info:
        parse_event(_with(fixture, path, value))
    assert info.value.field == field
    assert str(info.value).startswith(f"'{field}' ")
    assert problem in str(info.value)


def test_stored_objects_nested_too_deep_are_refused() -> None:
    deep: Any = "bottom"
    for _ in range(40):
        deep = {"x": deep}
    with pytest.raises(PayloadError) as info:
        parse_event(_with("message_created_incoming", "content_attributes", deep))
    assert info.value.field == "content_attributes"
    assert "nested deeper than 32 levels" in str(info.value)


def test_nul_characters_are_stripped_everywhere() -> None:
    payload = load_event("message_created_incoming")
    payload["content"] = "\u0000fits\u0000 two?"
    payload["content_attributes"] = {"a\u0000": ["\u0000b", {"c": "d\u0000"}], "n": 1}
    payload["sender"]["name"] = "Maya\u0000"
    payload["conversation"]["labels"] = ["\u0000vip"]
    payload["conversation"]["meta"]["sender"]["custom_attributes"] = {"k": "v\u0000"}
    event = parse_event(payload)
    message, conversation = event.message, event.conversation
    assert message is not None and conversation is not None
    assert message.content == "fits two?"
    assert message.content_attributes == {"a": ["b", {"c": "d"}], "n": 1}
    assert message.sender_name == "Maya"
    assert conversation.labels == ["vip"]
    assert conversation.contact is not None
    assert conversation.contact.custom_attributes == {"k": "v"}


def test_a_timestamp_outside_2000_to_2100_is_none() -> None:
    assert parse_timestamp(1e20) is None
    assert parse_timestamp(float("nan")) is None
    assert parse_timestamp("9999-01-01T00:00:00Z") is None


def test_the_contact_source_id_comes_from_the_contact_inbox() -> None:
    conversation = parse_event(load_event("message_created_incoming")).conversation
    assert conversation is not None
    assert conversation.contact_source_id == "b7e2c1d4-3f5a-4e8b-9c21-6d0f7a8e9b13"


def test_a_twilio_whatsapp_contact_has_a_whatsapp_source_id() -> None:
    """Twilio WhatsApp and Twilio SMS share Channel::TwilioSms (CONTRACT-NEXT §1.3)."""
    payload = load_event("conversation_opened")
    payload["channel"] = "Channel::TwilioSms"
    payload["contact_inbox"] = {
        "contact_id": 4817,
        "inbox_id": 12,
        "source_id": "whatsapp:+15551234567",
    }
    conversation = parse_event(payload).conversation
    assert conversation is not None
    assert conversation.contact_source_id == "whatsapp:+15551234567"


def test_without_a_contact_inbox_the_source_id_comes_from_the_last_message() -> None:
    """REST conversations (history import) have no contact_inbox; messages[0] has it."""
    payload = load_event("message_created_incoming")
    del payload["conversation"]["contact_inbox"]
    conversation = parse_event(payload).conversation
    assert conversation is not None
    assert conversation.contact_source_id == "b7e2c1d4-3f5a-4e8b-9c21-6d0f7a8e9b13"
    payload["conversation"]["messages"] = []
    conversation = parse_event(payload).conversation
    assert conversation is not None and conversation.contact_source_id is None


def test_a_message_s_additional_attributes_are_parsed() -> None:
    payload = load_event("message_created_outgoing_bot")
    params = {"name": "order_update", "language": "en", "processed_params": {"1": "Maya"}}
    payload["additional_attributes"] = {"template_params": params}
    message = parse_event(payload).message
    assert message is not None
    assert message.additional_attributes == {"template_params": params}
