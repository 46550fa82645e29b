"""``flask --app bot export``: options, the pseudonym key from settings, and the
summary line, around ``tools.export``."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from datetime import datetime

import click
from flask import current_app
from flask.cli import with_appcontext

from bot.commands.dates import When
from bot.commands.progress import ProgressBar
from tools.export import FORMATS, PER, Filters, OutputError, check_out, export
from workers.services import Services


def _settings_pseudonym_key() -> str | None:
    settings = current_app.extensions["wingman"].settings
    # By name, so this command works before and after Settings gains the field.
    key: str | None = settings.export_pseudonym_key
    return key


def make_command(
    pseudonym_key: Callable[[], str | None] = _settings_pseudonym_key,
) -> click.Command:
    """The ``export`` command; ``pseudonym_key`` supplies EXPORT_PSEUDONYM_KEY in an app context.

    The key is never a command-line option, so it stays out of shell history and ``ps``.
    """

    @click.command("export")
    @click.option("--since", type=When(), help="From this date or time (inclusive, UTC).")
    @click.option(
        "--until", type=When(end_of_day=True), help="Up to this date or time (exclusive, UTC)."
    )
    @click.option(
        "--inbox",
        "inboxes",
        type=click.IntRange(min=1),
        multiple=True,
        help="Only this inbox (repeat for more).",
    )
    @click.option(
        "--per",
        type=click.Choice(PER),
        default="message",
        show_default=True,
        help="One row per message, or per conversation.",
    )
    @click.option(
        "--format",
        "fmt",
        type=click.Choice(FORMATS),
        default="jsonl",
        show_default=True,
        help="JSON Lines or CSV.",
    )
    @click.option("--out", default="-", show_default=True, help="The file to write; - is stdout.")
    @click.option("--force", is_flag=True, help="Replace --out if it exists.")
    @click.option("--pseudonymize", is_flag=True, help="Replace contact ids with keyed hashes.")
    @click.option(
        "--progress/--no-progress",
        default=None,
        help="A progress bar on stderr. [default: when stderr is a terminal, unless the rows go "
        "to the same terminal]",
    )
    @with_appcontext
    def command(
        since: datetime | None,
        until: datetime | None,
        inboxes: tuple[int, ...],
        per: str,
        fmt: str,
        out: str,
        force: bool,
        pseudonymize: bool,
        progress: bool | None,
    ) -> None:
        """Export messages (or conversations) for analysis, as JSON Lines or CSV."""
        if since is not None and until is not None and since >= until:
            raise click.BadParameter(
                f"{since.isoformat()} is not before --until {until.isoformat()}",
                param_hint="'--since'",
            )
        services: Services = current_app.extensions["wingman"]
        try:
            check_out(out, engine=services.engine, force=force)
        except OutputError as exc:
            raise click.BadParameter(str(exc), param_hint="'--out'") from None
        key = None
        if pseudonymize:
            key = pseudonym_key()
            if not key:
                raise click.UsageError(
                    "--pseudonymize needs EXPORT_PSEUDONYM_KEY: set it to a long random secret, "
                    "and keep it to get the same pseudonyms in later exports"
                )
        stderr = sys.stderr
        if progress is None:  # not over rows scrolling past on the same terminal
            progress = stderr.isatty() and not (out == "-" and sys.stdout.isatty())
        started = time.monotonic()
        bars: list[ProgressBar] = []

        def show(done: int, total: int) -> None:
            if not bars:  # the total is known once the export has counted its rows
                bars.append(ProgressBar(stderr, total, unit=f"{per}s", in_place=True))
            bars[0].update(done)

        try:
            written = export(
                services.engine,
                out,
                per=per,
                fmt=fmt,
                filters=Filters(since, until, inboxes),
                prices=services.settings.claude_prices,
                pseudonym_key=key,
                progress=show if progress else None,
                force=force,
            )
        except OutputError as exc:  # the file appeared while the rows were written
            raise click.BadParameter(str(exc), param_hint="'--out'") from None
        finally:
            for bar in bars:
                bar.finish()
        where = "stdout" if out == "-" else out
        elapsed = time.monotonic() - started
        click.echo(f"exported {written:,} {per}s to {where} in {elapsed:.1f} s", err=True)

    return command


export_command = make_command()
