"""The Chatwoot stand-in's HTTP handler: a request goes to a test control or, with a token,
to a REST route, unless a scripted failure answers instead.
"""

from __future__ import annotations

import json
import re
import time
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

from standins.chatwoot_api import REST_ROUTES, Call, Result, Route
from standins.chatwoot_controls import CONTROL_ROUTES
from standins.chatwoot_records import StandinError
from standins.http import StandinHandler

if TYPE_CHECKING:
    from standins.chatwoot import ChatwootStandin

BANNER = "Chatwoot stand-in (NOT a real Chatwoot): one in-memory account, local webhooks"
_ACCOUNT_PATH = re.compile(r"^/api/v1/accounts/(\d+)(/.*)$")


class ChatwootHandler(StandinHandler):
    server: ChatwootStandin

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def _dispatch(self, method: str) -> None:
        parts = urlsplit(self.path)
        path = parts.path.rstrip("/") or "/"
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        body = self._read_json()
        if body is None:
            self._send(400, {"error": "the request body must be a JSON object"})
            return
        call = Call(self.server, method, path, query, body, "control", None)
        try:
            if path == "/" or path.startswith("/_standin"):
                self._send(*self._control(call))
            else:
                self._rest(call)
        except StandinError as exc:
            self._send(exc.status, {"error": str(exc)})

    def _control(self, call: Call) -> Result:
        if call.path == "/":
            return 200, {"standin": "chatwoot", "banner": BANNER, "account_id": call.account.id}
        for method, pattern, route in CONTROL_ROUTES:
            match = pattern.match(call.path)
            if match and method == call.method:
                call.conversation_id = int(match.group(1)) if match.groups() else None
                return route(call)
        raise StandinError(404, f"no such endpoint: {call.method} {call.path}")

    def _rest(self, call: Call) -> None:
        match = _ACCOUNT_PATH.match(call.path)
        if match is None:
            raise StandinError(404, f"no such endpoint: {call.method} {call.path}")
        who = self.server.tokens.get(self.headers.get("api_access_token") or "")
        if who is None:
            raise StandinError(401, "Invalid Access Token")
        if int(match.group(1)) != call.account.id:
            raise StandinError(401, "You are not authorized to access this account")
        found = _rest_route(call.method, match.group(2))
        if found is None:
            raise StandinError(404, f"no such endpoint: {call.method} {call.path}")
        route, bots, ids = found
        # BOT_ACCESSIBLE_ENDPOINTS: a bot token may not list conversations or messages.
        if who == "bot" and not bots:
            raise StandinError(401, "Access to this endpoint is not authorized for bots")
        call.who = who
        call.conversation_id = int(ids.group(1)) if ids.groups() else None
        failure = self.server.take_failure(call.method, call.path)
        if failure is not None and failure.apply:
            route(call)
        if failure is not None and failure.drop:
            self.close_connection = True  # no answer at all: the client sees a dropped line
            return
        if failure is not None:
            time.sleep(failure.delay)
            self._send(failure.status, {"error": "scripted failure (Chatwoot stand-in)"})
            return
        self._send(*route(call))

    def _read_json(self) -> dict[str, Any] | None:
        length = int(self.headers.get("content-length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            data = json.loads(raw) if raw.strip() else {}
        except ValueError:
            return None
        return data if isinstance(data, dict) else None

    def _send(self, status: int, body: object) -> None:
        data = b"" if body is None else json.dumps(body).encode()
        try:
            self.send_response(status)
            self.send_header("content-type", "application/json; charset=utf-8")
            self.send_header("content-length", str(len(data)))
            self.send_header("x-wingman-standin", "chatwoot")
            self.end_headers()
            self.wfile.write(data)
        except OSError:
            pass  # the client gave up waiting (a scripted delay past its timeout)


def _rest_route(method: str, path: str) -> tuple[Route, bool, re.Match[str]] | None:
    for route_method, pattern, route, bots in REST_ROUTES:
        found = pattern.match(path)
        if found and route_method == method:
            return route, bots, found
    return None
