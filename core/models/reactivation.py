"""Re-activation as stored: opted-out contacts, each contact's sticky holdout group, the
leads (conversations that went dormant) and every follow-up step decided for them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Column, UniqueConstraint
from sqlmodel import Field, SQLModel

from core.models.columns import UTCDateTime, timestamp_field

# Every state a follow-up step can be in; reports keep this order.
FOLLOW_UP_STATES = (
    "queued",  # due: its job writes the message (or the template) next
    "pending",  # a draft waits for a rep's /send
    "sent",  # out (approved, or on autopilot); Chatwoot accepted it
    "held_out",  # the lead is in the holdout group: nothing is sent, on purpose
    "skipped",  # it could not go out (``reason`` says why: window, template, hours, cap)
    "cancelled",  # the customer wrote first, or opted out
    "failed",  # Claude could not write it, or the guardrails stopped it on autopilot
    "undelivered",  # Chatwoot accepted it, then the channel refused it (``reason``)
)


class OptOut(SQLModel, table=True):
    """A contact who asked not to be contacted again: permanent, and never followed up."""

    __tablename__ = "opt_outs"

    contact_id: int = Field(primary_key=True, sa_type=BigInteger)
    # "keyword" (the customer's own words), "model" (Claude's do_not_contact), "rep" (/optout)
    source: str = Field(max_length=16)
    # The words that matched, or what else led to it; never the whole customer message.
    detail: str | None = Field(default=None, max_length=200)
    conversation_id: int | None = None
    actor: str | None = Field(default=None, max_length=100)
    opted_out_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


class FollowUpGroup(SQLModel, table=True):
    """A contact's group, drawn the first time one of their conversations became a lead.

    Sticky like an arm, so a returning customer is never in both groups. ``draw`` is the
    uniform number in [0, 1) that decided it (holdout when below ``holdout_share``), and
    ``probability`` that of the group it gave, for reweighting.
    """

    __tablename__ = "follow_up_groups"

    contact_id: int = Field(primary_key=True, sa_type=BigInteger)
    group: str = Field(max_length=16)  # "follow_up" | "holdout"
    probability: float
    draw: float
    holdout_share: float
    inbox_id: int = Field(sa_type=BigInteger)
    assigned_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


class Lead(SQLModel, table=True):
    """A conversation the first time it became a dormant lead; the report's unit.

    ``assigned_at`` starts every window the report measures, for both groups alike.
    """

    __tablename__ = "leads"

    id: int | None = Field(default=None, primary_key=True)
    conversation_id: int = Field(foreign_key="conversations.id", unique=True)
    contact_id: int = Field(sa_type=BigInteger, index=True)
    inbox_id: int = Field(sa_type=BigInteger, index=True)
    group: str = Field(max_length=16)
    # The arm of the conversation's first draft, if it had one, for the per-arm report.
    arm_id: int | None = Field(default=None, foreign_key="arms.id")
    assigned_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


class FollowUp(SQLModel, table=True):
    """One step of the schedule for one dormant spell of a lead.

    A spell is the quiet after the customer's message ``after_message_id``: when they write
    again the steps start over from their new message, so the unique key makes each step
    happen at most once per spell.
    """

    __tablename__ = "follow_ups"
    __table_args__ = (UniqueConstraint("conversation_id", "after_message_id", "step"),)

    id: int | None = Field(default=None, primary_key=True)
    lead_id: int = Field(foreign_key="leads.id", index=True)
    conversation_id: int = Field(foreign_key="conversations.id", index=True)
    contact_id: int = Field(sa_type=BigInteger, index=True)
    after_message_id: int = Field(sa_type=BigInteger)
    step: int  # 1-based, in the inbox's schedule
    state: str = Field(max_length=16, index=True)
    kind: str | None = Field(default=None, max_length=16)  # "message" | "template"
    # Why it was skipped, cancelled, failed or undelivered, in words an admin can act on.
    reason: str | None = None
    # The template and its parameters, as Chatwoot's template_params (CONTRACT-NEXT §2.1).
    template_params: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))
    due_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    decided_at: datetime | None = timestamp_field()
