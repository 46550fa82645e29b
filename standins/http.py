"""What both stand-in servers' request handlers share."""

from __future__ import annotations

from http.server import BaseHTTPRequestHandler
from typing import Any


class StandinHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 60
    # Headers and body go out in two writes; with Nagle on, the client's delayed ACK adds
    # 40 ms to every keep-alive call.
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: Any) -> None:
        if not getattr(self.server, "quiet", False):
            super().log_message(format, *args)
