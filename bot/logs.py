"""Logging set-up shared by every process, with secrets masked as a last line of defence."""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterable


class SecretFilter(logging.Filter):
    """Replaces any configured secret that reaches a log record with ``***``."""

    def __init__(self, secrets: Iterable[str]) -> None:
        super().__init__()
        # Short values would mask innocent text; real tokens are long.
        self.secrets = [s for s in secrets if len(s) >= 6]

    def filter(self, record: logging.LogRecord) -> bool:
        if not self.secrets:
            return True
        message = record.getMessage()
        masked = message
        for secret in self.secrets:
            masked = masked.replace(secret, "***")
        if masked != message:
            record.msg, record.args = masked, None
        return True


def configure(level: str, secrets: Iterable[str] = ()) -> None:
    root = logging.getLogger()
    if not any(getattr(h, "_wingman", False) for h in root.handlers):
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        handler._wingman = True  # type: ignore[attr-defined]
        root.addHandler(handler)
    for existing in root.handlers:
        existing.filters = [f for f in existing.filters if not isinstance(f, SecretFilter)]
        existing.addFilter(SecretFilter(secrets))
    root.setLevel(level)
