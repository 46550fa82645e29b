"""``flask --app bot db upgrade``: migrate the database."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import AppGroup

from core.db import migrate
from workers.services import Services


@click.group(cls=AppGroup)
def db() -> None:
    """Database schema."""


@db.command("upgrade")
def upgrade() -> None:
    """Apply every pending migration."""
    services: Services = current_app.extensions["wingman"]
    migrate(services.engine)
    click.echo("database is at the newest migration")
