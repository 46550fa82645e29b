"""Autonomy as stored: an inbox's runtime switch, and the audit of every change."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Column
from sqlmodel import Field, SQLModel

from core.models.columns import UTCDateTime


class InboxSetting(SQLModel, table=True):
    """An admin's runtime switch for an inbox; it wins over the config file's default."""

    __tablename__ = "inbox_settings"

    inbox_id: int = Field(primary_key=True, sa_type=BigInteger)
    autonomy: str = Field(max_length=16)  # off | draft | autopilot
    updated_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    updated_by: str = Field(max_length=100)


class AutonomyChange(SQLModel, table=True):
    """Every change of autonomy, for an inbox or an experiment arm: who, when, from, to."""

    __tablename__ = "autonomy_changes"

    id: int | None = Field(default=None, primary_key=True)
    subject: str = Field(max_length=16)  # "inbox" | "arm"
    subject_id: str = Field(max_length=100, index=True)
    from_autonomy: str = Field(max_length=16)
    to_autonomy: str = Field(max_length=16)
    actor: str = Field(max_length=100)
    changed_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
