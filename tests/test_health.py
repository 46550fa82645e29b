from typing import Any

from redis import Redis
from sqlalchemy.engine import Engine
from werkzeug.test import TestResponse

from bot import create_app
from core.db import make_engine
from core.settings import Settings
from workers.queue import connect


def test_healthz(make_app: Any) -> None:
    response = make_app().test_client().get("/healthz")
    assert response.status_code == 200 and response.json == {"status": "ok"}


def test_ready_but_degraded_without_claude_and_chatwoot(make_app: Any) -> None:
    response = make_app().test_client().get("/readyz")
    assert response.status_code == 200
    assert body(response)["status"] == "degraded"
    assert body(response)["checks"] == {"database": "ok", "redis": "ok"}
    assert "ANTHROPIC_API_KEY" in body(response)["missing_settings"]


def test_fully_configured_is_ok(make_app: Any) -> None:
    app = make_app(
        CHATWOOT_URL="https://chat.example.com",
        CHATWOOT_ACCOUNT_ID="3",
        CHATWOOT_BOT_TOKEN="tok-bot-1",
        ANTHROPIC_API_KEY="sk-ant-test",
    )
    response = app.test_client().get("/readyz")
    assert response.status_code == 200
    assert body(response)["status"] == "ok" and body(response)["missing_settings"] == []


def test_redis_down_is_503_naming_it(engine: Engine) -> None:
    app = create_app(
        {
            "settings": Settings.from_env({}),
            "engine": engine,
            "redis": connect("redis://127.0.0.1:1"),
        }
    )
    response = app.test_client().get("/readyz")
    assert response.status_code == 503
    assert body(response)["checks"]["redis"] == "unreachable"
    assert "redis" in body(response)["error"]


def test_database_down_is_503_naming_it(redis_conn: Redis) -> None:
    broken = make_engine("postgresql+psycopg://nobody@127.0.0.1:1/none")
    app = create_app({"settings": Settings.from_env({}), "engine": broken, "redis": redis_conn})
    response = app.test_client().get("/readyz")
    assert response.status_code == 503
    assert body(response)["checks"]["database"] == "unreachable"
    assert "database" in body(response)["error"]


def test_unmigrated_database_is_503(tmp_path: Any, redis_conn: Redis) -> None:
    empty = make_engine(f"sqlite:///{tmp_path / 'empty.db'}")
    app = create_app({"settings": Settings.from_env({}), "engine": empty, "redis": redis_conn})
    response = app.test_client().get("/readyz")
    assert response.status_code == 503
    assert "not migrated" in body(response)["checks"]["database"]


def body(response: TestResponse) -> Any:
    assert response.json is not None, response.data
    return response.json
