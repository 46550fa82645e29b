"""``flask --app bot report``: the experiment report, beside the human-only baseline."""

from __future__ import annotations

from datetime import UTC, datetime

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlmodel import Session

from bot.commands.dates import When
from experiments import analytics
from experiments import report as report_text
from tools.history_import import baseline
from workers.services import Services


@click.command("report")
@click.option(
    "--since",
    type=When(),
    help="Conversations whose first draft is on or after this day or time (UTC).",
)
@click.option(
    "--until",
    type=When(end_of_day=True),
    help="Conversations whose first draft is before this time, or on or before this day (UTC).",
)
@click.option("--inbox", "inbox_id", type=click.IntRange(min=1), help="Chatwoot inbox id.")
@click.option("--experiment", help="Only this experiment's arms (no 'no experiment' row).")
@click.option(
    "--csv", "as_csv", is_flag=True, help="CSV: every number, a row per arm, arm version and inbox."
)
@click.option("--json", "as_json", is_flag=True, help="The full report as JSON.")
@with_appcontext
def report(
    since: datetime | None,
    until: datetime | None,
    inbox_id: int | None,
    experiment: str | None,
    as_csv: bool,
    as_json: bool,
) -> None:
    """Experiment numbers per arm, arm version, inbox and rep (columns: docs/report.md)."""
    if as_csv and as_json:
        raise click.UsageError("choose one of --csv and --json")
    start, end = since, until  # a bare --until day is its end: the filter is exclusive
    if start is not None and end is not None and end <= start:
        raise click.BadParameter(
            f"must not be before --since ({since:%Y-%m-%d})", param_hint="--until"
        )
    services: Services = current_app.extensions["wingman"]
    try:
        filters = analytics.Filters(start, end, inbox_id, experiment)
        with Session(services.engine) as session:
            result = analytics.report(session, filters, prices=services.settings.claude_prices)
        with Session(services.engine) as session:
            # Before the bot: imported conversations it never drafted for, beside the arms.
            human = baseline(
                session, start or datetime(1970, 1, 1, tzinfo=UTC), end or services.now()
            )
    except analytics.FilterError as exc:
        raise click.BadParameter(exc.problem, param_hint=f"--{exc.name}") from None
    if as_csv:
        click.echo(report_text.to_csv(result) + report_text.baseline_csv(*human), nl=False)
    elif as_json:
        click.echo(report_text.with_baseline_json(report_text.to_json(result), *human), nl=False)
    else:
        click.echo(report_text.to_table(result) + report_text.baseline_line(*human), nl=False)
