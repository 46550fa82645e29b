"""Pure pieces of the approval flow: commands, edit distance, bubbles, notes."""

import pytest

from workers.commands import Command, parse
from workers.notes import draft_note, mention, refusal, unknown_command
from workers.text import edit_distance, normalised_distance, split_bubbles


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("/send", Command("send")),
        ("  /send  ", Command("send")),
        ("/SEND", Command("send")),
        ("/send D41", Command("send", 41, draft_ref="D41")),
        ("/send d41", Command("send", 41, draft_ref="D41")),
        (
            "/send D41 Hi Maya!\n\nYes it fits.",
            Command("send", 41, "Hi Maya!\n\nYes it fits.", draft_ref="D41"),
        ),
        ("/send Hi Maya!", Command("send", None, "Hi Maya!")),
        ("/send\nHi Maya!", Command("send", None, "Hi Maya!")),
        ("/send Dan will call you", Command("send", None, "Dan will call you")),
        ("/skip D7", Command("skip", 7, draft_ref="D7")),
        ("/skip D007", Command("skip", 7, draft_ref="D7")),
        ("/skip D0", Command("skip", None, draft_ref="D0")),
        ("/redo make it shorter", Command("redo", None, "make it shorter")),
        ("/redo D9 mention the warranty", Command("redo", 9, "mention the warranty", "D9")),
        ("/frobnicate", Command("frobnicate")),
        ("please /send this", None),
        ("an ordinary note", None),
        ("", None),
        (None, None),
        ("/ send", None),
    ],
)
def test_parse(content: str | None, expected: Command | None) -> None:
    assert parse(content) == expected


def test_known_commands() -> None:
    assert parse("/send") and parse("/send").known  # type: ignore[union-attr]
    assert not Command("frobnicate").known


@pytest.mark.parametrize(
    ("a", "b", "distance"),
    [("", "", 0), ("abc", "abc", 0), ("kitten", "sitting", 3), ("", "abc", 3), ("ab", "ba", 2)],
)
def test_edit_distance(a: str, b: str, distance: int) -> None:
    assert edit_distance(a, b) == distance == edit_distance(b, a)


@pytest.mark.parametrize(
    ("draft", "sent", "expected"),
    [
        ("Hi Maya!", "Hi Maya!", 0.0),
        ("Hi Maya!", "hi   maya!\n", 0.0),
        ("abcd", "abcx", 0.25),
        ("abc", "xyz", 1.0),
        ("", "", 0.0),
    ],
)
def test_normalised_distance(draft: str, sent: str, expected: float) -> None:
    assert normalised_distance(draft, sent) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("text", "bubbles"),
    [
        ("Hi!\n\nYes it fits.\n \nAnything else?", ["Hi!", "Yes it fits.", "Anything else?"]),
        ("One line\nsame bubble", ["One line\nsame bubble"]),
        ("  \n\n ", []),
    ],
)
def test_split_bubbles(text: str, bubbles: list[str]) -> None:
    assert split_bubbles(text) == bubbles


def test_mention_uses_chatwoots_syntax() -> None:
    assert mention(21, "Daniel Ortiz") == "[@Daniel Ortiz](mention://user/21/Daniel%20Ortiz)"
    assert mention(5, "Zoë/Ann") == "[@Zoë/Ann](mention://user/5/Zo%C3%AB%2FAnn)"


def test_draft_note_has_tag_bubbles_mention_handoff_and_how_to_approve() -> None:
    note = draft_note(
        42,
        ["Hi Maya!", "Yes, two pads fit."],
        mention_of=mention(21, "Daniel Ortiz"),
        handoff_reason="ready_to_pay",
        handoff_note="wants two tents",
    )
    assert note.startswith("💬 Draft D42 for [@Daniel Ortiz](mention://user/21/Daniel%20Ortiz)")
    assert "Hi Maya!\n\nYes, two pads fit." in note
    assert "⚠️ Suggests a handoff: the customer looks ready to buy: wants two tents" in note
    assert "Approve: /send" in note and "/send D42" in note


def test_refusals_name_the_current_draft() -> None:
    assert "D42" in refusal("D41 was replaced.", current=42)
    assert "no pending draft" in refusal("D41 was skipped.", current=None)
    note = unknown_command("frobnicate")
    assert "/frobnicate" in note and "/send" in note and "/skip" in note and "/redo" in note
