"""Webhook deliveries from the Chatwoot stand-in to the agent bot, as Chatwoot sends them.

Chatwoot builds the payload in the request that changed something and POSTs it later from
Sidekiq (``AgentBots::WebhookJob``), so a bot's own echo can arrive before its POST has
returned. Here one background thread sends them in order. As in Chatwoot 4.15.1
(CONTRACT.md §2): compact JSON with Rails' HTML-entity escaping, a delivery id reused on
retries, a fresh timestamp and signature on every attempt when a secret is set, and only
429 and 500 retried (3 attempts, 3 s apart).
"""

from __future__ import annotations

import heapq
import itertools
import json
import logging
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.error import HTTPError
from urllib.request import Request, urlopen

from chatwoot.signature import sign

log = logging.getLogger("standins.chatwoot")

RETRIED = (429, 500)
ATTEMPTS = 3
RETRY_WAIT = 3.0
TIMEOUT = 5.0  # Chatwoot's default WEBHOOK_TIMEOUT
KEPT = 1000  # delivery records kept for /_standin/deliveries


def rails_json(payload: dict[str, Any]) -> bytes:
    """``payload.to_json``: compact, raw UTF-8, with ``<``, ``>`` and ``&`` escaped.

    Those characters only ever occur inside JSON strings, so replacing them is safe.
    """
    text = json.dumps(payload, ensure_ascii=False, separators=(",", ":"))
    for char, escaped in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026")):
        text = text.replace(char, escaped)
    return text.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029").encode()


@dataclass
class Delivery:
    id: str  # X-Chatwoot-Delivery
    event: str
    body: bytes
    conversation_id: int | None
    message_id: int | None
    attempts: int = 0
    state: str = "queued"  # queued | retrying | delivered | failed | skipped | held
    status: int | None = None
    error: str | None = None

    def record(self) -> dict[str, Any]:
        return {
            "delivery": self.id,
            "event": self.event,
            "conversation_id": self.conversation_id,
            "message_id": self.message_id,
            "attempts": self.attempts,
            "state": self.state,
            "status": self.status,
            "error": self.error,
        }


class Deliverer:
    """Sends queued webhook bodies to one agent-bot URL from a background thread."""

    def __init__(
        self,
        url: str | None,
        secret: str | None,
        *,
        timeout: float = TIMEOUT,
        retry_wait: float = RETRY_WAIT,
        clock: Callable[[], float] = time.time,
        hold: bool = False,
    ) -> None:
        self.url, self.secret = url, secret
        self.clock, self.hold = clock, hold
        self._held: list[Delivery] = []
        self.timeout, self.retry_wait = timeout, retry_wait
        self._ready = threading.Condition()
        self._queue: list[tuple[float, int, Delivery]] = []
        self._order = itertools.count()
        self._busy = 0
        self._records: list[Delivery] = []
        self._stopping = False
        self._thread: threading.Thread | None = None

    def enqueue(
        self, payload: dict[str, Any], *, conversation_id: int, message_id: int | None
    ) -> Delivery:
        """Queue one body; it is encoded now, as Chatwoot builds it in the request."""
        delivery = Delivery(
            id=str(uuid.uuid4()),
            event=str(payload["event"]),
            body=rails_json(payload),
            conversation_id=conversation_id,
            message_id=message_id,
        )
        with self._ready:
            self._records = [*self._records[-(KEPT - 1) :], delivery]
            if self.hold:
                delivery.state = "held"
                self._held.append(delivery)
                return delivery
            if self.url is None:
                delivery.state = "skipped"
                return delivery
            heapq.heappush(self._queue, (time.monotonic(), next(self._order), delivery))
            self._ready.notify()
        return delivery

    def take(self) -> list[Delivery]:
        """Hand over the held deliveries, oldest first (``hold=True``)."""
        with self._ready:
            taken, self._held = self._held, []
        return taken

    def headers(self, delivery: Delivery) -> dict[str, str]:
        """The headers Chatwoot sends with one attempt: signed now, when a secret is set."""
        headers = {
            "Content-Type": "application/json",
            "Accept": "application/json",
            "X-Chatwoot-Delivery": delivery.id,
            "x-wingman-standin": "chatwoot",
        }
        if self.secret:
            timestamp = str(int(self.clock()))
            headers["X-Chatwoot-Timestamp"] = timestamp
            headers["X-Chatwoot-Signature"] = sign(self.secret, timestamp, delivery.body)
        return headers

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="chatwoot-webhooks", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop sending; deliveries still queued are dropped."""
        with self._ready:
            self._stopping = True
            self._ready.notify_all()
        if self._thread is not None:
            self._thread.join()
            self._thread = None

    def reset(self) -> None:
        with self._ready:
            self._queue.clear()
            self._records.clear()
            self._held.clear()

    def records(self) -> list[dict[str, Any]]:
        with self._ready:
            return [delivery.record() for delivery in self._records]

    def wait_idle(self, timeout: float) -> bool:
        """Wait until nothing is queued or being sent (retries included)."""
        deadline = time.monotonic() + timeout
        with self._ready:
            while self._queue or self._busy:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._ready.wait(min(left, 0.05))
        return True

    def _run(self) -> None:
        while True:
            with self._ready:
                while not self._stopping and (
                    not self._queue or self._queue[0][0] > time.monotonic()
                ):
                    wait = self._queue[0][0] - time.monotonic() if self._queue else None
                    self._ready.wait(wait)
                if self._stopping:
                    return
                _, _, delivery = heapq.heappop(self._queue)
                self._busy += 1
            try:
                retry = self._attempt(delivery)
            finally:
                with self._ready:
                    self._busy -= 1
                    if retry:
                        due = time.monotonic() + self.retry_wait
                        heapq.heappush(self._queue, (due, next(self._order), delivery))
                    self._ready.notify_all()

    def _attempt(self, delivery: Delivery) -> bool:
        """POST once; True if Chatwoot would try this delivery again."""
        assert self.url is not None
        delivery.attempts += 1
        headers = self.headers(delivery)
        request = Request(self.url, data=delivery.body, headers=headers, method="POST")
        try:
            with urlopen(request, timeout=self.timeout) as response:
                delivery.status, delivery.state, delivery.error = response.status, "delivered", None
                return False
        except HTTPError as exc:
            with exc:
                delivery.status, delivery.error = exc.code, exc.read(300).decode(errors="replace")
        except OSError as exc:  # refused, reset, timed out: Chatwoot never retries these
            delivery.status, delivery.error = None, f"{exc.__class__.__name__}: {exc}"
        retry = delivery.status in RETRIED and delivery.attempts < ATTEMPTS
        delivery.state = "retrying" if retry else "failed"
        log.warning(
            "webhook %s %s (attempt %d) to %s failed: %s%s",
            delivery.event,
            delivery.id,
            delivery.attempts,
            self.url,
            delivery.status or delivery.error,
            f"; retrying in {self.retry_wait:g}s" if retry else "",
        )
        return retry
