"""The world harness itself: a customer, a draft note and /send, all over real HTTP."""

from __future__ import annotations

from tests.world import DEBOUNCE, World
from workers.llm import Reply


def test_a_customer_gets_a_draft_note_and_send_posts_it(world: World) -> None:
    world.composer.add(Reply(bubbles=["Yes, two standard pads fit.", "Where are you headed?"]))
    conversation, _ = world.customer_says("Does the Trail Tent 2P fit two?")
    world.deliver()
    world.run()
    assert world.notes(conversation) == []  # still within the quiet period
    world.advance(DEBOUNCE + 1)
    world.run()
    [note] = world.notes(conversation)
    assert "Draft D" in note and "Yes, two standard pads fit." in note
    world.settle()  # the note's echo comes back and changes nothing
    world.rep_note(conversation, "/send")
    world.settle()
    assert world.public(conversation) == ["Yes, two standard pads fit.", "Where are you headed?"]
    [draft] = world.drafts()
    assert draft.state == "sent" and draft.sent_at is not None
    assert all(answer[1] == 200 for answer in world.answers)
