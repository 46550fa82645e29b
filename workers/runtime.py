"""The worker process's collaborators, built once from Settings on first use."""

from __future__ import annotations

from functools import cache

from bot import logs
from bot.services import Services
from bot.settings import Settings


@cache
def services() -> Services:
    settings = Settings.load()
    logs.configure(settings.log_level, settings.secrets())
    return Services.build(settings)
