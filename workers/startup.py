"""The start of every Wingman process: settings, or a clear message and exit status 2."""

from __future__ import annotations

import sys

from bot import logs
from bot.config import ConfigError, ConfigStore
from bot.settings import Settings, SettingsError


def settings_or_exit(program: str) -> Settings:
    """Load and check settings and the per-inbox config, then set up logging.

    A bad value ends the process with status 2 and a line naming the variable or key,
    before anything has started.
    """
    try:
        settings = Settings.load()
        ConfigStore.from_settings(settings)
    except (SettingsError, ConfigError) as exc:
        print(f"{program}: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    logs.configure(settings.log_level, settings.secrets())
    return settings
