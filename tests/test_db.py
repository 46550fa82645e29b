"""SQLite under several writers: a transaction waits for the write lock, takes it as soon as
it is free, and gives up with SQLAlchemy's own error."""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from core import db


def hold_the_lock(path: Path, seconds: float, held: threading.Event) -> None:
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    held.set()
    time.sleep(seconds)
    other.execute("COMMIT")
    other.close()


def test_a_writer_takes_the_lock_within_milliseconds_of_its_release(tmp_path: Path) -> None:
    path = tmp_path / "w.db"
    engine = db.make_engine(f"sqlite:///{path}")
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY)"))
    waits = []
    # SQLite's own busy handler sleeps up to 100 ms between looks: behind a lock held for
    # a second, a writer would typically come in tens of milliseconds late.
    for _ in range(5):
        held = threading.Event()
        holder = threading.Thread(target=hold_the_lock, args=(path, 0.3, held))
        holder.start()
        held.wait()
        started = time.monotonic()
        with engine.begin() as connection:
            got = time.monotonic()
            connection.execute(text("INSERT INTO t DEFAULT VALUES"))
        holder.join()
        waits.append(got - started - 0.3)
    assert max(waits) < 0.02, waits
    with engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM t")).scalar() == 5
    engine.dispose()


def test_a_writer_gives_up_with_sqlalchemys_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(db, "BUSY_SECONDS", 0.2)
    path = tmp_path / "w.db"
    engine = db.make_engine(f"sqlite:///{path}")
    with engine.begin() as connection:  # in WAL mode from here on, as Wingman's are
        connection.execute(text("SELECT 1"))
    held = threading.Event()
    holder = threading.Thread(target=hold_the_lock, args=(path, 1.0, held))
    holder.start()
    held.wait()
    started = time.monotonic()
    with pytest.raises(OperationalError, match="locked"):
        with engine.begin() as connection:
            connection.execute(text("SELECT 1"))
    assert 0.2 <= time.monotonic() - started < 0.8
    holder.join()
    engine.dispose()
