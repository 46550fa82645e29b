"""The outbox posts each item exactly once, on both databases, against Chatwoot's real shapes."""

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
import responses
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from chatwoot.client import ChatwootClient
from core.db import session_scope
from core.models import Conversation, OutboxItem
from tests.chatwoot_fakes import ACCOUNT, BASE, FakeChatwoot
from tests.clock import FakeClock
from tests.conftest import load_event, store_event
from workers import outbox, posting, posting_claims

T0 = datetime(2026, 6, 18, 9, 20, tzinfo=UTC)


class Killed(BaseException):
    """Stands in for SIGKILL: nothing after it runs, not even except-Exception handlers."""


@pytest.fixture
def fake() -> Iterator[FakeChatwoot]:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield FakeChatwoot(mock)


@pytest.fixture
def client() -> ChatwootClient:
    return ChatwootClient(BASE, ACCOUNT, "bot-token-abc")


def conversation(engine: Engine) -> int:
    store_event(engine, load_event("message_created_incoming"), key="d", received_at=T0)
    with Session(engine) as session:
        row = session.exec(select(Conversation)).one()
        assert row.id is not None
        return row.id


def queue_items(engine: Engine, conv: int, *texts: str, private: bool = False) -> None:
    with session_scope(engine) as session:
        for position, text in enumerate(texts):
            outbox.add(
                session,
                key=f"draft:1:bubble:{position}",
                conversation_id=conv,
                content=text,
                private=private,
                position=position,
                now=T0,
            )


def items(engine: Engine) -> list[OutboxItem]:
    with Session(engine) as session:
        return list(session.exec(select(OutboxItem).order_by(OutboxItem.id)))  # type: ignore[arg-type]


def test_items_go_out_in_order_once(
    engine: Engine, fake: FakeChatwoot, client: ChatwootClient
) -> None:
    conv = conversation(engine)
    queue_items(engine, conv, "Hi Maya!", "Yes, two pads fit.")
    queue_items(engine, conv, "Hi Maya!", "Yes, two pads fit.")  # same keys: ignored
    assert posting.deliver_pending(engine, conv, client, now=FakeClock(T0.timestamp()).dt) == 2
    assert posting.deliver_pending(engine, conv, client, now=FakeClock(T0.timestamp()).dt) == 0
    assert fake.public() == ["Hi Maya!", "Yes, two pads fit."]
    assert [i.state for i in items(engine)] == ["sent", "sent"]
    assert all(i.chatwoot_message_id for i in items(engine))


def test_a_rate_limited_post_is_retried_and_sends_once(
    engine: Engine, fake: FakeChatwoot, client: ChatwootClient
) -> None:
    """429 comes from Chatwoot's rate limiter before anything is created: post again."""
    conv = conversation(engine)
    queue_items(engine, conv, "Hi Maya!", "Second bubble")
    fake.fail_next = [429]
    with pytest.raises(outbox.RetryLater):
        posting.deliver_pending(engine, conv, client, now=FakeClock(T0.timestamp()).dt)
    assert fake.public() == []  # bubble 2 never overtakes bubble 1
    assert [i.state for i in items(engine)] == ["pending", "pending"]
    assert posting.deliver_pending(engine, conv, client, now=FakeClock(T0.timestamp()).dt) == 2
    assert fake.public() == ["Hi Maya!", "Second bubble"]
    assert items(engine)[0].attempts == 2


def test_a_permanent_failure_is_not_retried(
    engine: Engine, fake: FakeChatwoot, client: ChatwootClient
) -> None:
    conv = conversation(engine)
    queue_items(engine, conv, "Hi")
    fake.fail_next = [422]
    posting.deliver_pending(engine, conv, client, now=FakeClock(T0.timestamp()).dt)
    assert items(engine)[0].state == "failed" and "422" in (items(engine)[0].last_error or "")


def kill_after_post(_item: OutboxItem) -> None:
    raise Killed


def test_killed_after_chatwoots_200_is_not_sent_twice_when_chatwoot_shows_it(
    engine: Engine, fake: FakeChatwoot, client: ChatwootClient
) -> None:
    conv = conversation(engine)
    queue_items(engine, conv, "Hi Maya!")
    clock = FakeClock(T0.timestamp())
    with pytest.raises(Killed):
        posting.deliver_pending(engine, conv, client, now=clock.dt, after_post=kill_after_post)
    assert items(engine)[0].state == "sending"
    # Within the lease another worker may still be on it: leave it alone, retry later.
    with pytest.raises(outbox.RetryLater):
        posting.deliver_pending(engine, conv, client, now=clock.dt)
    clock.advance(posting_claims.LEASE_SECONDS + 1)
    assert posting.deliver_pending(engine, conv, client, now=clock.dt) == 1
    assert fake.public() == ["Hi Maya!"]  # posted once
    assert items(engine)[0].chatwoot_message_id == fake.posted[0]["id"]


def test_killed_after_200_uses_the_stored_echo_first(
    engine: Engine, fake: FakeChatwoot, client: ChatwootClient
) -> None:
    conv = conversation(engine)
    queue_items(engine, conv, "Hi Maya!")
    clock = FakeClock(T0.timestamp())
    with pytest.raises(Killed):
        posting.deliver_pending(engine, conv, client, now=clock.dt, after_post=kill_after_post)
    echo = load_event("message_created_outgoing_bot")
    echo["id"], echo["content"] = 918999, "Hi Maya!"
    echo["content_attributes"] = {outbox.MARKER: outbox.marker(items(engine)[0])}
    echo["created_at"] = (T0 + timedelta(seconds=1)).isoformat()
    store_event(engine, echo, key="echo", received_at=T0)
    fake.last_public = None  # Chatwoot can't be asked: the echo must be enough
    clock.advance(posting_claims.LEASE_SECONDS + 1)
    assert posting.deliver_pending(engine, conv, client, now=clock.dt) == 1
    assert fake.public() == ["Hi Maya!"]
    assert items(engine)[0].chatwoot_message_id == 918999


def test_when_still_uncertain_it_tells_the_rep_instead_of_reposting(
    engine: Engine, fake: FakeChatwoot, client: ChatwootClient
) -> None:
    conv = conversation(engine)
    queue_items(engine, conv, "Hi Maya!")
    clock = FakeClock(T0.timestamp())
    with pytest.raises(Killed):
        posting.deliver_pending(engine, conv, client, now=clock.dt, after_post=kill_after_post)
    fake.last_public = None  # no echo stored, and Chatwoot's last message isn't ours
    clock.advance(posting_claims.LEASE_SECONDS + 1)
    posting.deliver_pending(engine, conv, client, now=clock.dt)
    assert fake.public() == ["Hi Maya!"]  # the original POST only
    [note] = fake.notes()
    assert "may not have sent" in note and "Hi Maya!" in note
    assert [i.state for i in items(engine)] == ["uncertain", "sent"]


def test_a_private_note_of_unknown_fate_is_posted_again(
    engine: Engine, fake: FakeChatwoot, client: ChatwootClient
) -> None:
    conv = conversation(engine)
    queue_items(engine, conv, "Draft D1 …", private=True)
    clock = FakeClock(T0.timestamp())
    with pytest.raises(Killed):
        posting.deliver_pending(engine, conv, client, now=clock.dt, after_post=kill_after_post)
    clock.advance(posting_claims.LEASE_SECONDS + 1)
    assert posting.deliver_pending(engine, conv, client, now=clock.dt) == 1
    assert fake.notes() == ["Draft D1 …", "Draft D1 …"]  # seen by reps only
    assert fake.public() == []


def test_status_items_set_the_status(
    engine: Engine, fake: FakeChatwoot, client: ChatwootClient
) -> None:
    conv = conversation(engine)
    with session_scope(engine) as session:
        outbox.add(
            session, key="handoff:1", conversation_id=conv, content="open", action="status", now=T0
        )
    assert posting.deliver_pending(engine, conv, client, now=FakeClock(T0.timestamp()).dt) == 1
    assert fake.statuses == ["open"]


def test_a_timeout_after_chatwoot_saved_it_settles_at_once_and_the_rest_follow(
    engine: Engine, fake: FakeChatwoot, client: ChatwootClient
) -> None:
    """The POST landed but its answer was lost: no lease to wait out (nothing else is in
    flight), no second post, and the later bubbles are not stuck behind it."""
    conv = conversation(engine)
    queue_items(engine, conv, "One", "Two", "Three")
    fake.lose_answers = 1
    with pytest.raises(outbox.RetryLater):
        posting.deliver_pending(engine, conv, client, now=FakeClock(T0.timestamp()).dt)
    assert items(engine)[0].state == "unknown"
    assert posting.deliver_pending(engine, conv, client, now=FakeClock(T0.timestamp()).dt) == 3
    assert fake.public() == ["One", "Two", "Three"]


def test_busy_asks_for_a_retry_instead_of_going_quiet(
    engine: Engine, fake: FakeChatwoot, client: ChatwootClient
) -> None:
    conv = conversation(engine)
    queue_items(engine, conv, "One", "Two")
    clock = FakeClock(T0.timestamp())
    with pytest.raises(Killed):
        posting.deliver_pending(engine, conv, client, now=clock.dt, after_post=kill_after_post)
    with pytest.raises(outbox.RetryLater):  # still within the lease: come back later
        posting.deliver_pending(engine, conv, client, now=clock.dt)


def test_the_sweep_finds_conversations_with_old_unsent_items(engine: Engine) -> None:
    conv = conversation(engine)
    queue_items(engine, conv, "One")
    with Session(engine) as session:
        assert outbox.stuck_conversations(session, now=T0, older_than=timedelta(seconds=60)) == []
        later = T0 + timedelta(seconds=61)
        assert outbox.stuck_conversations(session, now=later, older_than=timedelta(seconds=60)) == [
            conv
        ]
