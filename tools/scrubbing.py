"""Scrubbing a forgotten contact's raw webhook bodies: recognising the contact in a body
(``Identity``, ``concerns``, ``contacts_in``) and replacing the bodies that are theirs."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, or_, update
from sqlmodel import Session, col, select

from core.models import Contact, Conversation, Delivery

SCRUBBED_BODY = json.dumps({"scrubbed": True, "reason": "contact forgotten"})
_BATCH = 500


def scrub_deliveries(
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
