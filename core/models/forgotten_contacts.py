"""The forgotten_contacts table: the audit and tombstone of every contact forgotten."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Column
from sqlmodel import Field, SQLModel

from core.models.columns import UTCDateTime


class ForgottenContact(SQLModel, table=True):
    """A contact forgotten on request (``contact forget``): the audit record, and the
    tombstone that stops ``chatwoot import`` from bringing back what came before it."""

    __tablename__ = "forgotten_contacts"

    id: int | None = Field(default=None, primary_key=True)
    # Chatwoot's contact id; no foreign key, since a contact may be forgotten before any of
    # their data reached Wingman (the import must still skip it).
    contact_id: int = Field(sa_type=BigInteger, index=True)
    actor: str = Field(max_length=100)
    forgotten_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    # What was removed, as counts only.
    conversations: int = 0
    messages_deleted: int = 0
    deliveries_scrubbed: int = 0
