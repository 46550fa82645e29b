"""inbox settings and autonomy audit

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-21 06:36:13.245634
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes  # noqa: F401  (autogenerate renders sqlmodel types)
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "autonomy_changes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("subject", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("subject_id", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("from_autonomy", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("to_autonomy", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("actor", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("autonomy_changes", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_autonomy_changes_subject_id"), ["subject_id"], unique=False
        )

    op.create_table(
        "inbox_settings",
        sa.Column("inbox_id", sa.BigInteger(), nullable=False),
        sa.Column("autonomy", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.PrimaryKeyConstraint("inbox_id"),
    )


def downgrade() -> None:
    op.drop_table("inbox_settings")
    with op.batch_alter_table("autonomy_changes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_autonomy_changes_subject_id"))

    op.drop_table("autonomy_changes")
