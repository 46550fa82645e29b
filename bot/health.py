"""/healthz (the process is alive) and /readyz (it can do its job)."""

from __future__ import annotations

import logging

from flask import Blueprint, current_app, jsonify
from flask.typing import ResponseReturnValue
from redis.exceptions import RedisError
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session, col, select

from core.db import schema_is_current
from core.models import Inbox
from workers import parking
from workers.services import Services
from workers.windows import channel_name

log = logging.getLogger(__name__)
blueprint = Blueprint("health", __name__)


@blueprint.get("/healthz")
def healthz() -> ResponseReturnValue:
    return jsonify(status="ok")


@blueprint.get("/readyz")
def readyz() -> ResponseReturnValue:
    """503 naming what is down; settings that are missing are reported but don't fail it.

    Without Claude or Chatwoot settings the bot still stores every delivery and hands
    conversations to humans, so the service is degraded rather than down.
    """
    services: Services = current_app.extensions["wingman"]
    checks = {"database": _database(services), "redis": _redis(services)}
    down = [name for name, state in checks.items() if state != "ok"]
    missing = services.settings.missing()
    body = {
        "status": "down" if down else ("degraded" if missing else "ok"),
        "checks": checks,
        "missing_settings": missing,
        "unknown_channels": [] if down else _unknown_channels(services),
        # Kept for an operator, who settles them with `flask --app bot deliveries`; the
        # rest of the service is unaffected, so they don't make it unready.
        "parked_deliveries": None if down else _parked(services),
    }
    if down:
        body["error"] = "not ready: " + ", ".join(f"{name} {checks[name]}" for name in down)
    return jsonify(body), 503 if down else 200


def _unknown_channels(services: Services) -> list[dict[str, object]]:
    """Inboxes on a channel Wingman doesn't know: they get drafts only, never autopilot,
    and the strictest window, until Wingman learns the channel's rules."""
    try:
        with Session(services.engine) as session:
            inboxes = session.exec(select(Inbox).order_by(col(Inbox.id))).all()
    except SQLAlchemyError:
        return []
    return [
        {"inbox_id": inbox.id, "channel": inbox.channel}
        for inbox in inboxes
        if not channel_name(inbox.channel)[1]
    ]


def _parked(services: Services) -> int | None:
    try:
        with Session(services.engine) as session:
            return parking.parked_count(session)
    except SQLAlchemyError:
        return None


def _database(services: Services) -> str:
    try:
        with services.engine.connect() as connection:
            connection.execute(text("select 1"))
        if not schema_is_current(services.engine):
            return "not migrated (run: flask --app bot db upgrade)"
    except SQLAlchemyError as exc:
        log.warning("readiness: database unreachable: %s", exc.__class__.__name__)
        return "unreachable"
    return "ok"


def _redis(services: Services) -> str:
    try:
        services.redis.ping()
    except (RedisError, OSError) as exc:
        log.warning("readiness: redis unreachable: %s", exc.__class__.__name__)
        return "unreachable"
    return "ok"
