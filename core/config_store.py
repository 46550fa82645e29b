"""The per-inbox config while Wingman runs: re-read when wingman.toml changes on disk."""

from __future__ import annotations

import logging
import os
import threading
from pathlib import Path

from core.autonomy_levels import Autonomy
from core.config import InboxConfig, WingmanConfig
from core.config_file import load_config
from core.settings import Settings
from core.tomlfile import ConfigError

log = logging.getLogger(__name__)


class ConfigStore:
    """The current config, re-read whenever the file changes so edits need no restart.

    The first load raises ConfigError. After that a bad edit is logged at ERROR and the last
    good config stays in force: a running bot must not die from a typo.
    """

    def __init__(
        self, path: str | os.PathLike[str], default_autonomy: Autonomy, *, required: bool
    ) -> None:
        self.path = Path(path)
        self.default_autonomy = default_autonomy
        self.required = required
        self._lock = threading.Lock()
        self._stamp = _stamp(self.path)
        self._config = self._load(self._stamp)
        if self._stamp is None:
            log.info(
                "%s not found; every inbox uses the defaults (autonomy %s)",
                self.path,
                default_autonomy,
            )
        else:
            log.info("loaded %s (%d inboxes)", self.path, len(self._config.inboxes))

    @classmethod
    def from_settings(cls, settings: Settings) -> ConfigStore:
        return cls(
            settings.wingman_config,
            settings.default_autonomy,
            required=settings.wingman_config_explicit,
        )

    def current(self) -> WingmanConfig:
        with self._lock:
            self._reload_if_changed()
            return self._config

    def inbox(self, inbox_id: int) -> InboxConfig:
        return self.current().inbox(inbox_id)

    def _reload_if_changed(self) -> None:
        stamp = _stamp(self.path)
        if stamp == self._stamp:
            return
        # Remember the stamp even if loading fails, so one bad edit is logged once.
        self._stamp = stamp
        try:
            self._config = self._load(stamp)
        except ConfigError as exc:
            log.error("%s\n(still using the last valid configuration)", exc)
            return
        if stamp is None:
            log.warning("%s was removed; every inbox now uses the defaults", self.path)
        else:
            log.info("reloaded %s (%d inboxes)", self.path, len(self._config.inboxes))

    def _load(self, stamp: _Stamp) -> WingmanConfig:
        if isinstance(stamp, str):
            raise ConfigError(self.path, [stamp])
        if stamp is not None:
            return load_config(self.path, self.default_autonomy)
        if self.required:
            raise ConfigError(self.path, ["file not found (WINGMAN_CONFIG names it)"])
        return WingmanConfig(default_autonomy=self.default_autonomy)


# One version of the file: (mtime, size, inode); None if there is no file; the problem if it
# can't be examined. The inode catches a file replaced by rename with its mtime kept (cp -p,
# Kubernetes ConfigMap symlink swaps); size catches edits within the mtime granularity.
_Stamp = tuple[int, int, int] | str | None


def _stamp(path: Path) -> _Stamp:
    try:
        st = path.stat()
    except FileNotFoundError:
        return None
    except OSError as exc:
        return f"cannot read the file ({exc.strerror})"
    return (st.st_mtime_ns, st.st_size, st.st_ino)
