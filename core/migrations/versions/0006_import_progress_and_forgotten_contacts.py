"""import progress and forgotten contacts

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-21 06:51:40.743332
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes  # noqa: F401  (autogenerate renders sqlmodel types)
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "forgotten_contacts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("contact_id", sa.BigInteger(), nullable=False),
        sa.Column("actor", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("forgotten_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("conversations", sa.Integer(), nullable=False),
        sa.Column("messages_deleted", sa.Integer(), nullable=False),
        sa.Column("deliveries_scrubbed", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("forgotten_contacts", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_forgotten_contacts_contact_id"), ["contact_id"], unique=False
        )

    op.create_table(
        "import_progress",
        sa.Column("account_id", sa.BigInteger(), nullable=False),
        sa.Column("display_id", sa.BigInteger(), nullable=False),
        sa.Column("newest_message_id", sa.BigInteger(), nullable=True),
        sa.Column("chatwoot_updated_at", sa.Float(), nullable=True),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("account_id", "display_id"),
    )


def downgrade() -> None:
    op.drop_table("import_progress")
    with op.batch_alter_table("forgotten_contacts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_forgotten_contacts_contact_id"))

    op.drop_table("forgotten_contacts")
