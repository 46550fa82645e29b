"""Writing an export: JSON Lines or CSV, progress reported to a callback, and a file that
appears only once complete (never over the database, never over a file unless forced)."""

from __future__ import annotations

import csv
import json
import os
import sys
import tempfile
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any, TextIO

from sqlalchemy.engine import Engine

from tools.export.columns import FORMATS

# Rows between two progress reports: the report costs nothing next to a thousand rows.
PROGRESS_EVERY = 1000


def _csv_value(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return value


def _write_rows(
    rows: Iterable[Mapping[str, Any]],
    out: TextIO,
    *,
    columns: Sequence[str],
    fmt: str,
    progress: Callable[[int], None] | None,
) -> int:
    if fmt == "csv":
        writer = csv.writer(out)
        writer.writerow(columns)

        def emit(row: Mapping[str, Any]) -> None:
            writer.writerow([_csv_value(row[c]) for c in columns])

    else:
        encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode

        def emit(row: Mapping[str, Any]) -> None:
            out.write(encode(row) + "\n")

    done = 0
    for row in rows:
        emit(row)
        done += 1
        if progress is not None and not done % PROGRESS_EVERY:
            progress(done)
    if progress is not None:
        progress(done)
    return done


class OutputError(ValueError):
    """``--out`` names a file the export must not write; the message names it."""


# SQLite keeps a live database in these files: writing over any of them corrupts it.
DATABASE_COMPANIONS = ("-wal", "-shm", "-journal")


def check_out(out: str | Path, *, engine: Engine | None = None, force: bool = False) -> None:
    """Refuse an ``out`` the export must not write, before any row is read.

    Never the SQLite database or a companion file, compared as real paths (``./``, ``..``
    and symlinks resolved, hard links by inode), even with ``force``: the export renamed
    over it would swap the live database for a CSV under every open connection. An
    existing file only with ``force``.
    """
    if str(out) == "-":
        return
    path = Path(out)
    database = _sqlite_file(engine)
    if database is not None:
        real = os.path.realpath(path)
        for suffix in ("", *DATABASE_COMPANIONS):
            protected = Path(database + suffix)
            if real == os.path.realpath(protected) or _same_file(path, protected):
                what = f"the database's {suffix} file" if suffix else "the database"
                raise OutputError(
                    f"{out} is {what} ({os.path.realpath(protected)}); export to another file"
                )
    if path.is_dir():
        raise OutputError(f"{out} is a directory")
    if not path.parent.is_dir():
        raise OutputError(f"the directory {path.parent} does not exist")
    if os.path.lexists(path) and not force:
        raise OutputError(f"{out} already exists; pass --force to replace it")


def _sqlite_file(engine: Engine | None) -> str | None:
    if engine is None or engine.dialect.name != "sqlite":
        return None
    database = engine.url.database
    return database if database and database != ":memory:" else None


def _same_file(a: Path, b: Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:  # either one missing
        return False


@contextmanager
def atomic_file(path: Path, *, replace: bool = False) -> Iterator[TextIO]:
    """A file that appears at ``path`` complete or not at all.

    It is written beside ``path`` (``os.replace`` is atomic only within a file system) and
    removed on any exception, Ctrl-C included. It is created 0600: it holds customer messages.
    Without ``replace`` it never takes the place of a file that appeared meanwhile.
    """
    fd, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as stream:
            yield stream
            stream.flush()
            os.fsync(stream.fileno())
        if replace:
            os.replace(temporary, path)
        else:
            _publish_new(temporary, path)
    except BaseException:
        with suppress(FileNotFoundError):
            os.unlink(temporary)
        raise


def _publish_new(temporary: str, path: Path) -> None:
    # A hard link fails on an existing name, atomically, where a rename would overwrite it.
    try:
        os.link(temporary, path)
    except FileExistsError:
        raise OutputError(f"{path} already exists; pass --force to replace it") from None
    except OSError:  # a file system without hard links: check, then rename
        if os.path.lexists(path):
            raise OutputError(f"{path} already exists; pass --force to replace it") from None
        os.replace(temporary, path)
        return
    os.unlink(temporary)


def write(
    rows: Iterable[Mapping[str, Any]],
    out: str | Path,
    *,
    columns: Sequence[str],
    fmt: str,
    progress: Callable[[int], None] | None = None,
    force: bool = False,
) -> int:
    """Write ``rows`` as ``fmt`` to the file ``out`` atomically, or to stdout for ``-``.

    An existing ``out`` is replaced only with ``force``; otherwise it raises OutputError.
    """
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}; expected one of {', '.join(FORMATS)}")
    if str(out) == "-":
        stdout = sys.stdout
        return _write_rows(rows, stdout, columns=columns, fmt=fmt, progress=progress)
    with atomic_file(Path(out), replace=force) as stream:
        return _write_rows(rows, stream, columns=columns, fmt=fmt, progress=progress)
