"""A public bubble reaches the customer at most once, whatever Chatwoot answers (issue 10, #2).

A 502 or 504 from a proxy in front of Chatwoot, or a 500 raised after Rails committed,
says nothing about whether the message was created. Wingman finds out before posting
again: its own key in each message's ``content_attributes`` identifies the echo, the
conversation's last message and, with a user token, the message list.
"""

from __future__ import annotations

import re
import sqlite3
from typing import Any

import requests
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError

from chatwoot.client import ChatwootClient
from tests.world import DEBOUNCE, World
from workers import outbox, posting_claims
from workers.llm import Reply


def approved(world: World, *bubbles: str) -> int:
    """A draft for a customer's question, approved with /send; returns the conversation."""
    world.composer.add(Reply(bubbles=list(bubbles)))
    conversation, _ = world.customer_says("Does the Trail Tent 2P fit two?")
    world.deliver()
    world.advance(DEBOUNCE + 1)
    world.run()
    world.settle()
    world.rep_note(conversation, "/send")
    return conversation


def bubbles_of(world: World, conversation: int) -> list[str]:
    return [text for text in world.public(conversation) if text.startswith("Yes")]


def test_a_504_after_chatwoot_saved_the_bubble_is_not_posted_again(world: World) -> None:
    conversation = approved(world, "Yes, two standard pads fit.")
    world.fail("/messages", method="POST", status=504, apply=True)
    world.deliver()  # the /send note; Wingman posts the bubble and gets a 504
    world.run()
    world.held()  # the bubble's echo never arrives
    world.advance(60)
    world.run()
    assert bubbles_of(world, conversation) == ["Yes, two standard pads fit."]
    [item] = [i for i in world.outbox() if ":bubble:" in i.key]
    assert item.state == "sent" and item.chatwoot_message_id is not None


def test_a_500_after_commit_settles_on_the_late_echo(world: World) -> None:
    conversation = approved(world, "Yes, two standard pads fit.")
    world.fail("/messages", method="POST", status=500, apply=True)
    world.deliver()
    world.run()
    echo = world.held()  # held back: it comes late
    world.customer_says("Great, thanks!", conversation=conversation)  # now not the last message
    world.deliver(echo)
    world.advance(5)
    world.run()
    assert bubbles_of(world, conversation) == ["Yes, two standard pads fit."]
    [item] = [i for i in world.outbox() if ":bubble:" in i.key]
    assert item.state == "sent"


def test_every_post_carries_wingmans_key_for_its_echo(world: World) -> None:
    conversation = approved(world, "Yes, two standard pads fit.")
    world.settle()
    messages = world.chatwoot(conversation)["messages"]
    keys = {
        m["content"]: m["content_attributes"].get(outbox.MARKER)
        for m in messages
        if (m["sender"] or {}).get("type") == "agent_bot"
    }
    assert all(keys.values()), keys
    assert len(set(keys.values())) == len(keys)


def test_with_a_user_token_a_502_that_created_nothing_is_posted_once_after_the_grace(
    world_with_user_token: World,
) -> None:
    world = world_with_user_token
    conversation = approved(world, "Yes, two standard pads fit.")
    world.fail("/messages", method="POST", status=502)  # nothing created
    world.deliver()
    world.run()
    world.customer_says("Hello?", conversation=conversation)  # the last message isn't ours
    world.deliver()
    world.advance(5)
    world.run()
    assert bubbles_of(world, conversation) == []  # within the grace: a proxy may still be on it
    world.advance(posting_claims.SETTLE_GRACE_SECONDS)
    world.run()
    world.settle()
    assert bubbles_of(world, conversation) == ["Yes, two standard pads fit."]


def test_without_a_user_token_an_unknowable_post_goes_to_the_rep_and_never_twice(
    world: World,
) -> None:
    conversation = approved(world, "Yes, two standard pads fit.")
    world.fail("/messages", method="POST", status=502)
    world.deliver()
    world.run()
    world.customer_says("Hello?", conversation=conversation)
    world.settle()
    world.advance(posting_claims.SETTLE_GRACE_SECONDS + 5)
    world.run()
    world.settle()
    assert bubbles_of(world, conversation) == []
    assert any("may not have sent" in note for note in world.notes(conversation))
    [item] = [i for i in world.outbox() if ":bubble:" in i.key]
    assert item.state == "uncertain"


def test_a_late_echo_settles_an_uncertain_post_as_sent(world: World) -> None:
    conversation = approved(world, "Yes, two standard pads fit.")
    world.fail("/messages", method="POST", status=504, apply=True)
    world.deliver()
    world.run()
    echo = world.held()
    world.customer_says("Hello?", conversation=conversation)
    world.settle()
    world.advance(posting_claims.SETTLE_GRACE_SECONDS + 5)
    world.run()
    world.settle()
    [item] = [i for i in world.outbox() if ":bubble:" in i.key]
    assert item.state == "uncertain"
    world.deliver(echo)
    world.run()
    [item] = [i for i in world.outbox() if ":bubble:" in i.key]
    assert item.state == "sent" and item.chatwoot_message_id is not None
    assert bubbles_of(world, conversation) == ["Yes, two standard pads fit."]


def test_a_note_refused_on_its_retry_settles_as_sent_on_the_first_attempts_echo(
    world: World,
) -> None:
    """Found by the simulation: the draft note landed, the line dropped, Chatwoot refused
    the retry with a 422, and the note was recorded as failed though the rep had it."""
    world.composer.add(Reply(bubbles=["Yes, two standard pads fit."]))
    conversation, _ = world.customer_says("Does the Trail Tent 2P fit two?")
    world.deliver()
    world.fail("/messages", method="POST", status=500, apply=True, drop=True)
    world.fail("/messages", method="POST", status=422)
    world.advance(DEBOUNCE + 1)
    world.run()  # the note lands and the line drops; its echo is held back
    echo = world.held()
    world.human_reply(conversation, "On it!", from_phone=True)  # the note isn't last now
    world.advance(5)
    world.run()  # nothing shows the note; it is posted again, and refused for good
    [note] = [i for i in world.outbox() if re.fullmatch(r"draft:\d+:note", i.key)]
    assert note.state == "failed"
    world.deliver(echo)  # the first attempt's echo, late
    world.run()
    [note] = [i for i in world.outbox() if i.key == note.key]
    assert note.state == "sent" and note.chatwoot_message_id is not None


def can_write(engine: Engine) -> bool:
    """Whether another connection could write now: no transaction of the worker holds
    SQLite's write lock, or a row lock on the outbox in PostgreSQL."""
    if engine.dialect.name == "sqlite":
        probe = sqlite3.connect(str(engine.url.database), timeout=0.05)
        try:
            probe.execute("BEGIN IMMEDIATE")
            probe.rollback()
            return True
        except sqlite3.OperationalError:
            return False
        finally:
            probe.close()
    with engine.connect() as connection:
        try:
            connection.execute(text("SELECT id FROM outbox FOR UPDATE NOWAIT")).all()
            return True
        except OperationalError:
            return False
        finally:
            connection.rollback()


def test_no_database_lock_is_held_while_chatwoot_is_called(world: World) -> None:
    """On SQLite a held write lock would keep webhooks waiting, and Chatwoot gives them 5 s."""
    probes: list[bool] = []

    class Probing(requests.Session):
        def request(self, method: Any, url: Any, *args: Any, **kwargs: Any) -> Any:
            probes.append(can_write(world.engine))
            return super().request(method, url, *args, **kwargs)

    settings = world.services.settings
    assert settings.chatwoot_url is not None
    world.deps.chatwoot = ChatwootClient(
        settings.chatwoot_url, None, settings.chatwoot_bot_token, session=Probing()
    )
    conversation = approved(world, "Yes, two standard pads fit.")
    world.fail("/messages", method="POST", status=504, apply=True)
    world.deliver()  # posts the bubble: 504, fate unknown
    world.run()
    world.held()
    world.advance(5)
    world.run()  # asks Chatwoot (show-conversation), which shows it
    assert bubbles_of(world, conversation) == ["Yes, two standard pads fit."]
    assert len(probes) >= 3 and all(probes), probes
