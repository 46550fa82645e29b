"""Flask CLI commands: ``flask --app bot <command>``."""

from __future__ import annotations

import click
from flask import Flask, current_app
from flask.cli import AppGroup

from bot.autonomy import set_inbox_autonomy
from bot.db import migrate, session_scope
from bot.services import Services
from bot.settings import Autonomy
from experiments import arms


def register(app: Flask) -> None:
    app.cli.add_command(db)
    app.cli.add_command(inbox)
    app.cli.add_command(experiments_group)


@click.group(cls=AppGroup)
def db() -> None:
    """Database schema."""


@db.command("upgrade")
def upgrade() -> None:
    """Apply every pending migration."""
    services: Services = current_app.extensions["wingman"]
    migrate(services.engine)
    click.echo("database is at the newest migration")


@click.group(cls=AppGroup)
def inbox() -> None:
    """Per-inbox runtime switches."""


@inbox.command("set")
@click.argument("inbox_id", type=click.IntRange(min=1))
@click.argument("autonomy", type=click.Choice([a.value for a in Autonomy]))
@click.option("--actor", required=True, help="Who is making the change (recorded).")
def set_autonomy(inbox_id: int, autonomy: str, actor: str) -> None:
    """Set an inbox's autonomy: off, draft or autopilot."""
    services: Services = current_app.extensions["wingman"]
    if not actor.strip():
        raise click.BadParameter("must name who is making the change", param_hint="--actor")
    with session_scope(services.engine) as session:
        before = set_inbox_autonomy(
            session,
            inbox_id,
            Autonomy(autonomy),
            actor=actor,
            now=services.now(),
            config=services.config,
        )
    click.echo(f"inbox {inbox_id}: {before.value} → {autonomy} (by {actor})")


@click.group("experiments", cls=AppGroup)
def experiments_group() -> None:
    """Experiments and their arms (experiments/experiments.toml)."""


@experiments_group.command("sync")
def sync_experiments() -> None:
    """Load the experiments file: a changed arm becomes a new version, back in draft."""
    services: Services = current_app.extensions["wingman"]
    try:
        specs = arms.load_file()
    except arms.ExperimentFileError as exc:
        raise click.ClickException(str(exc)) from None
    with session_scope(services.engine) as session:
        created = arms.sync(session, specs, now=services.now())
    for arm in created:
        click.echo(f"new arm version: {arm.experiment}/{arm.key} v{arm.version} (draft)")
    click.echo(f"{len(specs)} experiment(s) in sync")
