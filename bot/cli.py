"""Flask CLI commands: ``flask --app bot <command>``."""

from __future__ import annotations

import click
from flask import Flask, current_app

from bot.db import migrate
from bot.services import Services


def register(app: Flask) -> None:
    app.cli.add_command(db)


@click.group()
def db() -> None:
    """Database schema."""


@db.command("upgrade")
def upgrade() -> None:
    """Apply every pending migration."""
    services: Services = current_app.extensions["wingman"]
    migrate(services.engine)
    click.echo("database is at the newest migration")
