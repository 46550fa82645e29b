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
- **Scrubbed:** raw webhook bodies of the contact's conversations, or in which a contact
  is them (by Chatwoot contact id, or a whole email, phone or identifier), become a marker;
  the row stays for delivery counts and is marked processed, so no sweeper re-applies it.
  Other customers' bodies stay as they are, processed or not, even where their text or a
  timestamp contains the contact's id or email: they are that customer's words.
- **Recorded:** a tombstone with the actor, the time and what was removed, as counts. The
  history import skips the contact's conversations and messages from before it.

New webhook data after a forget is stored as usual: a customer who writes again has
started a new conversation with the business, which is new consent.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import and_, delete, func, or_, update
from sqlmodel import Session, col, select

from core.models import (
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

    scrubbed = _scrub_deliveries(session, conversations, identity, now=now)
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
    conversations: list[Conversation],
    identity: Identity,
    *,
    now: datetime,
) -> int:
    """Replace the raw bodies that concern the contact with a marker.

    A body concerns them if a contact in it is them (see ``concerns``), or if it belongs to
    one of their conversations and names no other contact. Every Chatwoot body about a
    contact carries their id, so only bodies of their conversations or holding its digits
    (or one of their identifying values) are read; the digits alone decide nothing, since
    any timestamp may contain them.
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
        *(col(Delivery.body).contains(n, autoescape=True) for n in identity.needles()),
    )
    rows = session.execute(
        select(
            Delivery.id, Delivery.account_id, Delivery.conversation_display_id, Delivery.body
        ).where(candidates, Delivery.body != SCRUBBED_BODY)
    )
    doomed = [
        row.id
        for row in rows
        if concerns(
            row.body,
            identity,
            in_their_conversation=row.conversation_display_id
            in by_account.get(row.account_id or 0, ()),
        )
    ]
    for start in range(0, len(doomed), _BATCH):
        batch = doomed[start : start + _BATCH]
        session.execute(
            update(Delivery).where(col(Delivery.id).in_(batch)).values(body=SCRUBBED_BODY)
        )
        # Their own unprocessed deliveries: the worker must not act on what is gone.
        session.execute(
            update(Delivery)
            .where(col(Delivery.id).in_(batch), col(Delivery.processed_at).is_(None))
            .values(processed_at=now)
        )
    return len(doomed)


@dataclass(frozen=True)
class Identity:
    """How Chatwoot identifies a contact: the id, and the values unique to them in an
    account (Chatwoot validates email, phone number and identifier as unique per account).
    Not the name: another customer may well be called "Maya" too."""

    id: int
    email: str | None = None
    phone_number: str | None = None
    identifier: str | None = None

    @classmethod
    def of(cls, contact_id: int, contact: Contact | None) -> Identity:
        if contact is None:
            return cls(contact_id)
        return cls(contact_id, contact.email, contact.phone_number, contact.identifier)

    def needles(self) -> list[str]:
        """Text every raw body about the contact holds: narrows the search, decides nothing."""
        values = (self.email, self.phone_number, self.identifier)
        return [str(self.id), *(v for v in values if v and v.strip())]

    def matches(self, person: dict[str, Any]) -> bool | None:
        """Whether a contact object from a body is them (True), someone else (False), or
        carries nothing that tells (None). Whole values only, never parts of one."""
        person_id = person.get("id")
        if isinstance(person_id, int) and not isinstance(person_id, bool):
            return person_id == self.id  # Chatwoot's contact ids are global, not per account
        pairs = (
            ("email", self.email, str.casefold),  # Chatwoot compares emails ignoring case
            ("phone_number", self.phone_number, str),
            ("identifier", self.identifier, str),
        )
        told = None
        for key, mine, norm in pairs:
            value = person.get(key)
            if not (mine and mine.strip() and isinstance(value, str) and value.strip()):
                continue
            if norm(value.strip()) == norm(mine.strip()):
                return True
            told = False
        return told


def concerns(body: str, identity: Identity, *, in_their_conversation: bool = False) -> bool:
    """Whether a raw webhook body is the contact's to scrub.

    It is if any contact it names is them; a body of one of their conversations is, unless
    it names only other contacts (Chatwoot moved the conversation, e.g. by merging
    contacts). Another contact's body is never theirs, not even one whose text or
    timestamps happen to contain their id, email or phone number: it is that customer's,
    and the worker may still have to act on it.
    """
    try:
        data = json.loads(body)
    except ValueError:
        return in_their_conversation
    if not isinstance(data, dict):
        return in_their_conversation
    verdicts = [identity.matches(person) for person in contacts_in(data)]
    if True in verdicts:
        return True
    return in_their_conversation and False not in verdicts


def contacts_in(body: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """The objects of a Chatwoot webhook body that stand for a contact (CONTRACT.md 1.3-1.6).

    Free-form hashes (custom, additional and content attributes, changed attributes) and
    message text are not among them: what they hold is someone's words, not who they are.
    """
    if body.get("event") in ("contact_created", "contact_updated"):
        yield body  # account webhooks, not agent bots, get these; the body is the contact
    yield from _contact(body.get("sender"))  # message events: a contact sender has no type
    yield from _contact(body.get("contact"))  # webwidget_triggered
    # The conversation: a conversation event's body, a message's, or the widget's current one.
    for conversation in (body, body.get("conversation"), body.get("current_conversation")):
        if not isinstance(conversation, dict):
            continue
        meta = conversation.get("meta")
        if isinstance(meta, dict):
            yield from _contact(meta.get("sender"))
        contact_inbox = conversation.get("contact_inbox")
        if isinstance(contact_inbox, dict) and "contact_id" in contact_inbox:
            yield {"id": contact_inbox["contact_id"]}
        messages = conversation.get("messages")
        for message in messages if isinstance(messages, list) else ():
            if not isinstance(message, dict):
                continue
            yield from _contact(message.get("sender"))
            if message.get("sender_type") == "Contact":  # push format: Rails' class name
                yield {"id": message.get("sender_id")}


def _contact(value: Any) -> Iterator[dict[str, Any]]:
    # Users, agent bots and Captain always carry a type; a webhook's contact sender has none.
    if isinstance(value, dict) and value.get("type") in (None, "contact"):
        yield value


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
