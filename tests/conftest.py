"""Shared fixtures: real Redis, real SQLite and PostgreSQL, and the Chatwoot event fixtures.

Tests that need a server skip when it is unreachable on a developer's laptop, and fail
under CI=true, where skipping would hide a broken suite.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from redis import Redis
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlmodel import SQLModel

from core.db import make_engine, migrate

# The end-to-end harness (the ``loop`` fixture) lives in its own module.
pytest_plugins = ["tests.loop_harness", "tests.world"]

ROOT = Path(__file__).resolve().parent.parent
# Copies of ../shared/chatwoot (Chatwoot 4.15.1's real shapes, its swagger and the contract
# read from its source): a user's clone has no ../shared beside it.
FIXTURES = ROOT / "tests" / "fixtures" / "chatwoot"
EVENTS_DIR = FIXTURES / "events"
SWAGGER = FIXTURES / "swagger.json"

TEST_REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
TEST_DATABASE_URL = os.environ.get(
    "TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
IN_CI = os.environ.get("CI", "").lower() == "true"


def unavailable(what: str, exc: BaseException) -> None:
    message = f"{what} is unreachable ({exc.__class__.__name__}: {exc})"
    if IN_CI:
        pytest.fail(f"{message}; under CI=true this must run, not skip", pytrace=False)
    pytest.skip(message)


def load_event(name: str) -> dict[str, Any]:
    """One of the real-shape payloads from tests/fixtures/chatwoot/events/."""
    data: dict[str, Any] = json.loads((EVENTS_DIR / f"{name}.json").read_text())
    return data


def event_names() -> list[str]:
    return sorted(p.stem for p in EVENTS_DIR.glob("*.json"))


# --- Redis -------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def redis_url() -> str:
    return TEST_REDIS_URL


@pytest.fixture
def redis_conn(redis_url: str) -> Iterator[Redis]:
    """The test Redis database, flushed before and after each test."""
    conn = Redis.from_url(redis_url, socket_connect_timeout=2)
    try:
        conn.ping()
    except Exception as exc:  # noqa: BLE001 - any failure to reach it means the same
        unavailable(f"Redis at {redis_url}", exc)
    conn.flushdb()
    yield conn
    conn.flushdb()
    conn.close()


# --- Databases ---------------------------------------------------------------------------


def _reset(engine: Engine) -> None:
    with engine.begin() as connection:
        for table in reversed(SQLModel.metadata.sorted_tables):
            connection.execute(table.delete())


@pytest.fixture(scope="session")
def _sqlite_engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    engine = make_engine(f"sqlite:///{tmp_path_factory.mktemp('db') / 'wingman.db'}")
    migrate(engine)
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def _postgres_engine() -> Iterator[Engine]:
    # A schema of its own per test session, so concurrent runs never see each other's rows,
    # and migrations run from scratch: the migrations themselves are what is tested.
    schema = f"wingman_test_{os.getpid()}"
    admin = make_engine(TEST_DATABASE_URL)
    try:
        with admin.begin() as connection:
            connection.execute(text(f"drop schema if exists {schema} cascade"))
            connection.execute(text(f"create schema {schema}"))
    except Exception as exc:  # noqa: BLE001
        admin.dispose()
        unavailable(f"PostgreSQL at {TEST_DATABASE_URL}", exc)
    separator = "&" if "?" in TEST_DATABASE_URL else "?"
    engine = make_engine(f"{TEST_DATABASE_URL}{separator}options=-csearch_path%3D{schema}")
    migrate(engine)
    yield engine
    engine.dispose()
    with admin.begin() as connection:
        connection.execute(text(f"drop schema if exists {schema} cascade"))
    admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def engine(request: pytest.FixtureRequest) -> Iterator[Engine]:
    """A migrated, empty database: each storage test runs once on SQLite, once on Postgres."""
    fixture = "_sqlite_engine" if request.param == "sqlite" else "_postgres_engine"
    db: Engine = request.getfixturevalue(fixture)
    _reset(db)
    yield db
    _reset(db)


@pytest.fixture
def sqlite_engine(_sqlite_engine: Engine) -> Iterator[Engine]:
    """SQLite only, for tests that are about something other than storage."""
    _reset(_sqlite_engine)
    yield _sqlite_engine
    _reset(_sqlite_engine)


# --- The app -----------------------------------------------------------------------------


def engine_url(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=False)


@pytest.fixture
def make_app(engine: Engine, redis_conn: Redis, redis_url: str) -> Any:
    """Build the real app on the test database and Redis, with settings given as env vars."""
    from bot import create_app
    from core.settings import Settings

    def build(now: Any = None, **env: str) -> Any:
        settings = Settings.from_env(
            {"DATABASE_URL": engine_url(engine), "REDIS_URL": redis_url, **env}
        )
        app = create_app({"settings": settings, "engine": engine, "redis": redis_conn, "now": now})
        app.config["TESTING"] = True
        return app

    return build


def store_event(engine: Engine, payload: dict[str, Any], *, key: str, received_at: Any) -> Any:
    """Store a payload as the webhook would, without HTTP: returns core.store.Stored."""
    from chatwoot.events import parse_event
    from core.db import session_scope
    from core.store import record_delivery

    with session_scope(engine) as session:
        return record_delivery(
            session,
            key=key,
            event_name=payload["event"],
            body=json.dumps(payload),
            received_at=received_at,
            event=parse_event(payload),
        )
