"""Export stored conversations for analysts (``flask --app bot export``).

One row per message or per conversation, as JSON Lines or CSV. Rows stream from a
server-side cursor, so memory stays flat however large the export; the file appears at
``out`` only once it is complete (``-``, stdout, cannot promise that). What each column
means: docs/export.md.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from sqlalchemy.engine import Engine

from core.pricing import Prices
from tools.export.columns import (
    CONVERSATION_COLUMNS,
    FORMATS,
    MESSAGE_COLUMNS,
    PER,
    YIELD_PER,
)
from tools.export.output import OutputError, atomic_file, check_out, write
from tools.export.queries import (
    Filters,
    conversation_query,
    count,
    message_query,
    reading,
    stream,
)
from tools.export.rows import conversation_rows, message_rows, pseudonymizer, same_contact

__all__ = [
    "CONVERSATION_COLUMNS",
    "FORMATS",
    "MESSAGE_COLUMNS",
    "PER",
    "Filters",
    "OutputError",
    "atomic_file",
    "check_out",
    "export",
    "message_query",
    "reading",
    "stream",
    "write",
]


def export(
    engine: Engine,
    out: str | Path,
    *,
    per: str = "message",
    fmt: str = "jsonl",
    filters: Filters = Filters(),  # noqa: B008 - frozen, so sharing the default is safe
    prices: Prices = Prices(),  # noqa: B008
    pseudonym_key: str | None = None,
    progress: Callable[[int, int], None] | None = None,
    yield_per: int = YIELD_PER,
    force: bool = False,
) -> int:
    """Export to ``out`` and return the number of rows.

    ``progress``, if given, hears (rows done, total rows) every thousand rows and at the end.

    With ``pseudonym_key``, contact ids become keyed hashes (see ``pseudonymizer``). Raises
    OutputError for an ``out`` that ``check_out`` refuses.
    """
    if per not in PER:
        raise ValueError(f"unknown --per {per!r}; expected one of {', '.join(PER)}")
    check_out(out, engine=engine, force=force)
    contact = pseudonymizer(pseudonym_key) if pseudonym_key else same_contact
    query = message_query(filters) if per == "message" else conversation_query(filters)
    with reading(engine) as connection:
        report = None
        if progress is not None:
            total, tell = count(connection, query), progress
            report = lambda done: tell(done, total)  # noqa: E731
        records = stream(connection, query, yield_per)
        if per == "message":
            rows = message_rows(records, contact=contact)
            columns: Sequence[str] = MESSAGE_COLUMNS
        else:
            rows = conversation_rows(records, prices=prices, contact=contact)
            columns = CONVERSATION_COLUMNS
        return write(rows, out, columns=columns, fmt=fmt, progress=report, force=force)
