"""The Composer interface's plain parts: parse_reply, the schema and FakeComposer."""

from __future__ import annotations

import json
from dataclasses import asdict

import pytest
from anthropic.lib._parse._transform import transform_schema

from tests.composer import FakeComposer
from workers.llm import (
    HANDOFF_REASONS,
    REPLY_SCHEMA,
    ComposerError,
    Handoff,
    Prompt,
    Reply,
    Turn,
    Usage,
    parse_reply,
)

USAGE = Usage(input_tokens=10, output_tokens=5, model="m", latency_ms=7, request_id="req_1")


def structured(**overrides: object) -> str:
    data: dict[str, object] = {
        "bubbles": ["Hi!", "It costs 10 EUR."],
        "handoff": None,
        "answered_questions": ["How much is it?"],
        "do_not_contact": False,
        **overrides,
    }
    return json.dumps(data)


@pytest.mark.parametrize(
    ("text", "bubbles", "is_structured"),
    [
        pytest.param(structured(), ["Hi!", "It costs 10 EUR."], True, id="valid-json"),
        pytest.param(
            "Here you go:\n```json\n" + structured() + "\n```\nHope that helps.",
            ["Hi!", "It costs 10 EUR."],
            True,
            id="json-with-extra-text",
        ),
        pytest.param(
            structured(bubbles=["  Hi!  ", "", "Sure."]), ["Hi!", "Sure."], True, id="blank-bubble"
        ),
        pytest.param(
            structured(bubbles=["1", "2", "3", "4", "5", "6"]),
            ["1", "2", "3", "4\n\n5\n\n6"],
            True,
            id="json-over-four-bubbles",
        ),
        pytest.param(
            "Hello there!\n\nIt costs 10 EUR.\nShipping is free.",
            ["Hello there!", "It costs 10 EUR.\nShipping is free."],
            False,
            id="plain-text",
        ),
        pytest.param(
            "one\n\ntwo\n \nthree\n\n\n\nfour\n\nfive\n\nsix",
            ["one", "two", "three", "four\n\nfive\n\nsix"],
            False,
            id="more-than-four-paragraphs",
        ),
        pytest.param(
            structured(handoff={"reason": "bored", "note": "x"}),
            [structured(handoff={"reason": "bored", "note": "x"})],
            False,
            id="json-off-schema-kept-as-text",
        ),
        pytest.param('{"bubbles": ["cut sh', ['{"bubbles": ["cut sh'], False, id="broken-json"),
    ],
)
def test_parse_reply(text: str, bubbles: list[str], is_structured: bool) -> None:
    reply = parse_reply(text, USAGE)

    assert reply.bubbles == bubbles
    assert reply.structured is is_structured
    assert reply.usage == USAGE


def test_parse_reply_reads_every_field() -> None:
    text = structured(
        handoff={"reason": "ready_to_pay", "note": "Wants an invoice."},
        answered_questions=["Can I pay by card?"],
        do_not_contact=True,
    )

    reply = parse_reply(text, USAGE)

    assert reply.handoff == Handoff("ready_to_pay", "Wants an invoice.")
    assert reply.answered_questions == ["Can I pay by card?"]
    assert reply.do_not_contact is True


@pytest.mark.parametrize("text", ["", "   \n\n  \n"])
def test_an_empty_reply_is_a_permanent_error(text: str) -> None:
    # Decided: a Reply always has a bubble to post; nothing to say goes to a person instead.
    with pytest.raises(ComposerError) as caught:
        parse_reply(text, USAGE)

    assert caught.value.transient is False


def test_reply_and_usage_are_json_friendly() -> None:
    reply = Reply(["Hi"], Handoff("upset", "Angry about delays"), ["Where is it?"], usage=USAGE)

    assert json.loads(json.dumps(asdict(reply))) == {
        "bubbles": ["Hi"],
        "handoff": {"reason": "upset", "note": "Angry about delays"},
        "answered_questions": ["Where is it?"],
        "do_not_contact": False,
        "structured": True,
        "usage": {
            "input_tokens": 10,
            "output_tokens": 5,
            "thinking_tokens": 0,
            "cache_read_input_tokens": 0,
            "cache_write_5m_tokens": 0,
            "cache_write_1h_tokens": 0,
            "model": "m",
            "latency_ms": 7,
            "request_id": "req_1",
        },
    }


def test_schema_uses_only_what_structured_outputs_accept() -> None:
    # The SDK's transform_schema rewrites what the API would reject; nothing to rewrite here.
    assert transform_schema(REPLY_SCHEMA) == REPLY_SCHEMA
    assert REPLY_SCHEMA["required"] == list(REPLY_SCHEMA["properties"])
    handoff = REPLY_SCHEMA["properties"]["handoff"]["anyOf"][0]
    assert handoff["properties"]["reason"]["enum"] == list(HANDOFF_REASONS)


def prompt(text: str) -> Prompt:
    return Prompt("playbook", "knowledge", "v1", (Turn("user", text),))


def test_fake_composer_replays_its_script_and_records_prompts() -> None:
    canned = Reply(["Canned"])
    fake = FakeComposer(canned, ComposerError("overloaded", transient=True), "Plain\n\ntext")

    assert fake.compose(prompt("one")) is canned
    with pytest.raises(ComposerError, match="overloaded"):
        fake.compose(prompt("two"))
    third = fake.compose(prompt("three"))

    assert third.bubbles == ["Plain", "text"]
    assert third.structured is False
    assert [p.history[-1].text for p in fake.prompts] == ["one", "two", "three"]
    assert fake.remaining == 0


def test_fake_composer_fails_loudly_when_the_script_runs_out() -> None:
    fake = FakeComposer()
    fake.add(structured())

    assert fake.compose(prompt("one")).structured is True
    with pytest.raises(AssertionError, match="no scripted outcome for call 2"):
        fake.compose(prompt("two"))
