"""Exporting a million messages: rows per second and peak memory, against bare streaming.

The baseline streams the same query through the same server-side cursor and throws the rows
away, so the ratio is what building, formatting and writing the rows add, whatever the
machine. Each run is a fresh child process, so its peak RSS is the export's alone. Uses the
PostgreSQL at TEST_DATABASE_URL (in a schema of its own, dropped afterwards) if it answers,
else SQLite in a temporary directory.

``python -m bench.export child export|conversations|baseline OUT`` is the child, which
tests/test_export.py uses too; it prints ``{"seconds": ..., "peak_rss_kb": ...}``.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from contextlib import suppress
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import Engine, make_url
from sqlmodel import SQLModel

from core.db import make_engine, migrate

ROOT = Path(__file__).resolve().parents[1]
MESSAGES = 1_000_000
PER_CONVERSATION = 10
BASE_EPOCH = 1_767_225_600  # 2026-01-01T00:00:00Z
CONTENT = "Hi! Does the Trail Tent 2P fit two adults with full-size pads? And the return window?"


def _dialect_sql(engine: Engine) -> dict[str, str]:
    """The few fragments PostgreSQL and SQLite spell differently."""
    if engine.dialect.name == "postgresql":
        return {
            "with": "",
            "series": "generate_series(1, :n) AS s(n)",
            "ts": f"to_timestamp({BASE_EPOCH} + {{}})",
            "json": "CAST({} AS json)",
        }
    # SQLAlchemy stores SQLite datetimes as text in this shape; comparisons are on the text.
    return {
        "with": "WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < :n) ",
        "series": "s",
        "ts": f"strftime('%Y-%m-%d %H:%M:%S', {BASE_EPOCH} + {{}}, 'unixepoch') || '.000000'",
        "json": "{}",
    }


def seed(engine: Engine, messages: int) -> None:
    """Fill an empty, migrated database with ``messages`` messages, generated in the database.

    Ten messages per conversation (customer, bot and human turns, one private note), one
    draft per conversation from one of two arms, posted as its second message through the
    outbox; every fifth conversation sold for 249.00, every third resolved.
    """
    sql = _dialect_sql(engine)
    w, series, ts, js = sql["with"], sql["series"], sql["ts"], sql["json"]
    conversations = -(-messages // PER_CONVERSATION)
    conv = f"((n - 1) / {PER_CONVERSATION} + 1)"  # a message's conversation
    turn = f"((n - 1) % {PER_CONVERSATION})"  # its place in the conversation
    sold, deal = js.format("""'["sold"]'"""), js.format("""'{"deal_value": "249.00"}'""")
    epoch, started = ts.format(0), ts.format(f"n * {PER_CONVERSATION * 10}")
    statements = [
        "INSERT INTO accounts (id, name) VALUES (1, 'Bench')",
        "INSERT INTO inboxes (id, account_id, name, channel) VALUES "
        "(1, 1, 'Web', 'Channel::WebWidget'), (2, 1, 'WhatsApp', 'Channel::Whatsapp')",
        "INSERT INTO experiments (name, mode, min_share, draws, updated_at) "
        f"VALUES ('bench', 'fixed', 0.05, 1000, {epoch})",
        "INSERT INTO arms (id, experiment, key, version, content_hash, instructions, weight, "
        "autonomy, current, created_at) VALUES "
        f"(1, 'bench', 'a', 1, 'a', '', 1.0, 'draft', true, {epoch}), "
        f"(2, 'bench', 'b', 1, 'b', '', 1.0, 'draft', true, {epoch})",
        f"INSERT INTO contacts (id, account_id) {w}SELECT n, 1 FROM {series}",
        "INSERT INTO conversations (id, account_id, display_id, inbox_id, contact_id, channel, "
        "status, labels, custom_attributes, first_seen_at, bot_muted) "
        f"{w}SELECT n, 1, n, n % 2 + 1, n, "
        "CASE WHEN n % 2 = 0 THEN 'Channel::Whatsapp' ELSE 'Channel::WebWidget' END, "
        "CASE WHEN n % 3 = 0 THEN 'resolved' ELSE 'open' END, "
        f"CASE WHEN n % 5 = 0 THEN {sold} END, CASE WHEN n % 5 = 0 THEN {deal} END, "
        f"{started}, false FROM {series}",
        "INSERT INTO messages (id, conversation_id, account_id, inbox_id, message_type, "
        "sender_kind, private, content, created_at, received_at, origin, deleted) "
        f"{w}SELECT n, {conv}, 1, {conv} % 2 + 1, "
        f"CASE WHEN {turn} % 2 = 0 THEN 'incoming' ELSE 'outgoing' END, "
        f"CASE WHEN {turn} % 2 = 0 THEN 'customer' WHEN {turn} % 4 = 1 THEN 'bot' "
        f"ELSE 'human' END, {turn} = 9, '{CONTENT} (' || n || ')', "
        f"{ts.format('n * 10')}, {ts.format('n * 10')}, 'webhook', false FROM {series}",
        "INSERT INTO drafts (id, conversation_id, state, do_not_contact, structured, created_at, "
        "input_tokens, output_tokens, cache_read_input_tokens, cache_write_5m_tokens, "
        "cache_write_1h_tokens, edit_distance, arm_id) "
        f"{w}SELECT n, n, CASE WHEN n % 3 = 0 THEN 'edited' ELSE 'sent' END, false, true, "
        f"{started}, 3000, 200, 2500, 0, 0, CASE WHEN n % 3 = 0 THEN 0.25 END, n % 2 + 1 "
        f"FROM {series}",
        # The second message of each conversation is the bot's: posted from its draft.
        "INSERT INTO outbox (id, key, conversation_id, draft_id, position, action, private, "
        "content, state, attempts, chatwoot_message_id, created_at) "
        f"{w}SELECT n, 'draft:' || n || ':bubble:0', n, n, 0, 'message', false, 'reply', "
        f"'sent', 1, (n - 1) * {PER_CONVERSATION} + 2, {epoch} FROM {series}",
    ]
    with engine.begin() as connection:
        for statement in statements:
            is_message = statement.startswith("INSERT INTO messages")
            connection.execute(text(statement), {"n": messages if is_message else conversations})
        # Statistics, as autovacuum would have them on a real database by now.
        for table in ("contacts", "conversations", "messages", "drafts", "outbox"):
            connection.execute(text(f"ANALYZE {table}"))


def clear(engine: Engine) -> None:
    tables = [t.name for t in SQLModel.metadata.sorted_tables]
    with engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            connection.execute(text(f"TRUNCATE {', '.join(tables)} CASCADE"))
        else:
            for name in reversed(tables):
                connection.execute(text(f"DELETE FROM {name}"))


def run_child(mode: str, database_url: str, out: Path, cwd: Path) -> dict[str, Any]:
    """Run ``child`` in a fresh interpreter on ``database_url``; its report."""
    env = {**os.environ, "DATABASE_URL": database_url, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-m", "bench.export", "child", mode, str(out)],
        cwd=cwd,  # away from a checkout's .env and wingman.toml
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"export child ({mode}) failed:\n{done.stderr}")
    report: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return report


def child(mode: str, out: str) -> None:
    """Export (through the real command) or just stream, then report time and peak RSS."""
    from flask.cli import ScriptInfo

    from bot import create_app
    from bot.commands.export import export_command
    from tools.export import Filters, message_query, reading, stream

    started = time.perf_counter()
    if mode in ("export", "conversations"):
        per = "message" if mode == "export" else "conversation"
        export_command.main(
            args=["--per", per, "--format", "jsonl", "--out", out, "--no-progress"],
            obj=ScriptInfo(create_app=create_app),
            standalone_mode=False,
        )
    else:
        engine = create_app().extensions["wingman"].engine
        with reading(engine) as connection:
            for _row in stream(connection, message_query(Filters())):
                pass
    seconds = time.perf_counter() - started
    print(json.dumps({"seconds": seconds, "peak_rss_kb": peak_rss_kb()}))


def peak_rss_kb() -> int:
    """This process's peak resident memory, in KiB.

    Linux carries ``ru_maxrss`` across exec, so a child forked from a large parent (pytest)
    would report the parent's size; VmHWM belongs to the new program alone.
    """
    with suppress(OSError):
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def _postgres(url: str, schema: str) -> tuple[Engine, Engine] | None:
    admin = make_engine(url)
    try:
        with admin.begin() as connection:
            connection.execute(text(f"create schema {schema}"))
    except Exception:  # noqa: BLE001 - unreachable for any reason: fall back to SQLite
        admin.dispose()
        return None
    separator = "&" if "?" in url else "?"
    return admin, make_engine(f"{url}{separator}options=-csearch_path%3D{schema}")


def main(messages: int = MESSAGES) -> None:
    url = os.environ.get("TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
    schema = f"wingman_bench_{os.getpid()}"
    shown = make_url(url).render_as_string(hide_password=True)
    with tempfile.TemporaryDirectory(prefix="wm-bench-export-", dir="/tmp") as tmp:
        engines = _postgres(url, schema)
        if engines is None:
            admin, engine = None, make_engine(f"sqlite:///{tmp}/bench.db")
            where = f"SQLite in a temporary directory: no PostgreSQL at {shown}"
        else:
            (admin, engine), where = engines, f"PostgreSQL at {shown}"
        try:
            migrate(engine)
            started = time.perf_counter()
            seed(engine, messages)
            seeded = time.perf_counter() - started
            database_url = engine.url.render_as_string(hide_password=False)
            engine.dispose()
            base = run_child("baseline", database_url, Path(tmp) / "unused", Path(tmp))
            out = Path(tmp) / "export.jsonl"
            full = run_child("export", database_url, out, Path(tmp))
            with out.open("rb") as lines:
                rows = sum(1 for _ in lines)
            assert rows == messages, f"exported {rows} rows, expected {messages}"
            per_conversation = run_child(
                "conversations", database_url, Path(tmp) / "conversations.jsonl", Path(tmp)
            )
        finally:
            engine.dispose()
            if admin is not None:
                with admin.begin() as connection:
                    connection.execute(text(f"drop schema if exists {schema} cascade"))
                admin.dispose()
    print(f"export, {messages:,} messages, one row each, as JSON Lines; on {where}")
    print(f"  seeded in {seeded:.1f} s")
    for name, report in (("baseline: stream and discard", base), ("flask export", full)):
        rate = messages / report["seconds"]
        print(
            f"  {name:29} {report['seconds']:6.1f} s  {rate:9,.0f} rows/s  "
            f"peak RSS {report['peak_rss_kb'] / 1024:6.1f} MiB"
        )
    print(f"  ratio (export / baseline time): {full['seconds'] / base['seconds']:.1f}x")
    conversations = -(-messages // PER_CONVERSATION)
    print(
        f"  --per conversation ({conversations:,} rows)  {per_conversation['seconds']:6.1f} s  "
        f"peak RSS {per_conversation['peak_rss_kb'] / 1024:6.1f} MiB"
    )


if __name__ == "__main__":
    if sys.argv[1:2] == ["child"]:
        child(sys.argv[2], sys.argv[3])
    else:
        main(int(sys.argv[1]) if len(sys.argv) > 1 else MESSAGES)
