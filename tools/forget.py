"""Forgetting a contact on request (``flask --app bot contact forget <id> --actor NAME``).

What goes, what stays:

- **Deleted:** every message of the contact's conversations (and of the contact anywhere
  else), with the draft-coverage rows that point at them.
- **Blanked, row kept** so analytics still count it: the contact (name, email, phone,
  identifier, custom and additional attributes); drafts (bubbles, sent text, answered
  questions, handoff note, hint, failure text, guardrail details; a pending draft is
  discarded); outbox messages (content and error; unsent ones are failed, never posted);
  handoff notes; conversation custom attributes except a numeric deal value. Labels, status,
  states, reasons, token counts, timestamps and Chatwoot ids stay: they are what outcomes,
  promotion evidence and the report count, and none is the contact's text.
- **Scrubbed** (``tools.scrubbing``): raw webhook bodies of the contact's conversations, or
  in which a contact is them (by Chatwoot contact id, or a whole email, phone or
  identifier), become a marker; the row stays for delivery counts and is marked processed,
  so no sweeper re-applies it. Other customers' bodies stay as they are, processed or not,
  even where their text or a timestamp contains the contact's id or email: they are that
  customer's words.
- **Recorded:** a tombstone with the actor, the time and what was removed, as counts. The
  history import skips the contact's conversations and messages from before it.

New webhook data after a forget is stored as usual: a customer who writes again has
started a new conversation with the business, which is new consent.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import and_, delete, func, or_, update
from sqlmodel import Session, col, select

from core.models import (
    Contact,
    Conversation,
    Draft,
    DraftMessage,
    ForgottenContact,
    Handoff,
    Message,
    OutboxItem,
)
from experiments.outcomes import DEFAULT_VALUE_ATTRIBUTE
from tools.scrubbing import Identity, scrub_deliveries
from workers.outbox import MESSAGES, UNSENT

_FORGOTTEN = "contact forgotten"


@dataclass(frozen=True)
class Forgotten:
    contact_id: int
    conversations: int
    messages_deleted: int
    deliveries_scrubbed: int
    drafts_blanked: int


def forgotten_since(session: Session, contact_id: int) -> datetime | None:
    """When the contact was last forgotten, or None: their data from before then stays out."""
    query = select(func.max(ForgottenContact.forgotten_at)).where(
        ForgottenContact.contact_id == contact_id
    )
    value: datetime | None = session.exec(query).one()
    return value


def forget_contact(
    session: Session,
    contact_id: int,
    *,
    actor: str,
    now: datetime,
    keep_attributes: Iterable[str] = (DEFAULT_VALUE_ATTRIBUTE,),
) -> Forgotten:
    """Remove the contact's personal data in one transaction and leave a tombstone."""
    contact = session.exec(
        select(Contact).where(Contact.id == contact_id).with_for_update()
    ).first()
    identity = Identity.of(contact_id, contact)
    conversations = list(
        session.exec(
            select(Conversation).where(Conversation.contact_id == contact_id).with_for_update()
        )
    )
    ids = [c.id for c in conversations if c.id is not None]

    messages = select(Message.id).where(
        or_(
            col(Message.conversation_id).in_(ids),
            and_(col(Message.sender_kind) == "customer", col(Message.sender_id) == contact_id),
        )
    )
    deleted = session.exec(select(func.count()).select_from(messages.subquery())).one()
    session.execute(delete(DraftMessage).where(col(DraftMessage.message_id).in_(messages)))
    session.execute(delete(Message).where(col(Message.id).in_(messages)))

    drafts = list(session.exec(select(Draft).where(col(Draft.conversation_id).in_(ids))))
    for draft in drafts:
        _blank_draft(draft, now)
    for item in session.exec(select(OutboxItem).where(col(OutboxItem.conversation_id).in_(ids))):
        _blank_outbox(item)
    session.execute(update(Handoff).where(col(Handoff.conversation_id).in_(ids)).values(note=None))
    for conversation in conversations:
        attributes = conversation.custom_attributes
        conversation.custom_attributes = anonymous_attributes(attributes, keep_attributes)
        conversation.contact_source_id = None  # a phone number on WhatsApp
    if contact is not None:
        contact.name = contact.email = contact.phone_number = contact.identifier = None
        contact.custom_attributes, contact.additional_attributes = {}, {}

    scrubbed = scrub_deliveries(session, conversations, identity, now=now)
    session.add(
        ForgottenContact(
            contact_id=contact_id,
            actor=actor,
            forgotten_at=now,
            conversations=len(conversations),
            messages_deleted=deleted,
            deliveries_scrubbed=scrubbed,
        )
    )
    session.flush()
    return Forgotten(contact_id, len(conversations), deleted, scrubbed, len(drafts))


def anonymous_attributes(
    attributes: dict[str, Any] | None, keep: Iterable[str] = (DEFAULT_VALUE_ATTRIBUTE,)
) -> dict[str, Any]:
    """A conversation's custom attributes without anything personal: only the numeric
    ones named in ``keep`` (the deal value outcomes read)."""
    wanted = set(keep)
    return {k: v for k, v in (attributes or {}).items() if k in wanted and _is_number(v)}


def _blank_draft(draft: Draft, now: datetime) -> None:
    draft.bubbles, draft.answered_questions = [], []
    draft.sent_text = draft.handoff_note = draft.hint = draft.failure = None
    # Promotion reads whether each check passed; the details quote the reply.
    checks = draft.guardrails or {}
    if checks:
        draft.guardrails = {
            "passed": checks.get("passed"),
            "failed": list(checks.get("failed") or []),
            "checks": {
                name: {"passed": bool(c.get("passed")), "detail": ""}
                for name, c in (checks.get("checks") or {}).items()
                if isinstance(c, dict)
            },
        }
    if draft.state == "pending":
        draft.state, draft.decided_at = "discarded", now


def _blank_outbox(item: OutboxItem) -> None:
    # Error texts can quote Chatwoot's answer, which echoes the content.
    item.last_error = None
    if item.action not in MESSAGES:
        return  # a status or an assignee, not the contact's words
    item.content = ""
    if item.state in UNSENT:
        # A worker holding a "sending" item posts what it already read; nothing else will.
        item.state, item.last_error = "failed", _FORGOTTEN


def _is_number(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, int | float):
        return True
    if not isinstance(value, str) or len(value) > 20:
        return False
    try:
        return Decimal(value).is_finite()
    except InvalidOperation:
        return False
