"""NOTIFY_WEBHOOK_URL notices: what triggers them, how they are sent, and that they never
block a reply (issue 5)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
import requests
import responses
from redis import Redis
from rq import Queue
from rq.serializers import JSONSerializer

from chatwoot.signature import sign
from tests.conftest import load_event
from tests.loop_harness import DEBOUNCE, T0, Loop
from workers import jobs, notify
from workers.llm import ComposerError, Reply

HOOK = "https://relay.example.com/wingman"
NOW = datetime(2026, 6, 18, 9, 14, tzinfo=UTC)


def kinds(loop: Loop) -> list[str]:
    return [n["kind"] for n in loop.notices]


def test_a_new_draft_sends_a_notice(loop: Loop) -> None:
    loop.composer.add(Reply(bubbles=["Yes!"]))
    loop.customer_says("Does it fit two?", at=T0)
    loop.run(at=T0 + DEBOUNCE + 1)
    [body] = loop.notices
    assert body["kind"] == "draft" and body["draft"].startswith("D")
    assert body["conversation"] == 1423 and body["bubbles"] == ["Yes!"]


def test_a_handoff_and_a_reminder_send_notices(loop: Loop) -> None:
    loop.composer.add(ComposerError("overloaded", transient=True))
    loop.customer_says("Hello?", at=T0)
    loop.run(at=T0 + DEBOUNCE + 1)
    assert kinds(loop) == ["handoff"]
    assert loop.notices[0]["reason"] == "claude_failed"


def test_reminders_notify_once_per_stage(loop: Loop) -> None:
    loop.composer.add(Reply(bubbles=["Yes!"]))
    loop.customer_says("Does it fit two?", at=T0)
    loop.run(at=T0 + DEBOUNCE + 1)
    loop.clock.now += 5 * 60
    jobs.check_drafts()
    jobs.check_drafts()
    assert kinds(loop) == ["draft", "reminder"]


def test_send_posts_json_and_fails_loudly_so_rq_retries() -> None:
    body = notify.notice("handoff", at=NOW, conversation=1423, reason="upset")
    with responses.RequestsMock() as mock:
        mock.post(HOOK, status=200)
        notify.send(HOOK, body)
        assert json.loads(mock.calls[0].request.body or "") == {
            "source": "wingman",
            "kind": "handoff",
            "at": NOW.isoformat(),
            "conversation": 1423,
            "reason": "upset",
        }
    with responses.RequestsMock() as mock:
        mock.post(HOOK, status=502)
        with pytest.raises(notify.NoticeError, match="502"):
            notify.send(HOOK, body)
    with responses.RequestsMock() as mock:
        mock.post(HOOK, body=requests.ConnectionError("refused"))
        with pytest.raises(notify.NoticeError):
            notify.send(HOOK, body)


def test_enqueue_uses_a_retried_job_and_never_raises(redis_conn: Redis) -> None:
    queue = Queue("wingman", connection=redis_conn, serializer=JSONSerializer)
    body = notify.notice("draft", at=NOW, conversation=1)
    notify.enqueue(queue, None, body)
    assert queue.count == 0  # no URL: nothing to do
    notify.enqueue(queue, HOOK, body)
    [job] = queue.jobs
    assert job.func_name == "workers.jobs.send_notice" and list(job.args) == [body]
    assert job.retries_left == len(notify.RETRY_INTERVALS)
    dead = Queue(
        "wingman", connection=Redis.from_url("redis://127.0.0.1:1"), serializer=JSONSerializer
    )
    notify.enqueue(dead, HOOK, body)  # Redis down: logged, not raised


def test_unknown_kind_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown notice kind"):
        notify.notice("party", at=NOW)


@pytest.mark.parametrize(("failures", "notices"), [(4, 0), (5, 1), (8, 1)])
def test_a_burst_of_signature_failures_notifies_once(
    make_app: Any, redis_conn: Redis, failures: int, notices: int
) -> None:
    app = make_app(now=lambda: NOW, CHATWOOT_WEBHOOK_SECRET="s3cret-value", NOTIFY_WEBHOOK_URL=HOOK)
    client = app.test_client()
    body = json.dumps(load_event("message_created_incoming")).encode()
    timestamp = str(int(NOW.timestamp()))
    for _ in range(failures):
        response = client.post(
            "/chatwoot/webhook",
            data=body,
            headers={
                "X-Chatwoot-Timestamp": timestamp,
                "X-Chatwoot-Signature": sign("wrong-secret", timestamp, body),
            },
        )
        assert response.status_code == 401
    queue = Queue("wingman", connection=redis_conn, serializer=JSONSerializer)
    sent = [job.args[0] for job in queue.jobs if job.func_name == "workers.jobs.send_notice"]
    assert len(sent) == notices
    if sent:
        assert sent[0]["kind"] == "signature_failures" and sent[0]["check"] == "signature"
