"""``flask --app bot inbox set``: an inbox's autonomy, recorded with who set it."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import AppGroup

from core.autonomy import set_inbox_autonomy
from core.autonomy_levels import Autonomy
from core.db import session_scope
from workers.services import Services


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
