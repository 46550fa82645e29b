"""The one error type for the Chatwoot integration."""

from __future__ import annotations


class ChatwootError(Exception):
    """A Chatwoot call failed.

    ``transient`` failures (connection errors, timeouts, 429, 5xx) are worth retrying;
    permanent ones (4xx, a malformed answer) are not, and the caller hands off instead.
    """

    def __init__(self, message: str, *, transient: bool, status: int | None = None) -> None:
        super().__init__(message)
        self.transient = transient
        self.status = status
