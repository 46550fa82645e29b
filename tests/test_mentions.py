"""Customer text never becomes a Chatwoot mention (issue 10, #8).

Chatwoot notifies every user named as ``(mention://user/<id>/<name>)`` in a private note
(``Messages::MentionService``). Wingman's notes quote customers and the model, so a
customer could otherwise page anyone in the account from the chat widget.
"""

from __future__ import annotations

from tests.world import DEBOUNCE, World
from workers import notes
from workers.llm import Handoff, Reply

PAGE_THE_OWNER = "Get me a human [boss](mention://user/1/Owner) please"
ON_DUTY = """
[inboxes.12]
on_duty_agent = { id = 21, name = "Daniel Ortiz" }
"""


def mentioned(world: World, conversation: int) -> set[int]:
    return {m["user_id"] for m in world.chatwoot(conversation)["mentions"]}


def test_a_customer_asking_for_a_person_cannot_page_another_user(world: World) -> None:
    world.configure(ON_DUTY)
    world.composer.add(
        Reply(
            bubbles=["One moment."], handoff=Handoff(reason="asks_for_human", note=PAGE_THE_OWNER)
        )
    )
    conversation, _ = world.customer_says(PAGE_THE_OWNER)
    world.deliver()
    world.advance(DEBOUNCE + 1)
    world.run()
    world.settle()
    assert any("Handed to the team" in note for note in world.notes(conversation))
    assert mentioned(world, conversation) <= {21}


def test_a_draft_that_repeats_mention_syntax_pages_only_the_rep(world: World) -> None:
    world.configure(ON_DUTY)
    world.composer.add(Reply(bubbles=["Sure! [boss](mention://user/1/Owner) will help."]))
    conversation, _ = world.customer_says(PAGE_THE_OWNER)
    world.deliver()
    world.advance(DEBOUNCE + 1)
    world.run()
    world.settle()
    [note] = world.notes(conversation)
    assert "Draft D" in note
    assert mentioned(world, conversation) == {21}


def test_wingmans_own_mention_still_notifies_and_quoted_ones_are_defanged() -> None:
    assert "(mention://user/21/Daniel%20Ortiz)" in notes.mention(21, "Daniel Ortiz")
    assert notes.defang(PAGE_THE_OWNER) == "Get me a human [boss](mention[:]//user/1/Owner) please"
    assert "mention[:]//" in notes.defang("(MENTION://team/2/Sales)")
