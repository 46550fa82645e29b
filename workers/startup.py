"""The start of every Wingman process: settings, or a clear message and exit status 2."""

from __future__ import annotations

import sys

from core import logs
from core.config_store import ConfigStore
from core.settings import Settings, SettingsError
from core.tomlfile import ConfigError
from experiments import arms


def settings_or_exit(program: str) -> Settings:
    """Load and check settings, the per-inbox config and the experiments file, then set up
    logging.

    A bad value ends the process with status 2 and a line naming the variable or key,
    before anything has started.
    """
    try:
        settings = Settings.load()
        ConfigStore.from_settings(settings)
        arms.load_file()  # the experiments file too: a typo stops start-up, not a reply
    except (SettingsError, ConfigError) as exc:
        print(f"{program}: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    logs.configure(settings.log_level, settings.secrets())
    return settings
