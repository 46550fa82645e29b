"""POST /chatwoot/webhook: authenticate, parse, store, enqueue, return. Nothing else.

Chatwoot gives up after 5 s (WEBHOOK_TIMEOUT) and then opens the conversation for humans,
so no call to Chatwoot or Claude happens on this path. It retries only 429 and 500, which
is why a storage failure answers 500.
"""

from __future__ import annotations

import hashlib
import logging
import re
from typing import Any

from flask import Blueprint, current_app, jsonify, request
from flask.typing import ResponseReturnValue
from redis.exceptions import RedisError
from sqlalchemy.exc import SQLAlchemyError

from bot.errors import error
from chatwoot.event_data import Event
from chatwoot.events import KNOWN_EVENTS, parse_event
from chatwoot.payloads import BodyError, load_body
from chatwoot.signature import SignatureError, verify
from chatwoot.values import PayloadError
from core.store import store_delivery
from workers import notify
from workers.dispatch import enqueue_delivery
from workers.services import Services

log = logging.getLogger(__name__)

# This many rejected deliveries within a minute is worth telling a human about.
SIGNATURE_BURST = 5
# Chatwoot's event names; anything else (a NUL, a novel) can't be stored as one.
EVENT_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_.:-]{0,63}")
blueprint = Blueprint("webhook", __name__)


@blueprint.post("/chatwoot/webhook")
def receive() -> ResponseReturnValue:
    services: Services = current_app.extensions["wingman"]
    settings = services.settings
    raw = request.get_data(cache=False)  # raises 413 past MAX_CONTENT_LENGTH

    if settings.chatwoot_webhook_secret:
        try:
            verify(
                settings.chatwoot_webhook_secret,
                timestamp=request.headers.get("X-Chatwoot-Timestamp"),
                signature=request.headers.get("X-Chatwoot-Signature"),
                body=raw,
                now=services.now().timestamp(),
                max_skew=settings.webhook_max_skew_seconds,
            )
        except SignatureError as exc:
            log.warning("rejected webhook from %s: %s", request.remote_addr, exc)
            _count_signature_failure(services, exc)
            return error(401, str(exc), check=exc.check)

    text, payload, problem = _decode(raw)
    if payload is None:
        return error(400, problem)
    name = payload.get("event")
    if not isinstance(name, str) or not name:
        return error(400, "the body has no 'event' field naming the event")
    if not EVENT_NAME.fullmatch(name):
        return error(400, "'event' must be an event name like message_created", field="event")

    event: Event | None = None
    if name in KNOWN_EVENTS:
        try:
            event = parse_event(payload)
        except PayloadError as exc:
            return error(422, f"{name} payload: {exc}", field=exc.field)

    # Header values are Latin-1 text to Werkzeug; PostgreSQL can't store a NUL in one.
    header = request.headers.get("X-Chatwoot-Delivery", "").replace("\x00", "")
    delivery_key = header or ("sha256:" + hashlib.sha256(raw).hexdigest())
    try:
        with services.engine.begin() as connection:
            stored = store_delivery(
                connection,
                key=delivery_key[:100],
                event_name=name,
                body=text,
                received_at=services.now(),
                event=event,
            )
    except SQLAlchemyError:
        log.exception("could not store %s delivery %s; Chatwoot will retry", name, delivery_key)
        return error(500, "storage is unavailable; the delivery was not stored")

    if stored.duplicate:
        return jsonify(status="duplicate", delivery=stored.delivery_id)
    if event is None:
        log.info("ignored unknown event %r (delivery %s stored)", name, stored.delivery_id)
        return jsonify(status="ignored", delivery=stored.delivery_id)
    enqueue_delivery(services.queue, stored.delivery_id)
    return jsonify(status="stored", delivery=stored.delivery_id)


def _decode(raw: bytes) -> tuple[str, dict[str, Any] | None, str]:
    """The body as text and as a JSON object, or a message saying why it is neither."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return "", None, "the body is not UTF-8 text"
    try:
        return text, load_body(text), ""
    except BodyError as exc:
        return text, None, str(exc)


def _count_signature_failure(services: Services, exc: SignatureError) -> None:
    """A burst of bad signatures (a rotated secret, or someone probing) notifies the
    operator once per minute. One Redis INCR; a Redis outage only skips the count."""
    now = services.now()
    key = f"wingman:signature-failures:{int(now.timestamp() // 60)}"
    try:
        count = int(services.redis.incr(key))
        services.redis.expire(key, 120)
    except (RedisError, OSError):
        return
    if count == SIGNATURE_BURST:
        body = notify.notice(
            "signature_failures", at=now, count=count, window_seconds=60, check=exc.check
        )
        notify.enqueue(services.queue, services.settings.notify_webhook_url, body)
