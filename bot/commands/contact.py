"""``flask --app bot contact forget``: the command around ``tools.forget``."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import AppGroup

from core.db import session_scope
from tools.forget import forget_contact
from workers.services import Services


@click.group("contact", cls=AppGroup)
def contact_group() -> None:
    """A contact's data in Wingman."""


@contact_group.command("forget")
@click.argument("contact_id", type=click.IntRange(min=1))
@click.option("--actor", required=True, help="Who is asking for it (recorded).")
def forget_command(contact_id: int, actor: str) -> None:
    """Delete CONTACT_ID's messages and personal data from Wingman (Chatwoot's contact id).

    Anonymous counts stay for analytics; a tombstone stops the history import from bringing
    their earlier data back. Chatwoot itself is not touched.
    """
    if not actor.strip():
        raise click.BadParameter("must name who is asking", param_hint="--actor")
    services: Services = current_app.extensions["wingman"]
    with session_scope(services.engine) as session:
        done = forget_contact(session, contact_id, actor=actor.strip(), now=services.now())
    click.echo(
        f"contact {contact_id} forgotten (by {actor.strip()}): {done.messages_deleted} "
        f"message(s) deleted; {done.conversations} conversation(s) and {done.drafts_blanked} "
        f"draft(s) kept as anonymous counts; {done.deliveries_scrubbed} raw delivery "
        "body(ies) scrubbed"
    )
