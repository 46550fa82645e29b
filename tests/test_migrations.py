from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.engine import Engine
from sqlmodel import SQLModel

import bot.models  # noqa: F401
from bot.db import schema_is_current


def test_migrations_match_the_models(engine: Engine) -> None:
    """A model change without a migration fails here, on SQLite and on Postgres."""
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        diff = compare_metadata(context, SQLModel.metadata)
    assert diff == []
    assert schema_is_current(engine)
