"""Verify Chatwoot's webhook signature (agent bots sign since Chatwoot 4.13).

Chatwoot signs ``"<X-Chatwoot-Timestamp>.<raw body>"`` with HMAC-SHA256 keyed by the bot's
secret and sends ``sha256=<hex>``. It has no replay protection of its own, so the
timestamp skew is checked here.
"""

from __future__ import annotations

import hashlib
import hmac


class SignatureError(Exception):
    """A delivery failed one check; ``check`` names which, for the 401 body and the log."""

    def __init__(self, check: str, message: str) -> None:
        super().__init__(message)
        self.check = check


def sign(secret: str, timestamp: str, body: bytes) -> str:
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + digest.hexdigest()


def verify(
    secret: str,
    *,
    timestamp: str | None,
    signature: str | None,
    body: bytes,
    now: float,
    max_skew: float,
) -> None:
    """Raise SignatureError unless the delivery is signed with ``secret`` and fresh."""
    if not signature:
        raise SignatureError("signature", "X-Chatwoot-Signature header is missing")
    if not timestamp:
        raise SignatureError("timestamp", "X-Chatwoot-Timestamp header is missing")
    try:
        sent_at = int(timestamp)
    except ValueError:
        raise SignatureError("timestamp", "X-Chatwoot-Timestamp is not unix seconds") from None
    if not hmac.compare_digest(signature.encode(), sign(secret, timestamp, body).encode()):
        raise SignatureError("signature", "X-Chatwoot-Signature does not match the body")
    if abs(now - sent_at) > max_skew:
        raise SignatureError(
            "timestamp",
            f"X-Chatwoot-Timestamp is {now - sent_at:+.0f} s away from now "
            f"(allowed ±{max_skew:.0f} s)",
        )
