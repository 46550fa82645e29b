"""``flask --app bot chatwoot import``: the command around ``tools.history_import``."""

from __future__ import annotations

import sys
from datetime import datetime

import click
from flask import current_app
from flask.cli import AppGroup

from bot.commands.dates import When
from bot.commands.progress import ProgressBar
from chatwoot.errors import ChatwootError
from chatwoot.history import DEFAULT_PER_MINUTE, HistoryClient, HistoryReader, RateLimiter
from core.settings import Settings
from tools.history_import import ImportStats, import_history
from workers.services import Services


@click.group("chatwoot", cls=AppGroup)
def chatwoot_group() -> None:
    """Chatwoot history (needs an admin's CHATWOOT_USER_TOKEN)."""


@chatwoot_group.command("import")
@click.option(
    "--since",
    required=True,
    type=When(),
    help="Import conversations active on or after this date or time (UTC), whole.",
)
@click.option("--inbox", "inbox_id", type=click.IntRange(min=1), help="Only this inbox.")
@click.option(
    "--per-minute",
    type=click.IntRange(1, 3000),
    default=DEFAULT_PER_MINUTE,
    show_default=True,
    help="Requests per minute; Chatwoot allows 3000 per IP, shared with the live bot.",
)
@click.option("--restart", is_flag=True, help="Ignore saved progress and fetch everything again.")
@click.option(
    "--account",
    "account_id",
    type=click.IntRange(min=1),
    help="The Chatwoot account to import (default: the one in CHATWOOT_ACCOUNT_IDS).",
)
def import_command(
    since: datetime, inbox_id: int | None, per_minute: int, restart: bool, account_id: int | None
) -> None:
    """Import conversations and messages from Chatwoot; run it again to continue."""
    services: Services = current_app.extensions["wingman"]
    client = _client(services.settings, account_id)
    reader = HistoryReader(client, limiter=RateLimiter(per_minute))
    # A line per page of 25 conversations when stderr is a log, not a terminal.
    bar = ProgressBar(sys.stderr, 0, unit="conversations", every=25)

    def show(stats: ImportStats) -> None:
        bar.update(stats.listed, total=stats.total, detail=f", {stats.messages:,} messages")

    try:
        stats = import_history(
            services.engine,
            reader,
            since=since,
            clock=services.now,
            inbox_id=inbox_id,
            restart=restart,
            progress=show,
        )
    except ChatwootError as exc:
        raise click.ClickException(
            f"{exc}\nEverything stored so far is kept: run the same command again to continue."
        ) from None
    finally:
        bar.finish()  # end the bar's line before any error message
    click.echo(
        f"imported {stats.messages} message(s) from {stats.fetched} conversation(s); "
        f"{stats.unchanged} unchanged since the last import, {stats.older} last active "
        f"before {since:%Y-%m-%d}, {stats.forgotten} of forgotten contacts skipped "
        f"({reader.requests} requests)"
    )


def _client(settings: Settings, account_id: int | None) -> HistoryClient:
    missing = [
        name
        for name, value in (
            ("CHATWOOT_URL", settings.chatwoot_url),
            ("CHATWOOT_USER_TOKEN", settings.chatwoot_user_token),
        )
        if not value
    ]
    if missing:
        raise click.ClickException(
            f"{', '.join(missing)} not set. Importing history needs an admin's access token "
            "as CHATWOOT_USER_TOKEN (Chatwoot: Profile Settings → Access Token): a bot token "
            "cannot list conversations or messages."
        )
    served = settings.chatwoot_account_ids
    if account_id is None and len(served) == 1:
        account_id = served[0]
    if account_id is None:
        raise click.ClickException(
            "Which account? Pass --account ID (the number in your Chatwoot URLs, "
            "/app/accounts/<id>/...), or set CHATWOOT_ACCOUNT_IDS to that one account."
        )
    if not settings.serves(account_id):
        raise click.ClickException(
            f"account {account_id} is not in CHATWOOT_ACCOUNT_IDS ({', '.join(map(str, served))})"
        )
    assert settings.chatwoot_url and settings.chatwoot_user_token
    return HistoryClient(
        settings.chatwoot_url,
        account_id,
        settings.chatwoot_user_token,
        timeout=settings.chatwoot_timeout_seconds,
    )
