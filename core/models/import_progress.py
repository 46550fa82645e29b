"""The import_progress table: how far ``chatwoot import`` got in each conversation."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Column
from sqlmodel import Field, SQLModel

from core.models.columns import UTCDateTime, timestamp_field


class ImportProgress(SQLModel, table=True):
    """How far ``chatwoot import`` got in one conversation, so a re-run continues there.

    Keyed like conversations, on (account, display id), without a foreign key: the cursor
    of a conversation skipped for a forgotten contact points at no stored row. It holds no
    personal data, so it survives ``contact forget`` and still marks the conversation as
    imported for the human-only baseline.
    """

    __tablename__ = "import_progress"

    account_id: int = Field(primary_key=True, sa_type=BigInteger)
    display_id: int = Field(primary_key=True, sa_type=BigInteger)
    # Chatwoot's id of the newest message fetched; the next page asks for ``after`` it.
    newest_message_id: int | None = Field(default=None, sa_type=BigInteger)
    # Chatwoot's updated_at when the conversation was last imported to its end: while it is
    # unchanged, a re-run fetches nothing for this conversation.
    chatwoot_updated_at: float | None = None
    completed_at: datetime | None = timestamp_field()
    updated_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
