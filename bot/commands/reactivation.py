"""``flask --app bot reactivation``: switching an inbox's follow-ups at runtime (audited),
and the report that says whether follow-ups bring anyone back."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import click
from flask import current_app
from flask.cli import AppGroup
from sqlmodel import Session

from bot.commands.dates import Duration
from core.db import session_scope
from core.follow_up_switch import set_follow_ups
from core.vocabulary import FOLLOW_UP_REASONS
from experiments import reactivation
from workers import follow_up_status
from workers.services import Services


@click.group("reactivation", cls=AppGroup)
def reactivation_group() -> None:
    """Re-activation of dormant leads: follow-ups and their holdout."""


@reactivation_group.command("switch")
@click.argument("inbox_id", type=click.IntRange(min=1))
@click.argument("state", type=click.Choice(["on", "off"]))
@click.option("--actor", required=True, help="Who is making the change (recorded).")
def switch(inbox_id: int, state: str, actor: str) -> None:
    """Switch an inbox's follow-ups on or off; this wins over wingman.toml."""
    services: Services = current_app.extensions["wingman"]
    if not actor.strip():
        raise click.BadParameter("must name who is making the change", param_hint="--actor")
    with session_scope(services.engine) as session:
        before = set_follow_ups(
            session,
            inbox_id,
            state == "on",
            actor=actor,
            now=services.now(),
            config=services.config,
        )
    click.echo(f"inbox {inbox_id}: follow-ups {'on' if before else 'off'} → {state} (by {actor})")


@reactivation_group.command("status")
def status() -> None:
    """Per inbox: leads due now, the next due times, and steps skipped and why."""
    services: Services = current_app.extensions["wingman"]
    with Session(services.engine) as session:
        reports = follow_up_status.status(session, services.config, now=services.now())
    if not reports:
        click.echo("follow-ups are off in every inbox (see [inboxes.N.follow_ups] in wingman.toml)")
        return
    for report in reports:
        source = "switched by an admin" if report.switched else "wingman.toml"
        click.echo(
            f"inbox {report.inbox_id}"
            + (f" ({report.name})" if report.name else "")
            + f": follow-ups {'on' if report.enabled else 'off'} ({source})"
        )
        due = ", ".join(str(d) for d in report.due[:20]) or "none"
        click.echo(f"  due now: {len(report.due)} (conversations {due})")
        for at, display_id, step in report.upcoming[:5]:
            click.echo(
                f"  next: conversation {display_id}, step {step}, at {at:%Y-%m-%d %H:%M} UTC"
            )
        for title, counts in (
            ("due but will be skipped", report.would_skip),
            ("skipped, cancelled or failed so far", report.skipped),
            ("not followed up", report.not_dormant),
        ):
            if counts:
                words = ", ".join(
                    f"{REASONS.get(reason, reason)} × {n}" for reason, n in counts.most_common()
                )
                click.echo(f"  {title}: {words}")
        if report.states:
            states = ", ".join(f"{s} {n}" for s, n in sorted(report.states.items()))
            click.echo(f"  steps recorded: {states}")


REASONS = {**FOLLOW_UP_REASONS, "opted_out": "the contact opted out"}


@reactivation_group.command("report")
@click.option("--inbox", "inbox_id", type=click.IntRange(min=1), help="Only this inbox.")
@click.option(
    "--reply-window",
    type=Duration(),
    default="72h",
    show_default=True,
    help="A lead came back if the contact wrote within this of its assignment.",
)
@click.option(
    "--convert-within",
    type=Duration(),
    default="14d",
    show_default=True,
    help="A lead converted if it was labelled sold within this of its assignment.",
)
@click.option("--json", "as_json", is_flag=True, help="One JSON document instead of text.")
def report(
    inbox_id: int | None, reply_window: timedelta, convert_within: timedelta, as_json: bool
) -> None:
    """Have follow-ups brought anyone back? Follow-up leads against the holdout."""
    services: Services = current_app.extensions["wingman"]
    with Session(services.engine) as session:
        leads = [lead for lead in reactivation.load(session) if inbox_id in (None, lead.inbox_id)]
        step_counts = reactivation.steps(session, inbox_id)
        drafts = reactivation.approvals(session, inbox_id)
    rows = reactivation.build(leads, reply_window=reply_window, convert_within=convert_within)
    if as_json:
        document = _document(rows, step_counts)
        document["follow_up_drafts"] = {
            "states": drafts.states,
            "mean_edit_distance": drafts.mean_edit_distance,
        }
        click.echo(json.dumps(document, indent=2))
        return
    if not rows:
        click.echo("no leads yet: no conversation has gone dormant in an inbox with follow-ups")
        return
    hours = reply_window.total_seconds() / 3600
    days = convert_within.total_seconds() / 86400
    for row in rows:
        where = f"inbox {row.inbox_id}" + (f", arm {row.arm}" if row.arm else "")
        click.echo(f"{where}: {row.sentence}")
        for name, lift, within in (
            ("came back", row.replied, f"{hours:g} h"),
            ("converted", row.converted, f"{days:g} d"),
        ):
            click.echo(
                f"  {name} within {within}: follow-up {_share(lift.follow_up)}, "
                f"holdout {_share(lift.holdout)}, lift {_lift(lift)}"
            )
    if drafts.states:
        states = ", ".join(f"{state} {n}" for state, n in sorted(drafts.states.items()))
        edited = drafts.mean_edit_distance
        click.echo(
            f"follow-up drafts: {states}"
            + (f"; mean edit distance of those sent {edited:.2f}" if edited is not None else "")
        )
    click.echo("per step (descriptive only: reaching a step depends on the steps before it):")
    for counts in step_counts:
        states = ", ".join(f"{state} {n}" for state, n in sorted(counts.states.items()))
        click.echo(f"  step {counts.step}: {states}")


def _share(share: reactivation.Share) -> str:
    if not share.n:
        return "no leads"
    low, high = share.ci
    return f"{share.successes}/{share.n} = {share.successes / share.n:.1%} ({low:.1%}–{high:.1%})"


def _lift(lift: reactivation.Lift) -> str:
    if lift.difference is None:
        return "n/a"
    low, high = lift.ci
    return f"{lift.difference * 100:+.1f} points (95% CI {low * 100:+.1f} to {high * 100:+.1f})"


def _document(
    rows: list[reactivation.LiftRow], step_counts: list[reactivation.StepCounts]
) -> dict[str, Any]:
    def share(s: reactivation.Share) -> dict[str, Any]:
        low, high = s.ci
        return {"successes": s.successes, "leads": s.n, "rate": s.rate, "ci": [low, high]}

    def lift(x: reactivation.Lift) -> dict[str, Any]:
        low, high = x.ci
        return {
            "follow_up": share(x.follow_up),
            "holdout": share(x.holdout),
            "lift": x.difference,
            "lift_ci": [low, high],
        }

    return {
        "rows": [
            {
                "inbox_id": row.inbox_id,
                "arm": row.arm,
                "came_back": lift(row.replied),
                "converted": lift(row.converted),
                "sentence": row.sentence,
            }
            for row in rows
        ],
        "steps": [{"step": c.step, "states": c.states} for c in step_counts],
    }
