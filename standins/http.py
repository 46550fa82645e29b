"""What both stand-in servers and their request handlers share."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self


class StandinServer(ThreadingHTTPServer):
    """A threaded server that runs on its own thread: ``start()``, then ``stop()``."""

    daemon_threads = True
    name = "standin"
    quiet = True

    _thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> Self:
        self._thread = threading.Thread(
            target=self.serve_forever, kwargs={"poll_interval": 0.05}, name=self.name
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving, join the thread started by start() and close the socket."""
        if self._thread is not None:
            self.shutdown()
            self._thread.join()
            self._thread = None
        self.server_close()

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that gave up (its timeout) closes its socket mid-answer.
        if not self.quiet:
            super().handle_error(request, client_address)


class StandinHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 60
    # Headers and body go out in two writes; with Nagle on, the client's delayed ACK adds
    # 40 ms to every keep-alive call.
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: Any) -> None:
        if not getattr(self.server, "quiet", False):
            super().log_message(format, *args)
