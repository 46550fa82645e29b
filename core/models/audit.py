"""The audit log of admins' runtime switches: who changed what, when, from and to.

Autonomy changes keep their own table (``autonomy_changes``) for now; new switches, such as
turning an inbox's follow-ups on or off, are recorded here.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Column
from sqlmodel import Field, SQLModel

from core.models.columns import UTCDateTime


class AuditEntry(SQLModel, table=True):
    __tablename__ = "audit_log"

    id: int | None = Field(default=None, primary_key=True)
    action: str = Field(max_length=32, index=True)  # e.g. "follow_ups"
    subject: str = Field(max_length=100)  # e.g. "inbox:12"
    from_value: str | None = Field(default=None, max_length=100)
    to_value: str | None = Field(default=None, max_length=100)
    actor: str = Field(max_length=100)
    at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


class FollowUpSwitch(SQLModel, table=True):
    """An admin's runtime switch of an inbox's follow-ups; it wins over wingman.toml."""

    __tablename__ = "follow_up_switches"

    inbox_id: int = Field(primary_key=True, sa_type=BigInteger)
    enabled: bool
    updated_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    updated_by: str = Field(max_length=100)
