"""Start things the way a user runs them, for the benchmarks: Wingman as `make run` starts
it (the supervisor: gunicorn, workers, clock, embedded Redis), the Chatwoot and Claude
stand-ins as their own processes, and the bare baseline under the same gunicorn.

Every process runs in a scratch directory, so a developer's .env and wingman.toml stay
out of the figures.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

from redis import Redis
from rq import Worker
from sqlalchemy import text
from sqlalchemy.engine import make_url

from core.db import make_engine
from core.settings import Settings
from workers.service_commands import gunicorn_args

ROOT = Path(__file__).resolve().parents[1]
SECRET = "bench-secret"
BOT_TOKEN = "bench-bot-token"
BENCH_SCHEMA = "wingman_bench"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_until_up(url: str, process: subprocess.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{process.args!r} exited with {process.returncode} on start")
        with suppress(OSError):
            with urllib.request.urlopen(url, timeout=1):
                return
        time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer within {timeout:g}s")


def stop(process: subprocess.Popen[bytes], grace: float = 20) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def setting_names() -> set[str]:
    """Every setting .env.example documents (all of them, as a test checks)."""
    lines = (ROOT / ".env.example").read_text().splitlines()
    return {line.lstrip("# ").split("=", 1)[0] for line in lines if "=" in line}


def child_env(extra: dict[str, str]) -> dict[str, str]:
    """This environment without Wingman's settings, plus ``extra``."""
    names = setting_names()
    env = {k: v for k, v in os.environ.items() if k not in names}
    env["PYTHONPATH"] = str(ROOT)
    env.update(extra)
    return env


@contextmanager
def process(
    args: list[str], env: dict[str, str], cwd: Path, log: Path
) -> Iterator[subprocess.Popen[bytes]]:
    with log.open("ab") as out:
        child = subprocess.Popen(args, env=env, cwd=cwd, stdout=out, stderr=subprocess.STDOUT)
    try:
        yield child
    finally:
        stop(child)


@contextmanager
def standins(
    workdir: Path, *, claude_delay: float = 0.0, webhook_url: str | None = None
) -> Iterator[dict[str, str]]:
    """The Chatwoot and Claude stand-ins; yields the settings that point Wingman at them.

    With ``webhook_url``, the Chatwoot stand-in delivers its conversations' events there,
    as Chatwoot does to an agent bot.
    """
    chatwoot_port, claude_port = free_port(), free_port()
    python = sys.executable
    chatwoot_args = [
        python, "-m", "standins.chatwoot", "--port", str(chatwoot_port),
        "--bot-token", BOT_TOKEN, "--secret", SECRET,
    ]  # fmt: skip
    if webhook_url:
        chatwoot_args += ["--webhook-url", webhook_url]
    claude_args = [python, "-m", "standins.claude", "--port", str(claude_port)]
    env = child_env({})
    with (
        process(chatwoot_args, env, workdir, workdir / "chatwoot.log") as chatwoot,
        process(claude_args, env, workdir, workdir / "claude.log") as claude,
    ):
        wait_until_up(f"http://127.0.0.1:{chatwoot_port}/", chatwoot)
        wait_until_up(f"http://127.0.0.1:{claude_port}/", claude)
        if claude_delay:
            # Every answer takes claude_delay seconds (the stand-in's scripted slowness).
            post_json(
                f"http://127.0.0.1:{claude_port}/_standin/fail",
                {"delay": claude_delay, "times": 1_000_000},
            )
        yield {
            "CHATWOOT_URL": f"http://127.0.0.1:{chatwoot_port}",
            "CHATWOOT_BOT_TOKEN": BOT_TOKEN,
            "ANTHROPIC_API_KEY": "bench-key",
            "ANTHROPIC_BASE_URL": f"http://127.0.0.1:{claude_port}",
        }


@contextmanager
def wingman(
    workdir: Path,
    database_url: str,
    extra: dict[str, str],
    *,
    port: int | None = None,
    log: str = "wingman.log",
) -> Iterator[str]:
    """Wingman as `make run` starts it, logging to ``workdir/log``; yields its base URL."""
    port = port or free_port()
    env = child_env(
        {
            "DATABASE_URL": database_url,
            "PORT": str(port),
            "WINGMAN_BIND": "127.0.0.1",
            "WINGMAN_VAR_DIR": str(workdir / "var"),
            "CHATWOOT_WEBHOOK_SECRET": SECRET,
            "LOG_LEVEL": "WARNING",
            **extra,
        }
    )
    args = [sys.executable, "-m", "workers.supervisor"]
    with process(args, env, workdir, workdir / log) as supervisor:
        wait_until_up(f"http://127.0.0.1:{port}/healthz", supervisor, timeout=120)
        wait_for_workers(Settings.from_env(env), supervisor)
        yield f"http://127.0.0.1:{port}"


def wait_for_workers(settings: Settings, process: subprocess.Popen[bytes]) -> None:
    """Until every worker listens: workers still importing would burn the CPU the
    measurement runs on, which is start-up, not throughput."""
    expected = settings.routing_workers + settings.reply_workers
    with Redis.from_url(settings.effective_redis_url) as redis:
        deadline = time.monotonic() + 120
        while Worker.count(connection=redis) < expected:
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{expected} workers did not start within 120 s")
            time.sleep(0.2)


@contextmanager
def bare(workdir: Path, extra: dict[str, str]) -> Iterator[str]:
    """The do-nothing baseline, `POST /` → 200, under Wingman's gunicorn arguments."""
    port = free_port()
    settings = Settings.from_env({"PORT": str(port), "WINGMAN_BIND": "127.0.0.1", **extra})
    args = [sys.executable, "-m", "gunicorn", *gunicorn_args(settings)]
    args[-1] = "bench.bare:app"
    with process(args, child_env({}), workdir, workdir / "bare.log") as server:
        wait_until_up(f"http://127.0.0.1:{port}/", server)
        yield f"http://127.0.0.1:{port}"


def postgres_url() -> tuple[str | None, str]:
    """A PostgreSQL URL to benchmark on (in a schema of its own, which each run empties),
    or None and why not."""
    url = os.environ.get("BENCH_DATABASE_URL") or os.environ.get("TEST_DATABASE_URL")
    if not url:
        return None, "neither BENCH_DATABASE_URL nor TEST_DATABASE_URL is set"
    try:
        engine = make_engine(url)
        with engine.connect() as connection:
            connection.execute(text("select 1"))
        engine.dispose()
    except Exception as exc:  # any failure to reach it is a reason to skip
        return None, f"{make_url(url).render_as_string()} did not answer ({exc.__class__.__name__})"
    separator = "&" if "?" in url else "?"
    return f"{url}{separator}options=-csearch_path%3D{BENCH_SCHEMA}", ""


def on_each_database(name: str, measure: Callable[[Path, str, str], None]) -> None:
    """Run ``measure(workdir, database_url, label)`` on SQLite, then on PostgreSQL when
    one answers (saying why not otherwise), in a scratch directory."""
    with tempfile.TemporaryDirectory(prefix=f"wm-{name.replace(' ', '-')}-", dir="/tmp") as tmp:
        workdir = Path(tmp)
        measure(workdir, f"sqlite:///{workdir}/bench.db", "SQLite (embedded default)")
        url, why = postgres_url()
        if url is None:
            print(f"{name}, PostgreSQL: skipped ({why})")
            return
        fresh_postgres(url)
        measure(workdir, url, "PostgreSQL")


def fresh_postgres(url: str) -> None:
    """Empty the benchmark's own schema, so each run starts from the same state."""
    engine = make_engine(url)
    with engine.begin() as connection:
        connection.execute(text(f"DROP SCHEMA IF EXISTS {BENCH_SCHEMA} CASCADE"))
        connection.execute(text(f"CREATE SCHEMA {BENCH_SCHEMA}"))
    engine.dispose()


def fetch_json(url: str) -> object:
    with urllib.request.urlopen(url, timeout=10) as response:
        return json.load(response)


def post_json(url: str, body: object) -> object:
    request = urllib.request.Request(
        url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.load(response)
