"""A message Chatwoot accepted can still fail at the channel (issue 10, #15).

WhatsApp refuses a free-form message outside its window, Meta or Twilio fail one later:
Chatwoot then sends ``message_updated`` with ``content_attributes.external_error``
(CONTRACT-NEXT §2.4-2.5). Such a post is not an answer: the draft is marked undelivered,
and the conversation goes to a human with a note saying what the channel said.
"""

from __future__ import annotations

from tests.test_mentions import ON_DUTY
from tests.world import DEBOUNCE, World
from workers.llm import Reply

META_ERROR = "131047: Re-engagement message"


def sent_bubble(world: World) -> tuple[int, int]:
    """A draft approved and posted, its echo delivered: (conversation, bubble message id)."""
    world.configure(ON_DUTY)
    world.composer.add(Reply(bubbles=["Yes, it fits two."]))
    conversation, _ = world.customer_says("Does the Trail Tent 2P fit two?")
    world.deliver()
    world.advance(DEBOUNCE + 1)
    world.run()
    world.settle()
    world.rep_note(conversation, "/send")
    world.settle()
    [bubble] = [
        m["id"]
        for m in world.chatwoot(conversation)["messages"]
        if m["content"] == "Yes, it fits two." and not m["private"]
    ]
    return conversation, bubble


def test_a_bubble_the_channel_refused_is_undelivered_and_handed_to_a_human(world: World) -> None:
    conversation, bubble = sent_bubble(world)
    world.control(
        "channel_failed", conversation_id=conversation, message_id=bubble, error=META_ERROR
    )
    world.settle()
    [draft] = world.drafts()
    assert draft.state == "undelivered"
    [item] = [i for i in world.outbox() if ":bubble:" in i.key]
    assert item.state == "undelivered" and META_ERROR in (item.last_error or "")
    assert world.chatwoot(conversation)["status"] == "open"
    note = world.notes(conversation)[-1]
    assert META_ERROR in note and "mention://user/21/" in note
    world.control(
        "channel_failed", conversation_id=conversation, message_id=bubble, error=META_ERROR
    )
    world.settle()  # a repeated update changes nothing more
    assert len([n for n in world.notes(conversation) if META_ERROR in n]) == 1


def test_a_bubble_chatwoot_refused_for_good_is_handed_to_a_human(world: World) -> None:
    world.configure(ON_DUTY)
    world.composer.add(Reply(bubbles=["Yes, it fits two."]))
    conversation, _ = world.customer_says("Does the Trail Tent 2P fit two?")
    world.deliver()
    world.advance(DEBOUNCE + 1)
    world.run()
    world.settle()
    world.fail("/messages", method="POST", status=422)
    world.rep_note(conversation, "/send")
    world.settle()
    [draft] = world.drafts()
    assert draft.state == "undelivered"
    assert world.chatwoot(conversation)["status"] == "open"
    assert "422" in world.notes(conversation)[-1]


def test_a_draft_note_chatwoot_refused_hands_the_customer_to_a_human(world: World) -> None:
    """Found by the simulation: no rep ever saw the draft, so nobody would answer."""
    world.configure(ON_DUTY)
    world.composer.add(Reply(bubbles=["Yes, it fits two."]))
    conversation, _ = world.customer_says("Does the Trail Tent 2P fit two?")
    world.deliver()
    world.fail("/messages", method="POST", status=422)  # the draft note
    world.advance(DEBOUNCE + 1)
    world.run()
    world.settle()
    [draft] = world.drafts()
    assert draft.state == "failed" and "422" in (draft.failure or "")
    assert world.chatwoot(conversation)["status"] == "open"
    assert "Chatwoot refused to show it" in world.notes(conversation)[-1]


def test_after_handing_off_the_bot_stays_silent_before_chatwoots_status_echo(
    world: World,
) -> None:
    """Found by the simulation: until Chatwoot's status webhook arrived, the conversation
    still looked pending, and the sweeper had the bot answer again after its own handoff."""
    world.configure(ON_DUTY + 'autonomy = "autopilot"\n')
    world.composer.add(Reply(bubbles=["Yes, it fits two."]))
    conversation, _ = world.customer_says("Does the Trail Tent 2P fit two?")
    world.deliver()
    world.fail("/messages", method="POST", status=422)  # the bubble: handed to a human
    world.advance(DEBOUNCE + 1)
    world.run()
    assert world.chatwoot(conversation)["status"] == "open"
    world.held()  # Chatwoot's status webhooks never arrive
    world.advance(300)  # the sweeper finds the customer's question unanswered
    world.run()
    world.periodic()
    world.run()
    assert len(world.composer.prompts) == 1
    assert world.public(conversation) == []
