"""Logging set-up shared by every process, with secrets masked as a last line of defence.

Masking applies to what is printed, not just to the message: a secret can also arrive in a
log call's arguments, in the text of an exception (and so in its traceback) or in a stack.
Every handler Wingman installs or finds on the root logger masks the whole record; so do
gunicorn's own handlers (``GunicornLogger``) and the process's stderr, where Python reports
an uncaught exception.
Besides the configured secrets, the password of any URL (``scheme://user:password@``) is
masked, whatever URL it is.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Iterable
from typing import Any, TextIO

from gunicorn.glogging import Logger as _GunicornBase  # type: ignore[import-untyped]

MASK = "***"
# Short values would mask innocent text; real tokens and passwords are long. A shorter URL
# password is still masked inside its URL.
MIN_SECRET_LENGTH = 6
_URL_PASSWORD = re.compile(
    # The password may hold an unencoded "@"; the last "@" before the host ends it.
    r"(?P<head>\b[A-Za-z][A-Za-z0-9+.-]*://[^\s:/?#@]*:)[^\s/?#]*@"
)


class Masker:
    """Replaces each secret, and the password of every URL, with ``***``."""

    def __init__(self, secrets: Iterable[str]) -> None:
        # Longest first, so a secret that contains another is masked whole.
        wanted = {s for s in secrets if isinstance(s, str) and len(s) >= MIN_SECRET_LENGTH}
        self.secrets = sorted(wanted, key=len, reverse=True)

    def __call__(self, text: str) -> str:
        for secret in self.secrets:  # first: a secret may be a whole URL with a password
            text = text.replace(secret, MASK)
        return mask_url_passwords(text)


def mask_url_passwords(text: str) -> str:
    """``postgresql://user:pw@host/db`` becomes ``postgresql://user:***@host/db``."""
    return _URL_PASSWORD.sub(rf"\g<head>{MASK}@", text)


_PLAIN = logging.Formatter()


class SecretFilter(logging.Filter):
    """Masks a record before any handler formats it: the message with its arguments, the
    exception's text and traceback, and the stack.

    The record is shared by every handler, so the masked text is what all of them see.
    """

    def __init__(self, secrets: Iterable[str] | Masker) -> None:
        super().__init__()
        self.mask = secrets if isinstance(secrets, Masker) else Masker(secrets)

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a bad format string must not bypass the mask
            message = f"{record.msg} (arguments {record.args!r})"
        masked = self.mask(message)
        if masked != message or not isinstance(record.msg, str):
            record.msg, record.args = masked, None
        if record.exc_info and not record.exc_text:
            # Formatters print exc_text when set, instead of formatting exc_info again.
            record.exc_text = _PLAIN.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.mask(record.exc_text)
        if record.stack_info:
            record.stack_info = self.mask(record.stack_info)
        return True


class MaskingFormatter(logging.Formatter):
    """A handler's formatter, with its output masked: what the filter cannot see (a field
    a format string adds) is masked too."""

    def __init__(self, inner: logging.Formatter | None, mask: Masker) -> None:
        super().__init__()
        self.inner = inner or _PLAIN
        self.mask = mask

    def format(self, record: logging.LogRecord) -> str:
        return self.mask(self.inner.format(record))


def guard(handler: logging.Handler, mask: Masker) -> None:
    """Make ``handler`` mask ``mask``'s secrets in everything it writes (idempotent)."""
    handler.filters = [f for f in handler.filters if not isinstance(f, SecretFilter)]
    handler.addFilter(SecretFilter(mask))
    inner = handler.formatter
    if isinstance(inner, MaskingFormatter):
        inner = inner.inner
    handler.setFormatter(MaskingFormatter(inner, mask))


def configure(level: str, secrets: Iterable[str] = ()) -> None:
    """Wingman's handler on the root logger (once), every root handler guarded, and the
    process's stderr masked."""
    mask = Masker(secrets)
    root = logging.getLogger()
    if not any(getattr(h, "_wingman", False) for h in root.handlers):
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        handler._wingman = True  # type: ignore[attr-defined]
        root.addHandler(handler)
    # rq adds no handler of its own when the root has one, so its lines come through here.
    for existing in root.handlers:
        guard(existing, mask)
    root.setLevel(level)
    mask_stderr(mask)


class MaskedStream:
    """A text stream that masks what is written through it.

    For what reaches stderr past logging: Python's report of an uncaught exception (in the
    main thread or another), and gunicorn's ``print`` of the error that killed a worker.
    """

    def __init__(self, stream: TextIO, mask: Masker) -> None:
        self.stream = stream
        self.mask = mask

    def write(self, text: str) -> int:
        self.stream.write(self.mask(text))
        return len(text)

    def writelines(self, lines: Iterable[str]) -> None:
        for line in lines:
            self.write(line)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.stream, name)


def mask_stderr(mask: Masker) -> None:
    """Mask the process's own stderr. Not stdout: an export writes customers' text there,
    which must stay as it is. A test runner's captured stderr is left alone."""
    if isinstance(sys.stderr, MaskedStream):
        sys.stderr.mask = mask
    elif sys.stderr is not None and sys.stderr is sys.__stderr__:
        sys.stderr = MaskedStream(sys.__stderr__, mask)


class GunicornLogger(_GunicornBase):  # type: ignore[misc]  # gunicorn ships no types
    """gunicorn's logger (``--logger-class core.logs.GunicornLogger``), masking like ours.

    gunicorn's error and access logs have handlers of their own and don't propagate to the
    root logger, so the root's guard never sees them; an app that fails to load is reported
    through them with its traceback.
    """

    def setup(self, cfg: Any) -> None:
        super().setup(cfg)
        from core.settings import Settings  # here: settings imports this module

        mask = Masker(Settings.load().secrets())
        for log in (self.error_log, self.access_log):
            for handler in log.handlers:
                guard(handler, mask)
        mask_stderr(mask)
