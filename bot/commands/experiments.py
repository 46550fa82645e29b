"""``flask --app bot experiments sync`` and ``arm promote|demote``: experiments and their arms."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import AppGroup

from core.db import session_scope
from core.tomlfile import ConfigError
from experiments import arms, promotion
from workers.services import Services


@click.group("experiments", cls=AppGroup)
def experiments_group() -> None:
    """Experiments and their arms (experiments/experiments.toml)."""


@experiments_group.command("sync")
def sync_experiments() -> None:
    """Load the experiments file: a changed arm becomes a new version, back in draft."""
    services: Services = current_app.extensions["wingman"]
    try:
        specs = arms.load_file()
    except ConfigError as exc:
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
