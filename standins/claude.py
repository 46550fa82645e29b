"""A local stand-in for Claude's Messages API, for integration tests and `make demo`.

It is NOT Claude: it answers deterministically from the last user message, applies
Anthropic's prompt-caching rules with estimated token counts (``standins.caching``), and
labels every response with ``x-wingman-standin: claude``.

    python -m standins.claude --port 8787

It thinks the way the 5.5 models do (``standins.claude_thinking``): a thinking block
first, counted in ``max_tokens`` and in ``usage.output_tokens_details``, and a response
that reaches ``max_tokens`` is cut short with ``stop_reason: "max_tokens"``.

Test controls: ``POST /_standin/advance {"seconds": N}`` moves its clock,
``POST /_standin/reset`` forgets the cache, clock and scripts,
``POST /_standin/fail {"status": 529, "times": 2, "delay": 0, "retry_after": null}`` makes
the next calls fail (or, without ``status``, just answer slowly), and
``POST /_standin/think {"tokens": 3000, "times": 1, "redacted": false}`` makes the next
answers think that many tokens first, whatever the request asked (a long think, cut short
when it leaves too little of ``max_tokens`` for the text).
"""

from __future__ import annotations

import argparse
import json
import threading
import time
from collections import deque
from dataclasses import dataclass
from typing import Any

from standins.caching import PromptCache, prompt_blocks
from standins.claude_answers import ERROR_TYPES, answer, validate
from standins.claude_thinking import generate, planned_thinking
from standins.http import StandinHandler, StandinServer

BANNER = "Claude stand-in (NOT the real Claude API): deterministic answers, estimated tokens"


@dataclass(frozen=True)
class Scripted:
    status: int | None
    delay: float
    retry_after: float | None


@dataclass(frozen=True)
class Thought:
    tokens: int
    redacted: bool


class StandinState:
    """Everything a test can move or script, behind one lock (the server is threaded)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.cache = PromptCache()
        self.offset = 0.0
        self.script: deque[Scripted] = deque()
        self.thoughts: deque[Thought] = deque()
        self.calls = 0

    def now(self) -> float:
        return time.monotonic() + self.offset

    def reset(self) -> None:
        with self.lock:
            self.cache.clear()
            self.offset = 0.0
            self.script.clear()
            self.thoughts.clear()
            self.calls = 0


class ClaudeStandin(StandinServer):
    name = "claude-standin"

    def __init__(self, host: str, port: int, *, quiet: bool = True) -> None:
        self.state = StandinState()
        self.quiet = quiet
        super().__init__((host, port), _Handler)


def serve(port: int = 0, host: str = "127.0.0.1", *, quiet: bool = True) -> ClaudeStandin:
    """Start a stand-in on a thread; port 0 picks a free one. Call ``stop()`` when done."""
    return ClaudeStandin(host, port, quiet=quiet).start()


class _Handler(StandinHandler):
    server: ClaudeStandin

    def do_POST(self) -> None:
        body = self._read_json()
        routes = {
            "/v1/messages": self._messages,
            "/_standin/advance": self._advance,
            "/_standin/reset": self._reset,
            "/_standin/fail": self._fail,
            "/_standin/think": self._think,
        }
        route = routes.get(self.path.split("?", 1)[0])
        if route is None:
            self._error(404, f"no such endpoint: POST {self.path}")
        elif not isinstance(body, dict):
            self._error(400, "the request body must be a JSON object")
        else:
            route(body)

    def do_GET(self) -> None:
        if self.path == "/":
            self._send(200, {"standin": "claude", "banner": BANNER})
        else:
            self._error(404, f"no such endpoint: GET {self.path}")

    def _messages(self, body: dict[str, Any]) -> None:
        state = self.server.state
        with state.lock:
            state.calls += 1
            number = state.calls
            scripted = state.script.popleft() if state.script else None
        request_id = f"req_standin_{number:06d}"
        if scripted is not None:
            time.sleep(scripted.delay)
            if scripted.status is not None:
                headers = {}
                if scripted.retry_after is not None:
                    headers["retry-after"] = f"{scripted.retry_after:g}"
                self._error(scripted.status, "scripted failure", request_id, headers)
                return
        if not (self.headers.get("x-api-key") or self.headers.get("authorization")):
            self._error(401, "no API key: send x-api-key or Authorization", request_id)
            return
        problem = validate(body)
        if problem is not None:
            self._error(400, problem, request_id)
            return
        model = body["model"]
        with state.lock:
            usage = state.cache.apply(model, prompt_blocks(body), state.now())
            thought = state.thoughts.popleft() if state.thoughts else None
        output = generate(
            body,
            answer(body),
            thinking=thought.tokens if thought else planned_thinking(body),
            redacted=thought.redacted if thought else False,
        )
        self._send(
            200,
            {
                "id": f"msg_standin_{number:06d}",
                "type": "message",
                "role": "assistant",
                "model": model,
                "content": output.content,
                "stop_reason": output.stop_reason,
                "stop_sequence": None,
                "usage": {
                    "input_tokens": usage.input_tokens,
                    "output_tokens": output.output_tokens,
                    "output_tokens_details": {"thinking_tokens": output.thinking_tokens},
                    "cache_read_input_tokens": usage.cache_read_input_tokens,
                    "cache_creation_input_tokens": usage.cache_creation_input_tokens,
                    "cache_creation": {
                        "ephemeral_5m_input_tokens": usage.cache_write_5m_tokens,
                        "ephemeral_1h_input_tokens": usage.cache_write_1h_tokens,
                    },
                },
            },
            {"request-id": request_id},
        )

    def _advance(self, body: dict[str, Any]) -> None:
        seconds = body.get("seconds")
        if not isinstance(seconds, int | float) or isinstance(seconds, bool) or seconds < 0:
            self._error(400, "seconds must be a non-negative number")
            return
        state = self.server.state
        with state.lock:
            state.offset += seconds
        self._send(200, {"advanced": seconds})

    def _reset(self, body: dict[str, Any]) -> None:
        self.server.state.reset()
        self._send(200, {"reset": True})

    def _fail(self, body: dict[str, Any]) -> None:
        status, times = body.get("status"), body.get("times", 1)
        delay, retry_after = body.get("delay", 0), body.get("retry_after")
        if status is not None and not (isinstance(status, int) and 400 <= status <= 599):
            self._error(400, "status must be an HTTP error status (400-599)")
        elif not isinstance(times, int) or times < 1:
            self._error(400, "times must be a positive whole number")
        elif not isinstance(delay, int | float) or delay < 0:
            self._error(400, "delay must be a non-negative number of seconds")
        elif retry_after is not None and not isinstance(retry_after, int | float):
            self._error(400, "retry_after must be a number of seconds")
        else:
            state = self.server.state
            with state.lock:
                state.script.extend([Scripted(status, float(delay), retry_after)] * times)
            self._send(200, {"scripted": times})

    def _think(self, body: dict[str, Any]) -> None:
        tokens, times, redacted = body.get("tokens"), body.get("times", 1), body.get("redacted")
        if not isinstance(tokens, int) or isinstance(tokens, bool) or tokens < 1:
            self._error(400, "tokens must be a positive whole number")
        elif not isinstance(times, int) or times < 1:
            self._error(400, "times must be a positive whole number")
        elif redacted is not None and not isinstance(redacted, bool):
            self._error(400, "redacted must be true or false")
        else:
            state = self.server.state
            with state.lock:
                state.thoughts.extend([Thought(tokens, bool(redacted))] * times)
            self._send(200, {"scripted": times})

    def _read_json(self) -> object:
        length = int(self.headers.get("content-length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            return json.loads(raw) if raw else {}
        except ValueError:
            return None

    def _error(
        self,
        status: int,
        message: str,
        request_id: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        """An Anthropic-style error body: {"type": "error", "error": {type, message}}."""
        body = {
            "type": "error",
            "error": {"type": ERROR_TYPES.get(status, "api_error"), "message": message},
            "request_id": request_id,
        }
        extra = dict(headers or {})
        if request_id is not None:
            extra["request-id"] = request_id
        self._send(status, body, extra)

    def _send(self, status: int, body: object, headers: dict[str, str] | None = None) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.send_header("x-wingman-standin", "claude")
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=BANNER)
    parser.add_argument("--port", type=int, default=8787)
    parser.add_argument("--host", default="127.0.0.1")
    args = parser.parse_args(argv)
    server = ClaudeStandin(args.host, args.port, quiet=False)
    print(BANNER, flush=True)
    print(f"Listening on {server.url} (set ANTHROPIC_BASE_URL to this)", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
