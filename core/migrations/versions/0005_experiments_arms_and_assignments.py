"""experiments, arms and assignments

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-21 06:40:18.860314
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes  # noqa: F401  (autogenerate renders sqlmodel types)
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "experiments",
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("mode", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("min_share", sa.Float(), nullable=False),
        sa.Column("draws", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )
    op.create_table(
        "arms",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("experiment", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("key", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("content_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("instructions", sa.Text(), nullable=False),
        sa.Column("show_prices", sa.JSON(), nullable=True),
        sa.Column("price_floor", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
        sa.Column("price_ceiling", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
        sa.Column("weight", sa.Float(), nullable=False),
        sa.Column("autonomy", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("current", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["experiment"],
            ["experiments.name"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("experiment", "key", "version"),
    )
    with op.batch_alter_table("arms", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_arms_experiment"), ["experiment"], unique=False)

    op.create_table(
        "assignments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("contact_id", sa.BigInteger(), nullable=False),
        sa.Column("experiment", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("arm_key", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("arm_id", sa.Integer(), nullable=False),
        sa.Column("probability", sa.Float(), nullable=False),
        sa.Column("assigned_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["arm_id"],
            ["arms.id"],
        ),
        sa.ForeignKeyConstraint(
            ["contact_id"],
            ["contacts.id"],
        ),
        sa.ForeignKeyConstraint(
            ["experiment"],
            ["experiments.name"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("contact_id", "experiment"),
    )
    with op.batch_alter_table("assignments", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_assignments_contact_id"), ["contact_id"], unique=False)

    with op.batch_alter_table("drafts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("arm_id", sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f("ix_drafts_arm_id"), ["arm_id"], unique=False)
        batch_op.create_foreign_key("fk_drafts_arm_id_arms", "arms", ["arm_id"], ["id"])


def downgrade() -> None:
    with op.batch_alter_table("drafts", schema=None) as batch_op:
        batch_op.drop_constraint("fk_drafts_arm_id_arms", type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_drafts_arm_id"))
        batch_op.drop_column("arm_id")

    with op.batch_alter_table("assignments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_assignments_contact_id"))

    op.drop_table("assignments")
    with op.batch_alter_table("arms", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_arms_experiment"))

    op.drop_table("arms")
    op.drop_table("experiments")
