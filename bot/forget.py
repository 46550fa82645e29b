"""Forgetting a contact on request: ``flask --app bot contact forget <id> --actor NAME``.

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
- **Scrubbed:** raw webhook bodies of the contact's conversations, or that name the contact
  (by id, email, phone or identifier), become a marker; the row stays for delivery counts
  and is marked processed, so no sweeper re-applies it.
- **Recorded:** a tombstone with the actor, the time and what was removed, as counts. The
  history import skips the contact's conversations and messages from before it.

New webhook data after a forget is stored as usual: a customer who writes again has
started a new conversation with the business, which is new consent.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import and_, delete, func, or_, update
from sqlmodel import Session, col, select

from bot.db import session_scope
from bot.models import (
    Contact,
    Conversation,
    Delivery,
    Draft,
    DraftMessage,
    ForgottenContact,
    Handoff,
    Message,
    OutboxItem,
)
from bot.services import Services
from experiments.outcomes import DEFAULT_VALUE_ATTRIBUTE
from workers.outbox import MESSAGES, UNSENT

SCRUBBED_BODY = json.dumps({"scrubbed": True, "reason": "contact forgotten"})
_FORGOTTEN = "contact forgotten"
_BATCH = 500


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
    needles = _identifiers(contact)
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

    scrubbed = _scrub_deliveries(session, contact_id, conversations, needles, now=now)
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


def _scrub_deliveries(
    session: Session,
    contact_id: int,
    conversations: list[Conversation],
    needles: list[str],
    *,
    now: datetime,
) -> int:
    """Replace the raw bodies that concern the contact with a marker.

    Every Chatwoot body about the contact carries their id (``contact.id``,
    ``meta.sender.id``, ``contact_inbox.contact_id``), so bodies without its digits are
    never read; the rest are confirmed by conversation, by parsed id or by identifier.
    """
    by_account: dict[int, set[int]] = defaultdict(set)
    for conversation in conversations:
        by_account[conversation.account_id].add(conversation.display_id)
    theirs = [
        and_(col(Delivery.account_id) == account, col(Delivery.conversation_display_id).in_(ids))
        for account, ids in by_account.items()
    ]
    candidates = or_(
        *theirs,
        col(Delivery.body).contains(str(contact_id), autoescape=True),
        *(col(Delivery.body).contains(n, autoescape=True) for n in needles),
    )
    rows = session.execute(
        select(
            Delivery.id, Delivery.account_id, Delivery.conversation_display_id, Delivery.body
        ).where(candidates, Delivery.body != SCRUBBED_BODY)
    )
    doomed = [
        row.id
        for row in rows
        if row.conversation_display_id in by_account.get(row.account_id or 0, ())
        or _mentions(row.body, contact_id, needles)
    ]
    for start in range(0, len(doomed), _BATCH):
        batch = doomed[start : start + _BATCH]
        session.execute(
            update(Delivery).where(col(Delivery.id).in_(batch)).values(body=SCRUBBED_BODY)
        )
        session.execute(
            update(Delivery)
            .where(col(Delivery.id).in_(batch), col(Delivery.processed_at).is_(None))
            .values(processed_at=now)
        )
    return len(doomed)


def _mentions(body: str, contact_id: int, needles: list[str]) -> bool:
    lowered = body.lower()
    if any(needle.lower() in lowered for needle in needles):
        return True
    try:
        data = json.loads(body)
    except ValueError:
        return False
    return _refers_to(data, contact_id, [n.lower() for n in needles])


def _refers_to(value: Any, contact_id: int, needles: list[str], key: str = "") -> bool:
    """Whether a parsed body names the contact: by id where Chatwoot puts a contact, or by
    an identifier in any string (which the raw text may hold \\u-escaped)."""
    if isinstance(value, dict):
        if value.get("contact_id") == contact_id:
            return True
        if (
            key in ("contact", "sender")
            and value.get("id") == contact_id
            and value.get("type") in (None, "contact")  # webhook contact senders have no type
        ):
            return True
        return any(_refers_to(v, contact_id, needles, k) for k, v in value.items())
    if isinstance(value, list):
        return any(_refers_to(v, contact_id, needles, key) for v in value)
    if isinstance(value, str):
        return any(needle in value.lower() for needle in needles)
    return False


def _identifiers(contact: Contact | None) -> list[str]:
    # Not the name: another customer's body may well mention a "Maya" too.
    if contact is None:
        return []
    values = (contact.email, contact.phone_number, contact.identifier)
    return [v for v in values if v and len(v.strip()) >= 4]


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


# --- the command ------------------------------------------------------------------------


@click.group("contact", cls=AppGroup)
def contact_group() -> None:
    """A contact's data in Wingman."""


@contact_group.command("forget")
@click.argument("contact_id", type=click.IntRange(min=1))
@click.option("--actor", required=True, help="Who is asking for it (recorded).")
def forget_command(contact_id: int, actor: str) -> None:
    """Delete CONTACT_ID's messages and personal data from Wingman (Chatwoot's contact id).

    Anonymous counts stay for analytics; a tombstone stops the history import from bringing
    their earlier data back. Chatwoot itself is not touched.
    """
    if not actor.strip():
        raise click.BadParameter("must name who is asking", param_hint="--actor")
    services: Services = current_app.extensions["wingman"]
    with session_scope(services.engine) as session:
        done = forget_contact(session, contact_id, actor=actor.strip(), now=services.now())
    click.echo(
        f"contact {contact_id} forgotten (by {actor.strip()}): {done.messages_deleted} "
        f"message(s) deleted; {done.conversations} conversation(s) and {done.drafts_blanked} "
        f"draft(s) kept as anonymous counts; {done.deliveries_scrubbed} raw delivery "
        "body(ies) scrubbed"
    )
