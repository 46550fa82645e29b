"""Secrets never reach what a process prints: log records whole (message, arguments,
exception text, traceback, stack), gunicorn's own log, uncaught exceptions, and the
supervisor's output end to end. Real loggers, real exceptions, real processes."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from bot import create_app
from core import logs
from core.settings import Settings
from tests.test_supervisor import ROOT, cleanup, free_port, start, workdir  # noqa: F401
from workers.service_commands import gunicorn_args

DB_PASSWORD = "db-pa55word-77"
REDIS_PASSWORD = "redis-pa55word-88"
DATABASE_URL = f"postgresql+psycopg://wingman:{DB_PASSWORD}@127.0.0.1:1/wingman"
REDIS_URL = f"redis://:{REDIS_PASSWORD}@127.0.0.1:1/0"
KEY = "sk-ant-test-key-in-source-123456"
HOOK_PASSWORD = "hook-pa55word-99"
HOOK_URL = f"https://hook:{HOOK_PASSWORD}@hooks.example.com/x"


@pytest.fixture
def root_logging() -> Iterator[None]:
    """The root logger without Wingman's handler, put back as it was afterwards, so the
    handler ``configure`` installs writes to this test's captured stderr."""
    root = logging.getLogger()
    saved = [(h, list(h.filters), h.formatter) for h in root.handlers]
    level = root.level
    for handler in [h for h in root.handlers if getattr(h, "_wingman", False)]:
        root.removeHandler(handler)
    yield
    root.handlers = [h for h, _, _ in saved]
    for handler, filters, formatter in saved:
        handler.filters, handler.formatter = filters, formatter
    root.setLevel(level)


def log_with_the_key_in_source(log: logging.Logger) -> None:
    log.info("calling Claude", stack_info=True)  # sk-ant-test-key-in-source-123456


def test_no_log_line_shows_a_secret(root_logging: None, capsys: pytest.CaptureFixture[str]) -> None:
    settings = Settings.from_env(
        {"DATABASE_URL": DATABASE_URL, "REDIS_URL": REDIS_URL, "ANTHROPIC_API_KEY": KEY}
    )
    logs.configure("INFO", settings.secrets())
    log = logging.getLogger("wingman.test")

    log.info("connecting to %s and %s", settings.database_url, settings.redis_url)
    log.info("the passwords alone: %s %s", DB_PASSWORD, REDIS_PASSWORD)
    try:  # requests quotes the URL it can't send, password and all
        requests.Session().get_adapter(HOOK_URL.replace("https", "htp"))
    except requests.RequestException:
        log.exception("notify failed")
    try:
        raise ConnectionError(f"cannot reach {settings.database_url}")
    except ConnectionError:
        log.exception("database unreachable")
    # rq's lines pass through the root logger's handlers.
    logging.getLogger("rq.worker").error("job failed", exc_info=ValueError(f"key {KEY}"))
    log_with_the_key_in_source(log)

    printed = capsys.readouterr().err
    for line in ("notify failed", "database unreachable", "job failed", "calling Claude"):
        assert line in printed
    assert "Traceback" in printed and "Stack (most recent call last)" in printed
    assert "postgresql+psycopg://wingman:***@127.0.0.1:1/wingman" in printed
    for secret in (DB_PASSWORD, REDIS_PASSWORD, KEY, HOOK_PASSWORD):
        assert secret not in printed


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("postgresql://wingman:pw@db/wingman", "postgresql://wingman:***@db/wingman"),
        ("postgresql+psycopg://u:p@ss@db:5432/w", "postgresql+psycopg://u:***@db:5432/w"),
        ("'redis://:pw@cache:6379/0'", "'redis://:***@cache:6379/0'"),
        ("a https://x:1@h and redis://:2@r", "a https://x:***@h and redis://:***@r"),
        ("http://localhost:8000/readyz", "http://localhost:8000/readyz"),
        ("https://user@chat.example.com", "https://user@chat.example.com"),
        ("mailto:zoe@example.com", "mailto:zoe@example.com"),
    ],
)
def test_the_password_of_any_url_is_masked(text: str, shown: str) -> None:
    assert logs.mask_url_passwords(text) == shown


def test_short_secrets_are_masked_only_inside_a_url() -> None:
    mask = logs.Masker(["pw", "sk-ant-long-enough"])
    assert mask("pw: redis://:pw@cache/0 sk-ant-long-enough") == "pw: redis://:***@cache/0 ***"


def test_readyz_names_what_is_down_without_a_password(
    root_logging: None, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    settings = Settings.from_env({"DATABASE_URL": DATABASE_URL, "REDIS_URL": REDIS_URL})
    app = create_app({"settings": settings})
    try:
        response = app.test_client().get("/readyz")
    finally:
        app.extensions["wingman"].close()
    assert response.status_code == 503
    assert response.get_json()["checks"] == {"database": "unreachable", "redis": "unreachable"}
    printed = response.get_data(as_text=True) + caplog.text + capsys.readouterr().err
    assert "readiness: database unreachable" in printed
    assert DB_PASSWORD not in printed and REDIS_PASSWORD not in printed


# --- processes -----------------------------------------------------------------------------

UNCAUGHT = f"""
import threading
from bot import create_app
from core import logs
logs.configure("INFO", [{KEY!r}])
def fail():
    raise RuntimeError("thread failed with {KEY} for {HOOK_URL}")
thread = threading.Thread(target=fail)
thread.start()
thread.join()
raise RuntimeError("main failed with {KEY} for {HOOK_URL}")
"""


def test_an_uncaught_exception_prints_no_secret(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-c", UNCAUGHT],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1
    masked = "with *** for https://hook:***@hooks.example.com/x"
    assert f"RuntimeError: main failed {masked}" in done.stderr, done.stderr
    assert f"RuntimeError: thread failed {masked}" in done.stderr, done.stderr
    assert KEY not in done.stderr and HOOK_PASSWORD not in done.stderr


def unreachable_app() -> Any:
    """A gunicorn app factory that fails the way a driver might: quoting its URL."""
    settings = Settings.load()
    raise ConnectionError(f"cannot reach {settings.database_url}")


@pytest.mark.slow
def test_gunicorn_prints_no_secret_when_the_app_fails_to_load(workdir: Path) -> None:  # noqa: F811
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "DATABASE_URL")}
    env.update(DATABASE_URL=DATABASE_URL, REDIS_URL=REDIS_URL, PYTHONPATH=str(ROOT))
    settings = Settings.from_env(
        {"PORT": str(free_port()), "WINGMAN_BIND": "127.0.0.1", "WEB_WORKERS": "1"}
    )
    args = [*gunicorn_args(settings)[:-1], "tests.test_logs:unreachable_app()"]
    done = subprocess.run(
        [sys.executable, "-m", "gunicorn", *args],
        cwd=workdir,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
    )
    printed = done.stdout + done.stderr
    assert done.returncode != 0, printed
    assert "Exception in worker process" in printed and "cannot reach" in printed, printed
    assert DB_PASSWORD not in printed, printed


@pytest.mark.slow
@pytest.mark.parametrize(
    "urls",
    [
        {"DATABASE_URL": DATABASE_URL, "REDIS_URL": REDIS_URL},  # the migration fails
        {"REDIS_URL": REDIS_URL},  # the web server, worker and clock can't reach Redis
    ],
)
def test_the_supervisor_prints_no_password_when_nothing_can_connect(
    workdir: Path,  # noqa: F811
    urls: dict[str, str],
) -> None:
    run = start(workdir, **urls)
    try:
        assert run.process.wait(timeout=60) == 1, run.output()
    finally:
        cleanup(run)
    printed = run.output()
    assert "failed" in printed or "exited with code" in printed, printed
    assert DB_PASSWORD not in printed and REDIS_PASSWORD not in printed, printed


@pytest.mark.slow
def test_a_password_the_url_parser_cannot_read_is_never_printed(
    workdir: Path,  # noqa: F811
) -> None:
    run = start(workdir, REDIS_URL="redis://:Pa55/w0rd-Secret@127.0.0.1:1/0")
    try:
        code = run.process.wait(timeout=60)
    finally:
        cleanup(run)
    printed = run.output()
    assert code == 2, printed
    assert "REDIS_URL: its port is not a number" in printed, printed
    for part in ("Pa55", "w0rd", "Secret"):
        assert part not in printed, printed
