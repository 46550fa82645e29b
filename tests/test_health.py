from typing import Any

from redis import Redis
from sqlalchemy.engine import Engine

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
    assert response.json["status"] == "degraded"
    assert response.json["checks"] == {"database": "ok", "redis": "ok"}
    assert "ANTHROPIC_API_KEY" in response.json["missing_settings"]


def test_fully_configured_is_ok(make_app: Any) -> None:
    app = make_app(
        CHATWOOT_URL="https://chat.example.com",
        CHATWOOT_ACCOUNT_ID="3",
        CHATWOOT_BOT_TOKEN="tok-bot-1",
        ANTHROPIC_API_KEY="sk-ant-test",
    )
    response = app.test_client().get("/readyz")
    assert response.status_code == 200
    assert response.json["status"] == "ok" and response.json["missing_settings"] == []


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
    assert response.json["checks"]["redis"] == "unreachable"
    assert "redis" in response.json["error"]


def test_database_down_is_503_naming_it(redis_conn: Redis) -> None:
    broken = make_engine("postgresql+psycopg://nobody@127.0.0.1:1/none")
    app = create_app({"settings": Settings.from_env({}), "engine": broken, "redis": redis_conn})
    response = app.test_client().get("/readyz")
    assert response.status_code == 503
    assert response.json["checks"]["database"] == "unreachable"
    assert "database" in response.json["error"]


def test_unmigrated_database_is_503(tmp_path: Any, redis_conn: Redis) -> None:
    empty = make_engine(f"sqlite:///{tmp_path / 'empty.db'}")
    app = create_app({"settings": Settings.from_env({}), "engine": empty, "redis": redis_conn})
    response = app.test_client().get("/readyz")
    assert response.status_code == 503
    assert "not migrated" in response.json["checks"]["database"]
