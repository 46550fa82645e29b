"""Wingman's Flask app: ``create_app`` is the factory gunicorn and the CLI load."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Flask

from core import logs
from core.settings import Settings
from workers.services import Services

MAX_BODY_BYTES = 1024 * 1024


def create_app(test_config: Mapping[str, Any] | None = None) -> Flask:
    """Build the app from Settings.

    ``test_config`` may hold ``settings`` (a Settings) and prebuilt collaborators
    (``engine``, ``redis``, ``now``, ``config``); without it, settings come from ``.env``
    and the environment.
    """
    # Imported here, as Flask's tutorial does: importing bot's modules (a test importing
    # bot.commands.export) doesn't build routes or load the CLI.
    from bot import cli, errors, health, webhook

    test_config = test_config or {}
    settings: Settings = test_config.get("settings") or Settings.load()
    logs.configure(settings.log_level, settings.secrets())

    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = MAX_BODY_BYTES
    app.extensions["wingman"] = Services.build(
        settings,
        engine=test_config.get("engine"),
        redis=test_config.get("redis"),
        now=test_config.get("now"),
        config=test_config.get("config"),
    )
    errors.register(app)
    app.register_blueprint(webhook.blueprint)
    app.register_blueprint(health.blueprint)
    cli.register(app)
    return app
