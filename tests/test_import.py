"""The history import against the Chatwoot stand-in: paging, resuming, pacing, backing off.

The stand-in serves Chatwoot's real paging (25 conversations a page until an empty one;
messages 100 ``after`` an id) and scripted failures (``/_standin/fail``). Time is fake:
the rate limiter and the backoff sleep on a clock the test owns.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from bot.commands.chatwoot import chatwoot_group
from chatwoot import events
from chatwoot.errors import ChatwootError
from chatwoot.history import Backoff, HistoryClient, HistoryReader, RateLimiter
from core.db import session_scope
from core.models import Conversation, Draft, ImportProgress, Message
from standins import chatwoot_webhook_bodies as webhook_bodies
from standins.chatwoot import ChatwootStandin, serve
from standins.chatwoot_changes import Change
from standins.chatwoot_records import Conversation as StandinConversation
from tests.clock import FakeClock
from tests.conftest import store_event
from tools.history_import import ImportStats, baseline, import_history
from workers import drafts
from workers.history import turns

USER, BOT, ACCOUNT = "import-user-token", "import-bot-token", 3
T0 = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)
SINCE = datetime(2026, 5, 1, tzinfo=UTC)
NOW = datetime(2026, 6, 20, 12, 0, tzinfo=UTC)
REP = ("User", 21)  # a rep the stand-in knows
BOT_SENDER = ("AgentBot", 7)


# --- the stand-in and a reader on fake time ------------------------------------------------


class Recording(requests.Session):
    """Records every request the reader sends: (fake time, path, params)."""

    def __init__(self, time: FakeClock) -> None:
        super().__init__()
        self.time = time
        self.calls: list[tuple[float, str, dict[str, Any]]] = []

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> Any:
        params = dict(kwargs.get("params") or {})
        self.calls.append((self.time.now, urlsplit(str(url)).path, params))
        return super().request(method, url, *args, **kwargs)

    def message_calls(self) -> list[tuple[int, int]]:
        """(conversation display id, after) of every list-messages request, in order."""
        return [
            (int(path.split("/")[-2]), int(params["after"]))
            for _, path, params in self.calls
            if path.endswith("/messages")
        ]

    def pages(self) -> list[int]:
        return [p["page"] for _, path, p in self.calls if path.endswith("/conversations")]


@pytest.fixture
def standin() -> Iterator[ChatwootStandin]:
    server = serve(bot_token=BOT, user_token=USER)
    yield server
    server.stop()


def make_reader(
    server: ChatwootStandin, *, per_minute: int = 2400
) -> tuple[HistoryReader, Recording, FakeClock]:
    time = FakeClock()
    session = Recording(time)
    client = HistoryClient(server.url, ACCOUNT, USER, session=session)
    limiter = RateLimiter(per_minute, clock=time.clock, sleep=time.sleep)
    return HistoryReader(client, limiter=limiter, sleep=time.sleep), session, time


def run(engine: Engine, reader: HistoryReader, **kwargs: Any) -> ImportStats:
    return import_history(engine, reader, since=SINCE, clock=lambda: NOW, **kwargs)


def chat(
    server: ChatwootStandin, conversation: StandinConversation, count: int, start: float
) -> float:
    """``count`` messages: the customer, the bot's reply, now and then a rep's private note
    and a photo. Returns the time of the last one."""
    account, t = server.account, start
    with account.lock:
        for n in range(count):
            t += 1
            if n % 2 == 0:
                photo = [{"file_type": "image"}] if n % 10 == 4 else []
                text = f"customer {conversation.id} says {n}"
                account.customer_says(conversation, text, photo, now=t)
            else:
                note = n % 6 == 5
                text = f"{'rep note' if note else 'bot reply'} {conversation.id}/{n}"
                sender = REP if note else BOT_SENDER
                account.post(
                    conversation, text, private=note, sender=sender, content_attributes={}, now=t
                )
    return t


def populate(
    server: ChatwootStandin,
    count: int = 30,
    *,
    messages: int = 25,
    sizes: dict[int, int] | None = None,
    start: datetime = T0,
) -> list[StandinConversation]:
    """``count`` conversations, each with its own contact, oldest first."""
    account, t, made = server.account, start.timestamp(), []
    for i in range(count):
        with account.lock:
            contact = {"name": f"Customer {i}", "email": f"customer{i}@example.com"}
            conversation = account.open_conversation(None, contact=contact, assignee=None, now=t)
        t = chat(server, conversation, (sizes or {}).get(i, messages), t) + 60
        made.append(conversation)
    return made


def standin_messages(server: ChatwootStandin) -> dict[int, str | None]:
    with server.account.lock:
        return {m.id: m.content for c in server.account.conversations.values() for m in c.messages}


def stored_messages(engine: Engine) -> dict[int, Any]:
    with Session(engine) as session:
        return {m.id: m.model_dump() for m in session.exec(select(Message))}


def fail(server: ChatwootStandin, path: str, status: int, times: int) -> None:
    body = {"path_contains": path, "status": status, "times": times}
    requests.post(f"{server.url}/_standin/fail", json=body, timeout=5).raise_for_status()


# --- paging and storing ----------------------------------------------------------------


def test_the_import_pages_through_everything_and_stores_it_like_webhook_data(
    engine: Engine, standin: ChatwootStandin
) -> None:
    made = populate(standin, 30, sizes={2: 130, 5: 0})
    longest = made[2]
    reader, calls, _ = make_reader(standin)

    stats = run(engine, reader)

    assert calls.pages() == [1, 2, 3]  # 25 + 5, then the empty page that ends it
    assert (stats.total, stats.listed, stats.fetched) == (30, 30, 30)
    fetched = calls.message_calls()
    # 100 at a time from the start; a short page is the end.
    first_100 = sorted(m.id for m in longest.messages)[99]
    assert [a for c, a in fetched if c == longest.id] == [0, first_100]
    assert all(a == 0 for c, a in fetched if c != longest.id)
    assert len(fetched) == 31

    expected = standin_messages(standin)
    stored = stored_messages(engine)
    assert stats.messages == len(expected) == len(stored) == 28 * 25 + 130
    assert {i: m["content"] for i, m in stored.items()} == expected
    assert {m["origin"] for m in stored.values()} == {"import"}
    kinds = {(m["message_type"], m["sender_kind"], m["private"]) for m in stored.values()}
    assert kinds == {
        ("incoming", "customer", False),
        ("outgoing", "bot", False),
        ("outgoing", "human", True),
    }
    photos = [m for m in stored.values() if m["attachments"]]
    assert photos and all(m["attachments"][0]["file_type"] == "image" for m in photos)
    with Session(engine) as session:
        rows = {c.display_id: c for c in session.exec(select(Conversation))}
        assert set(rows) == {c.id for c in made}  # the empty one too
        first = rows[made[0].id]
        assert (first.status, first.inbox_id, first.channel) == (
            "pending",
            12,
            "Channel::WebWidget",
        )
        assert first.contact_id == made[0].contact.id
        cursors = session.exec(select(ImportProgress)).all()
        assert len(cursors) == 30 and all(c.completed_at == NOW for c in cursors)
        newest = {c.display_id: c.newest_message_id for c in cursors}
        assert newest[longest.id] == longest.messages[-1].id and newest[made[5].id] is None


def test_rest_history_parses_exactly_like_the_webhook(standin: ChatwootStandin) -> None:
    """Same typed data from REST as from a webhook body, so the same upserts store it."""
    [conversation] = populate(standin, 1, messages=12)
    reader, _, _ = make_reader(standin)
    imported = reader.messages_after(conversation.id, 0)
    assert len(imported) == 12
    for message, rest in zip(conversation.messages, imported, strict=True):
        change = Change("message_created", conversation, message)
        body = webhook_bodies.webhook(standin.account, change)
        live = events.parse_event(body).message
        assert live is not None
        # A webhook only knows the status of the conversation's last public message.
        assert rest == dataclasses.replace(live, status="sent")
    [listed] = reader.conversation_page(1).conversations
    body = webhook_bodies.webhook(standin.account, Change("conversation_updated", conversation))
    webhook = events.parse_event(body).conversation
    assert webhook is not None
    # REST shows the last message of any kind (``messages.last``), a webhook the last public
    # one (``messages.chat.last``). The contact's address on the channel comes from the
    # webhook's contact_inbox and from the REST message's push data alike. Nothing else may
    # differ.
    assert listed.conversation == dataclasses.replace(
        webhook, last_message_status=listed.conversation.last_message_status
    )
    assert listed.conversation.last_message_status == (conversation.messages[-1].id, "sent")


def test_imported_messages_are_the_history_a_returning_customer_s_draft_reads(
    engine: Engine, standin: ChatwootStandin
) -> None:
    [conversation] = populate(standin, 1, messages=24)
    reader, _, _ = make_reader(standin)
    run(engine, reader)
    # The customer comes back in the same conversation; the webhook stores the new message.
    with standin.account.lock:
        message, _ = standin.account.customer_says(
            conversation, "I'm back: is the tent still in stock?", [], now=NOW.timestamp()
        )
        body = webhook_bodies.webhook(
            standin.account, Change("message_created", conversation, message)
        )
    store_event(engine, body, key="live-1", received_at=NOW)

    with Session(engine) as session:
        pk = session.exec(
            select(Conversation.id).where(Conversation.display_id == conversation.id)
        ).one()
        assert pk is not None
        history = drafts.history(session, pk)
    assert [m.id for m in history] == [m.id for m in conversation.messages]
    assert [m.origin for m in history] == ["import"] * 24 + ["webhook"]
    said = [turn.text for turn in turns(history)]
    assert f"customer {conversation.id} says 0" in said[0]
    assert said[-1] == "I'm back: is the tent still in stock?"
    # Private notes (the reps') are not part of what the customer saw.
    assert not any("rep note" in text for text in said)


def test_since_leaves_out_conversations_last_active_before_it(
    engine: Engine, standin: ChatwootStandin
) -> None:
    old = populate(standin, 4, messages=3, start=datetime(2026, 3, 1, tzinfo=UTC))
    new = populate(standin, 3, messages=3)
    reader, calls, _ = make_reader(standin)
    stats = run(engine, reader)
    assert (stats.older, stats.fetched) == (4, 3)
    assert {c for c, _ in calls.message_calls()} == {c.id for c in new}
    with Session(engine) as session:
        stored = set(session.exec(select(Conversation.display_id)))
    assert stored == {c.id for c in new} and not stored & {c.id for c in old}


# --- resuming --------------------------------------------------------------------------


def test_a_rerun_fetches_only_what_changed(engine: Engine, standin: ChatwootStandin) -> None:
    made = populate(standin, 30, messages=21)
    reader, calls, _ = make_reader(standin)
    run(engine, reader)
    before = stored_messages(engine)
    newest = {c.id: c.messages[-1].id for c in made}

    again, calls2, _ = make_reader(standin)
    stats = run(engine, again)
    assert (stats.unchanged, stats.fetched, stats.messages) == (30, 0, 0)
    assert calls2.message_calls() == [] and calls2.pages() == [1, 2, 3]
    assert stored_messages(engine) == before

    busy, labelled = made[7], made[12]
    chat(standin, busy, 2, NOW.timestamp())
    with standin.account.lock:
        standin.account.set_labels(labelled, ["sold"], now=NOW.timestamp())
    third, calls3, _ = make_reader(standin)
    stats = run(engine, third)
    assert (stats.fetched, stats.messages) == (2, 2)
    assert sorted(calls3.message_calls()) == sorted(
        [(busy.id, newest[busy.id]), (labelled.id, newest[labelled.id])]
    )
    with Session(engine) as session:
        row = session.exec(select(Conversation).where(Conversation.display_id == labelled.id))
        assert row.one().labels == ["sold"]
    assert len(stored_messages(engine)) == len(before) + 2


class Crash(Exception):
    pass


def test_a_crash_mid_conversation_resumes_there_without_duplicates(
    engine: Engine, standin: ChatwootStandin
) -> None:
    made = populate(standin, 30, messages=21, sizes={20: 150})
    longest = made[20]  # listed 10th: most recently active first
    reader, calls, _ = make_reader(standin)

    def crash_after_first_page_of_longest(_stats: ImportStats) -> None:
        if calls.message_calls()[-1:] == [(longest.id, 0)]:
            raise Crash("the worker died")

    with pytest.raises(Crash):
        run(engine, reader, progress=crash_after_first_page_of_longest)
    done_before = {c for c, _ in calls.message_calls()}
    assert len(done_before) == 10
    assert len(stored_messages(engine)) == 9 * 21 + 100

    again, calls2, _ = make_reader(standin)
    stats = run(engine, again)
    resumed = calls2.message_calls()
    page_100 = sorted(m.id for m in longest.messages)[99]
    assert resumed[0] == (longest.id, page_100)  # not from the start
    assert not {c for c, _ in resumed} & (done_before - {longest.id})
    assert stats.messages == 50 + 20 * 21 and stats.unchanged == 9

    stored = stored_messages(engine)
    assert {i: m["content"] for i, m in stored.items()} == standin_messages(standin)

    # Proof that duplicates are impossible anyway: everything again, from scratch.
    once_more, _, _ = make_reader(standin)
    stats = run(engine, once_more, restart=True)
    assert stats.fetched == 30 and stats.messages == len(stored)
    assert stored_messages(engine) == stored
    with Session(engine) as session:
        assert len(session.exec(select(Conversation)).all()) == 30


def test_an_injected_failure_stops_the_import_and_a_rerun_finishes_it(
    engine: Engine, standin: ChatwootStandin
) -> None:
    made = populate(standin, 30, messages=21)
    broken = made[-12]  # listed 12th
    fail(standin, f"/conversations/{broken.id}/messages", 500, times=5)
    reader, calls, time = make_reader(standin)
    with pytest.raises(ChatwootError) as failed:
        run(engine, reader)
    assert failed.value.transient and failed.value.status == 500
    assert time.sleeps == [1.0, 2.0, 4.0, 8.0]  # 4 retries, then it gives up
    assert len(stored_messages(engine)) == 11 * 21

    again, calls2, _ = make_reader(standin)
    stats = run(engine, again)
    assert (stats.unchanged, stats.fetched) == (11, 19)
    assert calls2.message_calls()[0] == (broken.id, 0)
    assert {i: m["content"] for i, m in stored_messages(engine).items()} == standin_messages(
        standin
    )


# --- pacing and backing off -------------------------------------------------------------


def test_it_backs_off_on_429_and_carries_on(engine: Engine, standin: ChatwootStandin) -> None:
    populate(standin, 27, messages=21)
    fail(standin, "/conversations", 429, times=3)
    reader, calls, time = make_reader(standin)
    stats = run(engine, reader)
    assert time.sleeps == [1.0, 2.0, 4.0]
    assert calls.pages()[:4] == [1, 1, 1, 1]  # the same page, until Chatwoot lets us
    assert stats.fetched == 27 and len(stored_messages(engine)) == 27 * 21


def test_429_retries_double_up_to_a_minute_then_give_up(standin: ChatwootStandin) -> None:
    fail(standin, "/conversations", 429, times=100)
    reader, calls, time = make_reader(standin)
    with pytest.raises(ChatwootError) as failed:
        reader.conversation_page(1)
    assert failed.value.status == 429
    assert time.sleeps == [1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 60.0, 60.0]
    assert len(calls.calls) == 9
    # A permanent error is not retried at all.
    requests.post(f"{standin.url}/_standin/reset", timeout=5).raise_for_status()
    reader, calls, time = make_reader(standin)
    with pytest.raises(ChatwootError) as missing:
        reader.messages_after(999_999, 0)
    assert missing.value.status == 404 and len(calls.calls) == 1 and time.sleeps == []


def test_the_import_stays_under_the_rate_limit(engine: Engine, standin: ChatwootStandin) -> None:
    populate(standin, 30, messages=3)
    reader, calls, time = make_reader(standin, per_minute=10)
    run(engine, reader)
    at = [t for t, _, _ in calls.calls]
    assert len(at) == 33
    assert all(later - earlier >= 60 for earlier, later in zip(at, at[10:], strict=False))
    assert time.sleeps and at[-1] == 180.0  # 3 full minutes of waiting, no more


@pytest.mark.parametrize(
    ("limit", "calls", "sleeps"),
    [(3, 3, []), (3, 4, [60.0]), (3, 7, [60.0, 60.0]), (1, 3, [60.0, 60.0])],
)
def test_the_limiter_allows_limit_calls_in_any_period(
    limit: int, calls: int, sleeps: list[float]
) -> None:
    time = FakeClock()
    limiter = RateLimiter(limit, 60.0, clock=time.clock, sleep=time.sleep)
    for _ in range(calls):
        limiter.wait()
    assert time.sleeps == sleeps


def test_the_limiter_only_waits_for_what_is_left_of_the_window() -> None:
    time = FakeClock()
    limiter = RateLimiter(2, 60.0, clock=time.clock, sleep=time.sleep)
    limiter.wait()
    time.now = 45.0
    limiter.wait()
    limiter.wait()  # the first call leaves the window at 60
    assert time.sleeps == [15.0]


def test_backoff_is_exponential_and_capped() -> None:
    backoff = Backoff()
    assert [backoff.delay(n) for n in range(9)] == [1, 2, 4, 8, 16, 32, 60, 60, 60]
    assert backoff.retries(ChatwootError("x", transient=True, status=429)) == 8
    assert backoff.retries(ChatwootError("x", transient=True, status=502)) == 4
    assert backoff.retries(ChatwootError("x", transient=False, status=404)) == 0


# --- the command -------------------------------------------------------------


def test_the_command_needs_the_user_token(make_app: Any) -> None:
    app = make_app(CHATWOOT_URL="http://127.0.0.1:9", CHATWOOT_ACCOUNT_ID="3")
    app.cli.add_command(chatwoot_group)
    result = app.test_cli_runner().invoke(args=["chatwoot", "import", "--since", "2026-05-01"])
    assert result.exit_code == 1
    assert "CHATWOOT_USER_TOKEN not set" in result.output
    assert "bot token cannot list" in result.output
    missing_since = app.test_cli_runner().invoke(args=["chatwoot", "import"])
    assert missing_since.exit_code == 2 and "--since" in missing_since.output


def test_the_command_asks_which_account_when_wingman_serves_several(
    make_app: Any, standin: ChatwootStandin
) -> None:
    populate(standin, 2, messages=1)
    env = {"CHATWOOT_URL": standin.url, "CHATWOOT_USER_TOKEN": USER}
    for accounts, args, expected in [
        ({}, [], "Which account? Pass --account ID"),
        ({"CHATWOOT_ACCOUNT_IDS": "3,4"}, [], "Which account? Pass --account ID"),
        ({"CHATWOOT_ACCOUNT_IDS": "4,5"}, ["--account", "3"], "account 3 is not in"),
    ]:
        app = make_app(now=lambda: NOW, **env, **accounts)
        app.cli.add_command(chatwoot_group)
        result = app.test_cli_runner().invoke(
            args=["chatwoot", "import", "--since", "2026-05-01", *args]
        )
        assert result.exit_code == 1 and expected in result.output, result.output
    app = make_app(now=lambda: NOW, **env, CHATWOOT_ACCOUNT_IDS="3,4")
    app.cli.add_command(chatwoot_group)
    args = ["chatwoot", "import", "--since", "2026-05-01", "--account", "3"]
    result = app.test_cli_runner().invoke(args=args)
    assert result.exit_code == 0 and "from 2 conversation(s)" in result.stdout, result.output


def test_the_command_imports_with_a_progress_bar_on_stderr(
    make_app: Any, standin: ChatwootStandin, engine: Engine
) -> None:
    populate(standin, 27, messages=21)
    env = {"CHATWOOT_URL": standin.url, "CHATWOOT_ACCOUNT_ID": "3", "CHATWOOT_USER_TOKEN": USER}
    app = make_app(now=lambda: NOW, **env)
    app.cli.add_command(chatwoot_group)
    runner = app.test_cli_runner()
    result = runner.invoke(args=["chatwoot", "import", "--since", "2026-05-01"])
    assert result.exit_code == 0, result.output
    assert "imported 567 message(s) from 27 conversation(s)" in result.stdout
    assert "(30 requests)" in result.stdout
    assert "[##############################] 100% 27/27 conversations" in result.stderr
    assert result.stderr.rstrip().endswith(", 567 messages")
    again = runner.invoke(args=["chatwoot", "import", "--since", "2026-05-01"])
    assert "imported 0 message(s) from 0 conversation(s); 27 unchanged" in again.stdout

    fail(standin, "/conversations", 404, times=1)
    broken = runner.invoke(args=["chatwoot", "import", "--since", "2026-05-01", "--restart"])
    assert broken.exit_code == 1
    assert "returned 404" in broken.output and "run the same command again" in broken.output
    assert USER not in broken.output


# --- the human-only baseline ---------------------------------------------------------------


def test_the_baseline_counts_imported_conversations_the_bot_never_drafted(
    engine: Engine, standin: ChatwootStandin
) -> None:
    made = populate(standin, 7, messages=3)
    outcomes = ["sold", "sold", "lost", "lost", "open", "sold", "sold"]
    with standin.account.lock:
        for conversation, result in zip(made, outcomes, strict=True):
            if result == "sold":
                conversation.labels = ["sold"]
            conversation.status = "open" if result == "open" else "resolved"
    reader, _, _ = make_reader(standin)
    run(engine, reader)
    # The bot drafted in the sixth: not human-only.
    with session_scope(engine) as session:
        drafted = session.exec(
            select(Conversation.id).where(Conversation.display_id == made[5].id)
        ).one()
        assert drafted is not None
        session.add(Draft(conversation_id=drafted, state="sent", created_at=NOW))
    # A live conversation (webhook only) is not history either.
    with standin.account.lock:
        live = standin.account.open_conversation(
            None, contact={"name": "Live"}, assignee=None, now=T0.timestamp()
        )
        live.labels, live.status = ["sold"], "resolved"
        body = webhook_bodies.webhook(standin.account, Change("conversation_resolved", live))
    store_event(engine, body, key="live", received_at=NOW)

    with Session(engine) as session:
        everything = baseline(session, SINCE, NOW)
        without_last = baseline(session, SINCE, datetime.fromtimestamp(made[6].created_at, UTC))
    # 2 sold + 2 lost + the seventh (sold); the open one has no outcome yet.
    assert everything == (5, 3)
    assert without_last == (4, 2)
