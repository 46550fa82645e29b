"""`contact forget`: nothing personal is left in any table, counts stay, the import obeys.

The check reads every row of every table (whatever tables exist when it runs) and looks
for the contact's name, email, phone, identifier, IP, address and every text they or the
bot wrote, in plain columns, JSON columns and raw webhook bodies (JSON-decoded too,
because bodies may hold them \\u-escaped).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy
from sqlalchemy.engine import Engine
from sqlmodel import Session, SQLModel, select

from bot.commands.contact import contact_group
from core.db import session_scope
from core.models import (
    Arm,
    Assignment,
    Contact,
    Conversation,
    Delivery,
    Draft,
    DraftMessage,
    Experiment,
    ForgottenContact,
    Handoff,
    Message,
    OutboxItem,
)
from experiments.outcomes import outcome
from standins import chatwoot_webhook_bodies as webhook_bodies
from standins.chatwoot import ChatwootStandin, serve
from standins.chatwoot_changes import Change
from standins.chatwoot_records import Conversation as StandinConversation
from tests.conftest import load_event, store_event
from tests.test_import import BOT, BOT_SENDER, T0, USER, make_reader, run
from tools.forget import forget_contact
from tools.scrubbing import SCRUBBED_BODY, Identity, concerns

NAME, EMAIL, PHONE = "Zoë Quill", "zoe.quill@example.com", "+4915112345678"
IDENTIFIER, IP, ADDRESS = "crm-zq-8841", "203.0.113.77", "12 Elm Street, Leeds"
FORGET_AT = datetime(2026, 6, 10, 12, 0, tzinfo=UTC)
LATER = datetime(2026, 6, 12, 9, 0, tzinfo=UTC).timestamp()


@pytest.fixture
def standin() -> Iterator[ChatwootStandin]:
    server = serve(bot_token=BOT, user_token=USER)
    yield server
    server.stop()


class Zoe:
    """Zoë's two conversations and Omar's one, in the stand-in and then in Wingman."""

    def __init__(self, server: ChatwootStandin) -> None:
        self.server = server
        account, t = server.account, T0.timestamp()
        with account.lock:
            self.first = account.open_conversation(
                None, contact={"name": NAME, "email": EMAIL}, assignee=None, now=t
            )
            self.contact = self.first.contact
            self.say(self.first, f"Hi, I'm {NAME}, please deliver to {ADDRESS}", t + 1)
            self.reply(self.first, f"Thanks {NAME}! We deliver to {ADDRESS} on Tuesdays.", t + 2)
            voice = [{"file_type": "audio", "transcribed_text": f"my number is {PHONE}"}]
            self.say(self.first, "Call me if the van is late", t + 3, voice)
            self.first.custom_attributes = {"shipping_address": ADDRESS, "deal_value": "249"}
            self.first.labels, self.first.status = ["sold"], "resolved"

            self.second = account.open_conversation(None, contact={}, assignee=None, now=t + 60)
            self.second.contact = self.contact  # a returning customer
            self.say(self.second, "Zoë again: does the Trail Tent come in green?", t + 61)
            self.reply(self.second, "It does, Zoë!", t + 62)

            omar = {"name": "Omar Berg", "email": "omar@example.com"}
            self.omar = account.open_conversation(None, contact=omar, assignee=None, now=t + 120)
            # Zoë's contact id inside another customer's text: read, but not hers.
            self.say(self.omar, f"Is the stove in stock? Order #{self.contact.id}", t + 121)

    def say(self, conversation: StandinConversation, text: str, t: float, files: Any = ()) -> None:
        self.server.account.customer_says(conversation, text, list(files), now=t)

    def reply(self, conversation: StandinConversation, text: str, t: float) -> None:
        self.server.account.post(
            conversation, text, private=False, sender=BOT_SENDER, content_attributes={}, now=t
        )

    def texts(self) -> list[str]:
        """Everything Zoë and the bot said to her, and the voice note's transcript."""
        said = [m.content for c in (self.first, self.second) for m in c.messages if m.content]
        return [*said, f"my number is {PHONE}"]

    def needles(self) -> list[str]:
        return [
            NAME,
            "Quill",
            EMAIL,
            PHONE,
            IDENTIFIER,
            IP,
            ADDRESS,
            "Elm Street",
            self.contact.source_id,
            *self.texts(),
        ]

    def deliver(self, engine: Engine) -> None:
        """Webhooks for her messages (with the phone and identifier her CRM added), a
        widget opening with her IP, and one of Omar's."""
        account = self.server.account
        with account.lock:
            bodies = [
                webhook_bodies.webhook(account, Change("message_created", c, m))
                for c in (self.first, self.second, self.omar)
                for m in c.messages
            ]
            bodies.append(
                webhook_bodies.webhook(account, Change("conversation_resolved", self.first))
            )
        for n, body in enumerate(bodies):
            for sender in (body.get("sender"), body.get("conversation", body)["meta"]["sender"]):
                if sender and sender.get("id") == self.contact.id:
                    sender.update(phone_number=PHONE, identifier=IDENTIFIER)
            store_event(engine, body, key=f"delivery-{n}", received_at=FORGET_AT)
        widget = load_event("webwidget_triggered")
        widget["contact"].update(
            id=self.contact.id, name=NAME, email=EMAIL, additional_attributes={"created_at_ip": IP}
        )
        store_event(engine, widget, key="widget", received_at=FORGET_AT)

    def pk(self, session: Session, conversation: StandinConversation) -> int:
        query = select(Conversation.id).where(Conversation.display_id == conversation.id)
        found = session.exec(query).one()
        assert found is not None
        return found


def add_bot_work(engine: Engine, zoe: Zoe) -> None:
    """What the bot did for Zoë: drafts quoting her, an outbox, a handoff, an arm."""
    with session_scope(engine) as session:
        first = zoe.pk(session, zoe.first)
        checks = {
            "passed": False,
            "failed": ["links"],
            "checks": {"links": {"passed": False, "detail": f"{EMAIL} is not an allowed link"}},
        }
        pending = Draft(
            conversation_id=first,
            state="pending",
            bubbles=[f"Hi {NAME}, {ADDRESS} is in our delivery area"],
            answered_questions=[f"Do you deliver to {ADDRESS}?"],
            handoff_note=f"{NAME} wants to pay by invoice",
            hint=f"mention {ADDRESS}",
            guardrails=checks,
            created_at=FORGET_AT,
        )
        sent = Draft(
            conversation_id=first,
            state="sent",
            bubbles=["It does!"],
            sent_text=f"It does, {NAME}!",
            failure=f"Chatwoot returned 422: {NAME}",
            created_at=FORGET_AT,
        )
        session.add_all([pending, sent])
        session.flush()
        her_message = zoe.first.messages[0].id
        assert pending.id is not None
        session.add(DraftMessage(draft_id=pending.id, message_id=her_message))
        session.add(
            OutboxItem(
                key=f"draft:{pending.id}:note",
                conversation_id=first,
                draft_id=pending.id,
                content=f"D{pending.id} for {NAME}: {ADDRESS}",
                last_error=f"Chatwoot returned 500: {EMAIL}",
                created_at=FORGET_AT,
            )
        )
        session.add(
            OutboxItem(
                key="handoff:1:status",
                conversation_id=first,
                action="status",
                content="open",
                state="sent",
                created_at=FORGET_AT,
            )
        )
        session.add(
            Handoff(
                conversation_id=first,
                reason="ready_to_pay",
                note=f"{NAME} ({PHONE}) wants an invoice",
                created_at=FORGET_AT,
            )
        )
        session.add(Experiment(name="sales-styles", mode="fixed", updated_at=FORGET_AT))
        session.flush()
        arm = Arm(
            experiment="sales-styles",
            key="control",
            version=1,
            content_hash="c0ffee",
            created_at=FORGET_AT,
        )
        session.add(arm)
        session.flush()
        assert arm.id is not None
        session.add(
            Assignment(
                contact_id=zoe.contact.id,
                experiment="sales-styles",
                arm_key="control",
                arm_id=arm.id,
                probability=0.5,
                assigned_at=FORGET_AT,
            )
        )


def leftovers(engine: Engine, needles: list[str]) -> list[str]:
    """Where any needle appears, as "table.column: needle", across every table."""
    found = []
    lowered = [needle.lower() for needle in needles]
    with engine.connect() as connection:
        for table in SQLModel.metadata.sorted_tables:
            for row in connection.execute(sqlalchemy.select(table)).mappings():
                for column, value in row.items():
                    for text in _texts(value):
                        found += [
                            f"{table.name}.{column}: {needle}"
                            for needle, low in zip(needles, lowered, strict=True)
                            if low in text.lower()
                        ]
    return sorted(set(found))


def _texts(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        try:
            return [value, json.dumps(json.loads(value), ensure_ascii=False)]
        except ValueError:
            return [value]
    return [json.dumps(value, ensure_ascii=False, default=str)]


def prepared(engine: Engine, server: ChatwootStandin) -> Zoe:
    zoe = Zoe(server)
    run(engine, make_reader(server)[0])
    zoe.deliver(engine)
    add_bot_work(engine, zoe)
    return zoe


def test_forget_leaves_no_personal_data_in_any_table(
    engine: Engine,
    standin: ChatwootStandin,
    make_app: Any,
) -> None:
    zoe = prepared(engine, standin)
    before = leftovers(engine, zoe.needles())
    tables = {hit.split(".")[0] for hit in before}
    assert {"contacts", "conversations", "messages", "deliveries"} <= tables
    assert {"drafts", "outbox", "handoffs"} <= tables  # so the check below can fail
    with Session(engine) as session:
        deliveries = len(session.exec(select(Delivery)).all())
        contact = session.get(Contact, zoe.contact.id)
        assert contact is not None and (contact.phone_number, contact.identifier) == (
            PHONE,
            IDENTIFIER,
        )

    app = make_app(now=lambda: FORGET_AT)
    app.cli.add_command(contact_group)
    args = ["contact", "forget", str(zoe.contact.id), "--actor", "Lena Vogt"]
    result = app.test_cli_runner().invoke(args=args)

    assert result.exit_code == 0, result.output
    assert f"contact {zoe.contact.id} forgotten (by Lena Vogt): 5 message(s) deleted" in (
        result.output
    )
    assert leftovers(engine, zoe.needles()) == []

    with Session(engine) as session:
        # Omar is untouched, his raw body too, although it holds Zoë's contact id.
        omar = session.get(Contact, zoe.omar.contact.id)
        assert omar is not None and omar.name == "Omar Berg"
        omar_bodies = [d.body for d in session.exec(select(Delivery)) if "Omar Berg" in d.body]
        assert len(omar_bodies) == 1 and str(zoe.contact.id) in omar_bodies[0]
        assert len(session.exec(select(Message)).all()) == 1

        # Anonymous counts stay: rows, labels, the deal value, states, reasons.
        rows = session.exec(select(Conversation).where(Conversation.contact_id == zoe.contact.id))
        kept = {c.display_id: c for c in rows}
        assert set(kept) == {zoe.first.id, zoe.second.id}
        first = kept[zoe.first.id]
        assert first.labels == ["sold"] and first.custom_attributes == {"deal_value": "249"}
        assert outcome(first).converted and outcome(first).value == Decimal("249")
        drafts = sorted(session.exec(select(Draft)), key=lambda d: d.id or 0)
        assert [d.state for d in drafts] == ["discarded", "sent"]
        assert drafts[0].guardrails == {
            "passed": False,
            "failed": ["links"],
            "checks": {"links": {"passed": False, "detail": ""}},
        }
        assert session.exec(select(DraftMessage)).all() == []
        outbox = {o.action: o for o in session.exec(select(OutboxItem))}
        assert (outbox["message"].state, outbox["message"].content) == ("failed", "")
        assert outbox["message"].last_error == "contact forgotten"
        assert (outbox["status"].state, outbox["status"].content) == ("sent", "open")
        [handoff] = session.exec(select(Handoff)).all()
        assert (handoff.reason, handoff.note) == ("ready_to_pay", None)
        assert len(session.exec(select(Assignment)).all()) == 1

        # Raw bodies: scrubbed, counted, and never processed again.
        after = session.exec(select(Delivery)).all()
        assert len(after) == deliveries
        scrubbed = [d for d in after if d.body == SCRUBBED_BODY]
        assert len(scrubbed) == deliveries - 1
        assert all(d.processed_at is not None for d in scrubbed)

        [tombstone] = session.exec(select(ForgottenContact)).all()
        assert (tombstone.contact_id, tombstone.actor, tombstone.forgotten_at) == (
            zoe.contact.id,
            "Lena Vogt",
            FORGET_AT,
        )
        assert (tombstone.conversations, tombstone.messages_deleted) == (2, 5)
        assert tombstone.deliveries_scrubbed == deliveries - 1


def test_a_forgotten_contact_is_not_imported_again(
    engine: Engine,
    standin: ChatwootStandin,
) -> None:
    zoe = prepared(engine, standin)
    with session_scope(engine) as session:
        forget_contact(session, zoe.contact.id, actor="Lena Vogt", now=FORGET_AT)

    stats = run(engine, make_reader(standin)[0])
    assert (stats.unchanged, stats.messages) == (3, 0)
    assert leftovers(engine, zoe.needles()) == []
    # Even from scratch, ignoring every cursor: the tombstone alone keeps her out.
    stats = run(engine, make_reader(standin)[0], restart=True)
    assert (stats.forgotten, stats.fetched, stats.messages) == (2, 1, 1)
    assert leftovers(engine, zoe.needles()) == []

    # She writes again, in the old conversation and in a new one: new consent.
    old = zoe.needles()
    with standin.account.lock:
        zoe.say(zoe.first, "I'm back: a second tent, please", LATER)
        third = standin.account.open_conversation(None, contact={}, assignee=None, now=LATER)
        third.contact = zoe.contact
        zoe.say(third, "And do you sell stoves?", LATER + 1)
    stats = run(engine, make_reader(standin)[0])
    assert (stats.fetched, stats.messages) == (2, 2)
    stats = run(engine, make_reader(standin)[0], restart=True)
    assert stats.messages == 2 + 1  # hers since the forget, and Omar's
    with Session(engine) as session:
        contact = session.get(Contact, zoe.contact.id)
        assert contact is not None and contact.name == NAME  # from the new conversations
        theirs = session.exec(
            select(Message.content)
            .join(Conversation)
            .where(Conversation.contact_id == zoe.contact.id)
        ).all()
    assert sorted(c or "" for c in theirs) == [
        "And do you sell stoves?",
        "I'm back: a second tent, please",
    ]
    # Her name, email and address on the channel come back with what she sent since.
    returned = (NAME, "Quill", EMAIL, zoe.contact.source_id)
    assert leftovers(engine, [n for n in old if n not in returned]) == []

    # The webhook stores what she sends after the forget, as always.
    with standin.account.lock:
        zoe.say(third, "Green, please", LATER + 2)
        body = webhook_bodies.webhook(
            standin.account, Change("message_created", third, third.messages[-1])
        )
    assert not store_event(engine, body, key="after-forget", received_at=FORGET_AT).duplicate
    with Session(engine) as session:
        assert session.get(Message, third.messages[-1].id) is not None


def test_forgetting_is_audited_even_for_a_contact_wingman_never_saw(
    engine: Engine, make_app: Any
) -> None:
    app = make_app(now=lambda: FORGET_AT)
    app.cli.add_command(contact_group)
    runner = app.test_cli_runner()
    no_actor = runner.invoke(args=["contact", "forget", "4999"])
    assert no_actor.exit_code == 2 and "--actor" in no_actor.output
    blank = runner.invoke(args=["contact", "forget", "4999", "--actor", "  "])
    assert blank.exit_code == 2 and "must name who is asking" in blank.output
    for _ in range(2):  # forgetting twice is harmless, and audited twice
        done = runner.invoke(args=["contact", "forget", "4999", "--actor", "Daniel"])
        assert done.exit_code == 0, done.output
        assert "0 message(s) deleted" in done.output
    with Session(engine) as session:
        audit = session.exec(select(ForgottenContact)).all()
    assert [(t.contact_id, t.actor, t.forgotten_at) for t in audit] == [
        (4999, "Daniel", FORGET_AT)
    ] * 2


ZQ = Identity(7, email="zq@example.com", phone_number="+4915100000007", identifier="crm-7")
ZQ_SENDER = {"id": 7, "email": "zq@example.com", "identifier": "crm-7"}


@pytest.mark.parametrize(
    ("body", "theirs"),
    [
        ({"contact": {"id": 7, "name": "x"}}, True),
        ({"meta": {"sender": {"id": 7, "type": "contact"}}}, True),
        ({"conversation": {"meta": {"sender": {"id": 7, "type": "contact"}}}}, True),
        ({"current_conversation": {"contact_inbox": {"contact_id": 7}}}, True),
        ({"contact_inbox": {"contact_id": 7}}, True),
        ({"messages": [{"sender_type": "Contact", "sender_id": 7}]}, True),
        ({"messages": [{"sender_type": "User", "sender_id": 7}]}, False),  # agent 7
        ({"sender": {"id": 7}, "message_type": "incoming"}, True),  # no type: a contact
        ({"sender": {"id": 7, "type": "user"}}, False),  # agent 7 is someone else
        ({"id": 7, "inbox": {"id": 7}}, False),
        ({"event": "contact_updated", "id": 7, "email": "zq@example.com"}, True),
        # Whole values where a contact is, in any case for an email.
        ({"sender": {"email": "ZQ@example.com"}}, True),
        ({"sender": {"phone_number": "+4915100000007"}}, True),
        ({"sender": {"identifier": "crm-7"}}, True),
        ({"sender": {"identifier": "crm-77"}}, False),
        # Another contact (in another account) with the same email: told apart by the id.
        ({"sender": {"id": 8, "email": "zq@example.com"}}, False),
        # Never parts of a value, nor someone's words, nor a free-form hash.
        ({"content": "write to ZQ@example.com"}, False),
        ({"content": "order #7", "timestamp": 1781774007}, False),
        ({"sender": {"identifier": "crm-7-b", "email": "xzq@example.com.au"}}, False),
        ({"custom_attributes": {"contact_id": 7, "contact": {"id": 7}}}, False),
        ({"additional_attributes": {"sender": {"id": 7}}}, False),
        ({"changed_attributes": [{"contact_id": {"current_value": 7}}]}, False),
        ({"sender": {"id": True}}, False),
        ([7], False),
    ],
)
def test_which_raw_bodies_concern_the_contact(body: Any, theirs: bool) -> None:
    assert concerns(json.dumps(body), ZQ) is theirs


@pytest.mark.parametrize(
    ("sender", "theirs"),
    [
        (ZQ_SENDER, True),  # a body of their conversation, which names them
        (None, True),  # one that names nobody (a template's sender is null): still theirs
        ({"id": 8, "email": "omar@example.com"}, False),  # moved to someone else (merged)
        ({"id": 8, "type": "user"}, True),  # an agent wrote in their conversation
    ],
)
def test_a_body_of_their_conversation_is_theirs_unless_it_names_only_someone_else(
    sender: dict[str, Any] | None, theirs: bool
) -> None:
    body = {"event": "message_created", "sender": sender, "conversation": {"id": 1}}
    assert concerns(json.dumps(body), ZQ, in_their_conversation=True) is theirs
    assert concerns(json.dumps(body), ZQ) is (sender == ZQ_SENDER)


def test_forget_leaves_another_contacts_unprocessed_delivery_alone(engine: Engine) -> None:
    # Maya (contact 4817) writes; her conversation's timestamps are 1781774038: "…4038".
    maya = load_event("message_created_incoming")
    assert "4038" in json.dumps(maya)
    # Contact 4038, whose CRM identifier is their number, writes in another conversation.
    theirs = load_event("message_created_incoming")
    theirs.update(id=918300, content="Please forget me")
    person = {"id": 4038, "name": "Ada Moss", "email": "ada@example.com", "identifier": "4038"}
    theirs["sender"].update(person)
    conversation = theirs["conversation"]
    conversation.update(id=1500, messages=[])
    conversation["contact_inbox"].update(id=5200, contact_id=4038)
    conversation["meta"]["sender"] = {**conversation["meta"]["sender"], **person}
    store_event(engine, theirs, key="theirs", received_at=FORGET_AT)
    store_event(engine, maya, key="maya", received_at=FORGET_AT)
    with Session(engine) as session:
        before = {d.delivery_key: d for d in session.exec(select(Delivery))}
        contact = session.get(Contact, 4038)
        assert contact is not None and contact.identifier == "4038"
    assert before["maya"].processed_at is None  # the worker has yet to act on it

    with session_scope(engine) as session:
        done = forget_contact(session, 4038, actor="Lena Vogt", now=FORGET_AT)

    assert done.deliveries_scrubbed == 1
    with Session(engine) as session:
        after = {d.delivery_key: d for d in session.exec(select(Delivery))}
        assert session.get(Message, 918273) is not None  # Maya's message is hers
    assert after["maya"].body == before["maya"].body
    assert after["maya"].processed_at is None
    assert after["theirs"].body == SCRUBBED_BODY
    assert after["theirs"].processed_at == FORGET_AT
