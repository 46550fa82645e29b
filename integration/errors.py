"""One error base for calls to outside services, marked transient or permanent.

``transient`` failures (connection errors, timeouts, overload, rate limits, 5xx) are worth
retrying later; permanent ones (a rejected request, a malformed answer) are not, and the
caller hands the conversation to a human instead.
"""

from __future__ import annotations


class IntegrationError(Exception):
    """A call to an outside service failed; ``status`` is its HTTP status, if it answered."""

    def __init__(self, message: str, *, transient: bool, status: int | None = None) -> None:
        super().__init__(message)
        self.transient = transient
        self.status = status
