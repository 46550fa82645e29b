"""Experiments as stored: the experiments, each arm's versions, and contacts' sticky arms."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, BigInteger, Column, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from core.models.columns import UTCDateTime


class Experiment(SQLModel, table=True):
    """An experiment as declared in experiments/experiments.toml (see experiments/arms.py)."""

    __tablename__ = "experiments"

    name: str = Field(primary_key=True, max_length=100)
    mode: str = Field(max_length=16)  # "fixed" | "thompson"
    min_share: float = 0.05
    draws: int = 1000
    updated_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


class Arm(SQLModel, table=True):
    """One version of an arm. A change to its text makes a new version with fresh evidence,
    back in draft; older versions stay as they were."""

    __tablename__ = "arms"
    __table_args__ = (UniqueConstraint("experiment", "key", "version"),)

    id: int | None = Field(default=None, primary_key=True)
    experiment: str = Field(foreign_key="experiments.name", max_length=100, index=True)
    key: str = Field(max_length=100)
    version: int
    content_hash: str = Field(max_length=64)
    instructions: str = Field(default="", sa_column=Column(Text, nullable=False))
    show_prices: list[str] = Field(default_factory=list, sa_column=Column(JSON))
    price_floor: str | None = Field(default=None, max_length=32)  # a Decimal, as text
    price_ceiling: str | None = Field(default=None, max_length=32)
    weight: float = 1.0
    autonomy: str = Field(default="draft", max_length=16)  # draft | autopilot
    current: bool = True
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


class Assignment(SQLModel, table=True):
    """A contact's arm in an experiment: sticky across conversations, so a returning
    customer is never quoted a different price; it follows the arm to new versions."""

    __tablename__ = "assignments"
    __table_args__ = (UniqueConstraint("contact_id", "experiment"),)

    id: int | None = Field(default=None, primary_key=True)
    contact_id: int = Field(foreign_key="contacts.id", sa_type=BigInteger, index=True)
    experiment: str = Field(foreign_key="experiments.name", max_length=100)
    arm_key: str = Field(max_length=100)
    arm_id: int = Field(foreign_key="arms.id")  # the version current when assigned
    probability: float  # of the arm chosen, for reweighting
    assigned_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
