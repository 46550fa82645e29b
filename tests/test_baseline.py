"""The human-only baseline beside the arms in the report (issue 7)."""

from __future__ import annotations

import copy
import csv
import io
import json
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import select

from core.db import session_scope
from core.models import Conversation, ImportProgress
from tests.conftest import load_event, store_event

NOW = datetime(2026, 6, 20, 9, 0, tzinfo=UTC)


def imported(engine: Engine, display_id: int, *, labels: list[str], status: str) -> None:
    payload = copy.deepcopy(load_event("conversation_status_changed"))
    payload.update(id=display_id, labels=labels, status=status)
    store_event(engine, payload, key=f"import-{display_id}", received_at=NOW)
    with session_scope(engine) as session:
        conversation = session.exec(
            select(Conversation).where(Conversation.display_id == display_id)
        ).one()
        session.add(
            ImportProgress(
                account_id=conversation.account_id,
                display_id=display_id,
                updated_at=NOW,
                completed_at=NOW,
            )
        )


def test_the_report_shows_conversion_before_the_bot(make_app: Any, engine: Engine) -> None:
    imported(engine, 2001, labels=["sold"], status="resolved")
    imported(engine, 2002, labels=[], status="resolved")
    imported(engine, 2003, labels=[], status="resolved")
    imported(engine, 2004, labels=[], status="open")  # no outcome yet: not counted
    runner = make_app(now=lambda: NOW).test_cli_runner()

    table = runner.invoke(args=["report"])
    assert table.exit_code == 0, table.output
    assert "Human-only baseline (imported, never drafted): 1 of 3 converted, 33.3%" in table.output

    rows = list(csv.DictReader(io.StringIO(runner.invoke(args=["report", "--csv"]).output)))
    [base] = [row for row in rows if row["level"] == "baseline"]
    assert (base["known_outcomes"], base["conversions"]) == ("3", "1")
    assert abs(float(base["conversion_rate"]) - 1 / 3) < 1e-9

    data = json.loads(runner.invoke(args=["report", "--json"]).output)
    assert data["baseline"]["conversions"] == 1 and data["baseline"]["known_outcomes"] == 3
