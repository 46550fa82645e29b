"""deliveries: applied_at, and an index to find a conversation's unapplied deliveries

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-05 08:10:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.add_column(sa.Column("applied_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index(
            "ix_deliveries_conversation", ["account_id", "conversation_display_id", "id"]
        )
    # Deliveries stored before this revision were applied when they were stored.
    op.execute("UPDATE deliveries SET applied_at = received_at")


def downgrade() -> None:
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.drop_index("ix_deliveries_conversation")
        batch_op.drop_column("applied_at")
