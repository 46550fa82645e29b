from dataclasses import dataclass, field
from typing import Any

import pytest

from workers.history import describe_attachments, message_text, turns
from workers.llm import Turn


@dataclass
class Msg:
    content: str | None
    sender_kind: str = "customer"
    message_type: str = "incoming"
    private: bool = False
    deleted: bool = False
    attachments: list[dict[str, Any]] = field(default_factory=list)


def photo() -> dict[str, Any]:
    return {"id": 1, "file_type": "image"}


def voice(transcript: str = "") -> dict[str, Any]:
    return {"id": 2, "file_type": "audio", "transcribed_text": transcript}


def test_public_conversation_becomes_turns() -> None:
    messages = [
        Msg("Hi, is the tent freestanding?"),
        Msg("And does it fit two?"),
        Msg("/send", sender_kind="human", message_type="outgoing", private=True),
        Msg("Draft D4: ...", sender_kind="bot", message_type="outgoing", private=True),
        Msg("Yes! It is.", sender_kind="bot", message_type="outgoing"),
        Msg("Conversation was reopened", sender_kind="system", message_type="activity"),
        Msg("Great, thanks", sender_kind="human", message_type="outgoing"),
    ]
    assert turns(messages) == [
        Turn("user", "Hi, is the tent freestanding?"),
        Turn("user", "And does it fit two?"),
        Turn("assistant", "Yes! It is."),
        Turn("assistant", "Great, thanks"),
    ]


def test_an_opening_greeting_becomes_context_so_a_user_turn_comes_first() -> None:
    greeting = Msg("Welcome to Acme!", sender_kind="system", message_type="template")
    result = turns([greeting, Msg("Hi")])
    assert result[0] == Turn("user", "[Before the customer wrote, we had said: Welcome to Acme!]")
    assert result[1] == Turn("user", "Hi")


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        (Msg(None, attachments=[photo(), photo()]), "[The customer sent 2 photos]"),
        (
            Msg(None, attachments=[voice()]),
            "[The customer sent a voice note (no transcript yet)]",
        ),
        (
            Msg(None, attachments=[voice("Do you ship to Canada?")]),
            '[The customer sent a voice note. Transcript: "Do you ship to Canada?"]',
        ),
        (
            Msg("Is this damage covered?", attachments=[photo()]),
            "[The customer sent a photo]\nIs this damage covered?",
        ),
        (
            Msg(None, attachments=[photo(), voice(), {"id": 3, "file_type": "location"}]),
            "[The customer sent a photo, a voice note and a location (no transcript yet)]",
        ),
        (Msg(None), "[The customer sent a message with no text]"),
        (Msg("  "), "[The customer sent a message with no text]"),
        (Msg("old text", deleted=True), "[The customer deleted this message]"),
    ],
)
def test_the_model_is_always_told_what_arrived(message: Msg, expected: str) -> None:
    assert message_text(message) == expected


def test_attachment_only_bot_message_is_described_from_our_side() -> None:
    assert describe_attachments([photo()], customer=False) == "[We sent a photo]"


def test_history_is_capped_to_the_newest_messages() -> None:
    messages = [Msg(f"message {i}") for i in range(100)]
    result = turns(messages, limit=10)
    assert [t.text for t in result] == [f"message {i}" for i in range(90, 100)]
