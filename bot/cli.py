"""Flask CLI commands: ``flask --app bot <command>``, one module per group in bot/commands/."""

from __future__ import annotations

from flask import Flask

from bot.commands.chatwoot import chatwoot_group
from bot.commands.contact import contact_group
from bot.commands.db import db
from bot.commands.deliveries import deliveries_group
from bot.commands.experiments import arm_group, experiments_group
from bot.commands.export import export_command
from bot.commands.inbox import inbox
from bot.commands.reactivation import reactivation_group
from bot.commands.report import report


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
    app.cli.add_command(reactivation_group)
