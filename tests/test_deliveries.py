"""Delivery processing, rescue and pruning, on both databases and a real RQ worker."""

import copy
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from redis import Redis
from rq import Queue
from rq.serializers import JSONSerializer
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from core.autonomy_levels import Autonomy
from core.config_store import ConfigStore
from core.db import session_scope
from core.models import Delivery, Message
from tests.conftest import engine_url, load_event, store_event
from workers import deliveries, routing, runtime
from workers.dispatch import delivery_job_id, enqueue_delivery
from workers.queue import make_queue
from workers.worker import WingmanSimpleWorker

NOW = datetime(2026, 6, 18, 10, 0, tzinfo=UTC)


def store(engine: Engine, key: str, received_at: datetime = NOW) -> int:
    """A delivery of its own per key: the same body twice would be a duplicate."""
    payload = {**load_event("message_created_incoming"), "content": f"message {key}"}
    return int(store_event(engine, payload, key=key, received_at=received_at).delivery_id)


def delivery(engine: Engine, delivery_id: int) -> Delivery | None:
    with Session(engine) as session:
        return session.get(Delivery, delivery_id)


@pytest.fixture
def queue(redis_conn: Redis) -> Queue:
    return make_queue(redis_conn)


@pytest.fixture
def worker_env(engine: Engine, redis_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Point the worker's own Settings.load() at the test database and Redis."""
    monkeypatch.setenv("DATABASE_URL", engine_url(engine))
    monkeypatch.setenv("REDIS_URL", redis_url)
    runtime.reset()
    yield
    runtime.reset()


def run_worker(queue: Queue) -> None:
    worker = WingmanSimpleWorker([queue], connection=queue.connection, serializer=JSONSerializer)
    worker.work(burst=True)


def test_process_marks_once(engine: Engine) -> None:
    delivery_id = store(engine, "a")
    with session_scope(engine) as session:
        assert deliveries.process_delivery(session, delivery_id, now=NOW)
    with session_scope(engine) as session:
        assert not deliveries.process_delivery(session, delivery_id, now=NOW)
    row = delivery(engine, delivery_id)
    assert row is not None and row.processed_at == NOW


def test_process_of_a_missing_delivery_is_a_no_op(engine: Engine) -> None:
    with session_scope(engine) as session:
        assert not deliveries.process_delivery(session, 999, now=NOW)


def test_a_real_worker_processes_what_the_webhook_enqueued(
    make_app: Any, engine: Engine, queue: Queue, worker_env: None
) -> None:
    client = make_app().test_client()
    response = client.post(
        "/chatwoot/webhook",
        data=json.dumps(load_event("message_created_incoming")),
        headers={"X-Chatwoot-Delivery": "w-1"},
    )
    delivery_id = response.json["delivery"]
    run_worker(queue)
    row = delivery(engine, delivery_id)
    assert row is not None and row.processed_at is not None
    job = queue.fetch_job(delivery_job_id(delivery_id))
    assert job is not None and job.get_status() == "finished"


def test_rescue_re_enqueues_only_old_unprocessed_deliveries(engine: Engine, queue: Queue) -> None:
    old = store(engine, "old", received_at=NOW - timedelta(minutes=5))
    fresh = store(engine, "fresh", received_at=NOW - timedelta(seconds=10))
    done = store(engine, "done", received_at=NOW - timedelta(minutes=5))
    with session_scope(engine) as session:
        deliveries.process_delivery(session, done, now=NOW)
    with session_scope(engine) as session:
        rescued = deliveries.requeue_stale_deliveries(
            session, queue, now=NOW, older_than=timedelta(minutes=1)
        )
    assert rescued == [old]
    assert fresh not in rescued
    assert queue.job_ids == [delivery_job_id(old)]


def test_rescue_skips_a_delivery_whose_job_is_still_queued(engine: Engine, queue: Queue) -> None:
    old = store(engine, "old", received_at=NOW - timedelta(minutes=5))
    enqueue_delivery(queue, old)
    with session_scope(engine) as session:
        rescued = deliveries.requeue_stale_deliveries(
            session, queue, now=NOW, older_than=timedelta(minutes=1)
        )
    assert rescued == []
    assert queue.count == 1


def test_after_a_redis_flush_the_sweeper_job_gets_the_delivery_processed(
    make_app: Any, engine: Engine, queue: Queue, redis_conn: Redis, worker_env: None
) -> None:
    response = (
        make_app(now=lambda: NOW - timedelta(minutes=5))
        .test_client()
        .post("/chatwoot/webhook", data=json.dumps(load_event("message_created_incoming")))
    )
    delivery_id = response.json["delivery"]
    redis_conn.flushdb()  # the enqueued job is lost
    queue.enqueue("workers.jobs.requeue_stale_deliveries")
    run_worker(queue)  # the sweeper re-enqueues; burst mode then runs the rescued job too
    row = delivery(engine, delivery_id)
    assert row is not None and row.processed_at is not None


def test_prune_keeps_recent_and_unprocessed(engine: Engine) -> None:
    ancient = store(engine, "ancient", received_at=NOW - timedelta(days=40))
    ancient_unprocessed = store(engine, "ancient-open", received_at=NOW - timedelta(days=40))
    recent = store(engine, "recent", received_at=NOW - timedelta(days=2))
    with session_scope(engine) as session:
        for delivery_id in (ancient, recent):
            deliveries.process_delivery(session, delivery_id, now=NOW)
    with session_scope(engine) as session:
        removed = deliveries.prune_deliveries(session, now=NOW, retention=timedelta(days=30))
    assert removed == 1
    assert delivery(engine, ancient) is None
    assert delivery(engine, ancient_unprocessed) is not None
    assert delivery(engine, recent) is not None
    with Session(engine) as session:
        assert session.exec(select(Message)).first() is not None  # messages stay


def test_a_job_whose_hash_expires_right_after_the_fetch_is_not_pending(
    queue: Queue, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A finished job's hash expires with its result TTL; the sweeper must not fail on it."""
    from rq.job import Job

    from workers.dispatch import is_pending

    queue.enqueue("workers.jobs.prune_deliveries", job_id="delivery-7")
    fetch = Job.fetch

    def fetch_then_expire(job_id: str, **kwargs: Any) -> Job:
        job = fetch(job_id, **kwargs)
        queue.connection.delete(job.key)
        return job

    monkeypatch.setattr(Job, "fetch", fetch_then_expire)
    assert is_pending(queue, "delivery-7") is False


def test_a_message_is_acted_on_by_its_first_delivery_only(engine: Engine) -> None:
    note = load_event("message_created_private_note_by_agent")
    note["content"] = "/bot off"
    again = copy.deepcopy(note)
    again["conversation"]["updated_at"] += 30  # a newer body: not a byte-for-byte replay
    first = int(store_event(engine, note, key="a", received_at=NOW).delivery_id)
    second = int(store_event(engine, again, key="b", received_at=NOW).delivery_id)
    assert first != second
    config = ConfigStore("absent.toml", Autonomy.DRAFT, required=False)
    with session_scope(engine) as session:
        actions = routing.route(session, first, config=config, now=NOW)
    assert actions is not None and len(actions) == 1
    with session_scope(engine) as session:  # the same delivery again (RQ may run it twice)
        assert routing.route(session, first, config=config, now=NOW) == actions
    with session_scope(engine) as session:
        assert routing.route(session, second, config=config, now=NOW) == []
