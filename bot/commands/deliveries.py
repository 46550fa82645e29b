"""``flask --app bot deliveries parked|retry|drop``: settling parked deliveries."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import AppGroup
from sqlmodel import Session

from core.db import session_scope
from workers import parking
from workers.dispatch import enqueue_delivery
from workers.services import Services


@click.group("deliveries", cls=AppGroup)
def deliveries_group() -> None:
    """Webhook deliveries parked after failing DELIVERY_MAX_ATTEMPTS times."""


@deliveries_group.command("parked")
def list_parked() -> None:
    """List parked deliveries: id, event, when received, attempts and the last error."""
    services: Services = current_app.extensions["wingman"]
    with Session(services.engine) as session:
        rows = parking.parked(session)
    if not rows:
        click.echo("no parked deliveries")
        return
    for row in rows:
        where = f"conversation {row.conversation_display_id}" if row.conversation_display_id else ""
        click.echo(
            f"{row.id}\t{row.event}\treceived {row.received_at:%Y-%m-%d %H:%M:%S}Z\t"
            f"{row.attempts} attempts\t{where}\t{row.last_error}"
        )
    click.echo(
        f"{len(rows)} parked; after fixing the cause: flask --app bot deliveries retry ID, "
        "or give one up: flask --app bot deliveries drop ID"
    )


@deliveries_group.command("retry")
@click.argument("delivery_id", type=click.IntRange(min=1))
def retry_parked(delivery_id: int) -> None:
    """Run a parked delivery again, with a fresh set of attempts."""
    services: Services = current_app.extensions["wingman"]
    try:
        with session_scope(services.engine) as session:
            parking.unpark(session, delivery_id)
    except parking.NotParked as exc:
        raise click.ClickException(str(exc)) from None
    if enqueue_delivery(services.queue, delivery_id):
        click.echo(f"delivery {delivery_id} is queued again")
    else:
        click.echo(
            f"delivery {delivery_id} is unparked, but Redis is unreachable: the delivery "
            "sweeper will queue it once Redis is back"
        )


@deliveries_group.command("drop")
@click.argument("delivery_id", type=click.IntRange(min=1))
def drop_parked(delivery_id: int) -> None:
    """Give up on a parked delivery: it is never run, and is pruned with the rest."""
    services: Services = current_app.extensions["wingman"]
    try:
        with session_scope(services.engine) as session:
            parking.drop(session, delivery_id, now=services.now())
    except parking.NotParked as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"delivery {delivery_id} dropped; it will not be processed")
