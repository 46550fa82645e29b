"""Flask CLI commands: ``flask --app bot <command>``."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import click
from flask import Flask, current_app
from flask.cli import AppGroup, with_appcontext
from sqlmodel import Session

from bot.commands.chatwoot import chatwoot_group
from bot.commands.contact import contact_group
from bot.commands.export import export_command
from core.autonomy import set_inbox_autonomy
from core.db import migrate, session_scope
from core.settings import Autonomy
from experiments import analytics, arms, promotion
from experiments import report as report_text
from tools.history_import import baseline
from workers import deliveries
from workers.dispatch import enqueue_delivery
from workers.services import Services


def register(app: Flask) -> None:
    app.cli.add_command(db)
    app.cli.add_command(inbox)
    app.cli.add_command(experiments_group)
    app.cli.add_command(arm_group)
    app.cli.add_command(chatwoot_group)
    app.cli.add_command(contact_group)
    app.cli.add_command(export_command)
    app.cli.add_command(report)
    app.cli.add_command(deliveries_group)


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


@click.group("arm", cls=AppGroup)
def arm_group() -> None:
    """Experiment arms: promote to autopilot on evidence, or demote."""


def _set_arm(ref: str, autonomy: str, actor: str) -> None:
    services: Services = current_app.extensions["wingman"]
    settings = services.settings
    try:
        with session_scope(services.engine) as session:
            arm, ev = promotion.set_autonomy(
                session,
                ref,
                autonomy,
                actor=actor,
                now=services.now(),
                min_decided=settings.promote_min_decided,
                min_approval=settings.promote_min_approval,
            )
            name = f"{arm.experiment}/{arm.key} v{arm.version}"
    except promotion.PromotionError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(
        f"{name} is now {autonomy} (by {actor}); evidence: {ev.sent_unedited} of {ev.decided} "
        f"decided drafts sent unedited, lower bound {ev.approval_lower_bound:.3f}"
    )


@arm_group.command("promote")
@click.argument("arm")
@click.option("--actor", required=True, help="Who is promoting it (recorded).")
def promote(arm: str, actor: str) -> None:
    """Let ARM (experiment/key) send on its own, if the evidence says reps would approve."""
    _set_arm(arm, "autopilot", actor)


@arm_group.command("demote")
@click.argument("arm")
@click.option("--actor", required=True, help="Who is demoting it (recorded).")
def demote(arm: str, actor: str) -> None:
    """Back to drafts for a rep; always allowed, effective on the next reply."""
    _set_arm(arm, "draft", actor)


@click.command("report")
@click.option(
    "--since",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    help="Conversations whose first draft is on or after this day (UTC), YYYY-MM-DD.",
)
@click.option(
    "--until",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    help="Conversations whose first draft is on or before this day (UTC), YYYY-MM-DD.",
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
    """Experiment numbers per arm, arm version, inbox and rep (see experiments/report.py)."""
    if as_csv and as_json:
        raise click.UsageError("choose one of --csv and --json")
    start = since.replace(tzinfo=UTC) if since else None
    # --until names a whole day; the filter itself is exclusive.
    end = until.replace(tzinfo=UTC) + timedelta(days=1) if until else None
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


@click.group("deliveries", cls=AppGroup)
def deliveries_group() -> None:
    """Webhook deliveries parked after failing DELIVERY_MAX_ATTEMPTS times."""


@deliveries_group.command("parked")
def list_parked() -> None:
    """List parked deliveries: id, event, when received, attempts and the last error."""
    services: Services = current_app.extensions["wingman"]
    with Session(services.engine) as session:
        rows = deliveries.parked(session)
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
            deliveries.unpark(session, delivery_id)
    except deliveries.NotParked as exc:
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
            deliveries.drop(session, delivery_id, now=services.now())
    except deliveries.NotParked as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"delivery {delivery_id} dropped; it will not be processed")
