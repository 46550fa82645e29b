"""Notices to NOTIFY_WEBHOOK_URL: a small JSON body per event worth a human's attention.

Self-hosted mobile push is known to be unreliable, so this feeds Slack, Telegram or email
relays. A notice is sent from its own RQ job, retried, and never blocks a reply: failing to
enqueue one is logged and forgotten.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

import requests
from redis.exceptions import RedisError
from rq import Queue, Retry

log = logging.getLogger(__name__)

KINDS = ("draft", "reminder", "handoff", "spend_cap", "signature_failures")
# Seconds between attempts: a relay that is down for a while still gets the notice.
RETRY_INTERVALS = [5, 30, 120, 600, 1800]
TIMEOUT_SECONDS = 5


class NoticeError(Exception):
    pass


def notice(kind: str, *, at: datetime, **fields: Any) -> dict[str, Any]:
    if kind not in KINDS:
        raise ValueError(f"unknown notice kind {kind!r}; expected one of {KINDS}")
    return {"source": "wingman", "kind": kind, "at": at.isoformat(), **fields}


def enqueue(queue: Queue, url: str | None, body: dict[str, Any]) -> None:
    """Queue a notice for sending; does nothing without a URL, and never raises."""
    if not url:
        return
    try:
        queue.enqueue(
            "workers.jobs.send_notice",
            body,
            retry=Retry(max=len(RETRY_INTERVALS), interval=RETRY_INTERVALS),
        )
    except (RedisError, OSError) as exc:
        log.warning("could not queue a %s notice (%s); dropping it", body.get("kind"), exc)


def send(url: str, body: dict[str, Any], *, session: requests.Session | None = None) -> None:
    """POST one notice; raises NoticeError so RQ retries it."""
    http = session or requests
    try:
        response = http.post(url, json=body, timeout=TIMEOUT_SECONDS)
    except requests.RequestException as exc:
        raise NoticeError(f"notice to the webhook failed: {exc.__class__.__name__}") from None
    if response.status_code >= 300:
        raise NoticeError(f"notice webhook answered {response.status_code}")
