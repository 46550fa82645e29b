from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.engine import Engine
from sqlmodel import SQLModel

import core.models  # noqa: F401
from core.db import schema_is_current


def test_migrations_match_the_models(engine: Engine) -> None:
    """A model change without a migration fails here, on SQLite and on Postgres."""
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        diff = compare_metadata(context, SQLModel.metadata)
    assert diff == []
    assert schema_is_current(engine)


def test_every_migration_downgrades_and_upgrades_again(tmp_path: Any) -> None:
    from alembic import command

    from core.db import alembic_config, make_engine, migrate

    engine = make_engine(f"sqlite:///{tmp_path / 'roundtrip.db'}")
    try:
        migrate(engine)
        command.downgrade(alembic_config(engine), "base")
        assert not schema_is_current(engine)
        migrate(engine)
        assert schema_is_current(engine)
    finally:
        engine.dispose()
