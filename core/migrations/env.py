"""Alembic environment: the engine comes from core.db, never from an ini file."""

from __future__ import annotations

from typing import Any, Literal

from alembic import context
from alembic.autogenerate.api import AutogenContext
from sqlmodel import SQLModel

from core.models import UTCDateTime  # importing core.models registers the tables

config = context.config
engine = config.attributes["engine"]


def _render_item(kind: str, obj: Any, _context: AutogenContext) -> str | Literal[False]:
    """Migrations must not import app code: render our column types as plain SQLAlchemy."""
    if kind == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


with engine.begin() as connection:
    context.configure(
        connection=connection,
        target_metadata=SQLModel.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        render_item=_render_item,
    )
    context.run_migrations()
