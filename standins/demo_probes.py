"""How the demo talks to the stand-ins and Wingman: JSON calls, waiting on a probe, and
``DemoFailed`` when what it waited for does not happen.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any, TypeVar
from urllib.error import HTTPError, URLError
from urllib.request import Request, urlopen

T = TypeVar("T")


class DemoFailed(Exception):
    """Something the demo waited for did not happen; the message says what."""


def bot_messages(conversation: dict[str, Any]) -> list[dict[str, Any]]:
    return [m for m in conversation["messages"] if (m["sender"] or {}).get("type") == "agent_bot"]


class Settled:
    """Probe: the bot's public replies, once one has arrived and none came for a second."""

    def __init__(self, view: str) -> None:
        self.view = view
        self.count, self.since = -1, 0.0

    def __call__(self) -> list[dict[str, Any]] | None:
        replies = [m for m in bot_messages(call("GET", self.view)) if not m["private"]]
        if len(replies) != self.count:
            self.count, self.since = len(replies), time.monotonic()
            return None
        return replies if replies and time.monotonic() - self.since >= 1.0 else None


def wait_for(what: str, probe: Callable[[], T | None], timeout: float) -> T:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = probe()
        if found:
            return found
        time.sleep(0.2)
    raise DemoFailed(f"timed out after {timeout:g} s waiting for {what}")


def call(method: str, url: str, body: dict[str, Any] | None = None, timeout: float = 5) -> Any:
    data = json.dumps(body).encode() if body is not None else None
    request = Request(url, data=data, method=method, headers={"content-type": "application/json"})
    try:
        with urlopen(request, timeout=timeout) as response:
            return json.loads(response.read() or b"null")
    except HTTPError as exc:
        with exc:
            raise DemoFailed(f"{method} {url} answered {exc.code}: {exc.read(300)!r}") from None
    except URLError as exc:
        raise DemoFailed(f"{method} {url} failed: {exc.reason}") from None
