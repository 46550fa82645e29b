"""The one error type for the Chatwoot integration."""

from __future__ import annotations

from integration.errors import IntegrationError


class ChatwootError(IntegrationError):
    """A Chatwoot call failed: transient for connection errors, timeouts, 429 and 5xx;
    permanent for other 4xx and a malformed answer."""
