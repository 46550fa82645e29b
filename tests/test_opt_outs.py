"""Opt-outs: the customer's own words in the inbox's languages, recorded once and for good."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from core.db import session_scope
from core.models import Account, Contact, OptOut
from core.opt_outs import opt_out, opted_out, opted_out_among
from core.stop_words import languages, opt_out_phrase

NOW = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "locales", "phrase"),
    [
        ("STOP", (), "stop"),
        ("Stop!!", (), "stop"),
        ("stop please", (), "stop"),
        ("no thanks 🙏", (), "no thanks"),
        ("No thank you.", (), "no thank you"),
        ("ok no thanks, bye", (), "no thanks"),
        ("please unsubscribe me", (), "unsubscribe"),
        ("Don't contact me again", (), "dont contact me"),
        ("do not message me anymore", (), "do not message me"),
        ("Nein danke", ("de-DE",), "nein danke"),
        ("Bitte nicht mehr schreiben", ("de",), "nicht mehr schreiben"),
        ("Não, obrigado", ("pt-BR",), "não obrigado"),
        ("no gracias", ("es",), "no gracias"),
        ("Arrêtez de m'écrire", ("fr",), "arretez de m ecrire"),
        ("no grazie", ("it",), "no grazie"),
        ("nee bedankt", ("nl",), "nee bedankt"),
        # English is checked whatever the inbox's languages.
        ("STOP", ("de",), "stop"),
    ],
)
def test_an_opt_out_in_the_inbox_languages_is_found(
    text: str, locales: tuple[str, ...], phrase: str
) -> None:
    assert opt_out_phrase(text, locales) == phrase


@pytest.mark.parametrize(
    ("text", "locales"),
    [
        ("No thanks, but is the blue one in stock?", ()),
        ("What stops the rain getting in?", ()),
        ("ok thanks", ()),
        ("Is it waterproof?", ()),
        ("hello??", ()),
        ("", ()),
        ("🙏", ()),
        # A German opt-out in an inbox that doesn't sell in German is not looked for.
        ("nein danke", ()),
        ("Danke, bis morgen!", ("de",)),
    ],
)
def test_ordinary_messages_are_not_opt_outs(text: str, locales: tuple[str, ...]) -> None:
    assert opt_out_phrase(text, locales) is None


def test_languages_come_from_the_locales_with_english_first() -> None:
    assert languages(["de-DE", "pt-BR", "de-AT", "xx"]) == ("en", "de", "pt")


def _contact(session: Session, contact_id: int) -> None:
    if session.get(Account, 1) is None:
        session.add(Account(id=1))
        session.flush()
    session.add(Contact(id=contact_id, account_id=1))


def test_an_opt_out_is_recorded_once_and_the_first_one_wins(engine: Engine) -> None:
    with session_scope(engine) as session:
        _contact(session, 7)
        _contact(session, 8)
    with session_scope(engine) as session:
        assert not opted_out(session, 7)
        assert opt_out(session, 7, source="keyword", detail="stop", conversation_id=3, now=NOW)
    with session_scope(engine) as session:
        assert not opt_out(session, 7, source="rep", actor="21", now=NOW)
    with Session(engine) as session:
        rows = session.exec(select(OptOut)).all()
        assert [(r.contact_id, r.source, r.detail) for r in rows] == [(7, "keyword", "stop")]
        assert opted_out(session, 7) and not opted_out(session, 8) and not opted_out(session, None)
        assert opted_out_among(session, {7, 8}) == {7}


def test_an_unknown_source_is_refused(engine: Engine) -> None:
    with session_scope(engine) as session, pytest.raises(ValueError, match="source"):
        opt_out(session, 7, source="guess", now=NOW)
