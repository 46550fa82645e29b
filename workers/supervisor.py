"""`make run`: start Redis (if needed), migrate, then run the web server, worker and clock.

Every child stays in the supervisor's own process group and nothing daemonizes, so Ctrl-C
at the terminal reaches all of them at once and nothing outlives the terminal. (The
embedded Redis ignores that SIGINT so that it outlives its clients; it is stopped last,
see workers/embedded_redis.py.) A signal sent to the supervisor alone is forwarded. If
any child dies on its own, the rest are stopped and the supervisor exits non-zero,
naming the child; a worker that dies is restarted instead (its job is rescued by the
sweepers), unless it keeps dying.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType

from core.db import make_engine, migrate, session_scope
from core.settings import Settings
from experiments import arms
from workers import embedded_redis
from workers.embedded_redis import EmbeddedRedisError
from workers.processes import describe_exit, kill_tree
from workers.service_commands import app_commands
from workers.startup import settings_or_exit

log = logging.getLogger("workers.supervisor")

# How long children get to finish after SIGTERM before they are killed. The RQ worker
# finishes its current job first (a warm shutdown), so this bounds that too.
GRACE_SECONDS = 10.0
POLL_SECONDS = 0.2
# A worker restarted this many times within RESTART_WINDOW_SECONDS is broken, not unlucky.
MAX_RESTARTS = 5
RESTART_WINDOW_SECONDS = 60.0


@dataclass
class Child:
    name: str
    process: subprocess.Popen[bytes]
    # Where to look when this child dies, if not in the terminal.
    log_file: Path | None = None
    # Started again if it dies (workers); anything else dying stops the service.
    restart: list[str] | None = None
    restarts: list[float] = field(default_factory=list)


class Supervisor:
    """Owns the children; ``run`` starts them and returns the exit status, ``stop`` ends them."""

    def __init__(self, grace: float = GRACE_SECONDS) -> None:
        self.grace = grace
        # Stopped in the reverse of this order, so Redis outlives its clients.
        self.tiers: list[list[Child]] = []
        self.stop_signal: signal.Signals | None = None
        self.env: dict[str, str] = {}

    def request_stop(self, signum: int, _frame: FrameType | None) -> None:
        if self.stop_signal is None:
            self.stop_signal = signal.Signals(signum)

    def run(self, settings: Settings) -> int:
        Path(settings.var_dir).mkdir(parents=True, exist_ok=True)
        # Passing the environment on to the children, not reading settings from it.
        env = self.env = dict(os.environ)

        if settings.embedded_redis:
            socket = settings.embedded_redis_socket
            log.info("starting the embedded Redis on %s", socket)
            try:
                redis = embedded_redis.start(socket)
            except EmbeddedRedisError as exc:
                if self.stop_signal is not None:
                    return 0  # Ctrl-C reached redis-server while it started
                log.error("%s", exc)
                return 1
            self.tiers.append([Child("redis", redis, embedded_redis.log_path(socket))])
            env["REDIS_URL"] = settings.effective_redis_url
        if self.stop_signal is not None:
            return 0

        log.info("migrating the database")
        try:
            migrate_database(settings.database_url)
        except Exception:
            log.exception("the database migration failed; nothing else was started")
            return 1
        if self.stop_signal is not None:
            return 0

        apps: list[Child] = []
        self.tiers.append(apps)  # before spawning, so a failed spawn still stops the others
        for name, args in app_commands(settings):
            process = subprocess.Popen(args, env=env, stdin=subprocess.DEVNULL)
            restart = args if "worker" in name else None
            apps.append(Child(name, process, restart=restart))
            log.info("started %s (pid %d)", name, process.pid)
        announce(settings)
        return self.watch()

    def watch(self) -> int:
        """Wait for a stop signal (exit 0) or for a child to die on its own (exit 1)."""
        while self.stop_signal is None:
            for child in self.children():
                code = child.process.poll()
                # A Ctrl-C reaches us no later than the child, and poll() runs Python code
                # after reaping it, so if the exit came from that Ctrl-C our handler has
                # already set stop_signal here.
                if code is not None and self.stop_signal is None:
                    if self.restarted(child, code):
                        continue
                    where = f"; see {child.log_file}" if child.log_file else ""
                    log.error(
                        "%s (pid %d) %s; stopping the others%s",
                        child.name,
                        child.process.pid,
                        describe_exit(code),
                        where,
                    )
                    return 1
            time.sleep(POLL_SECONDS)
        log.info("%s received; stopping", self.stop_signal.name)
        return 0

    def restarted(self, child: Child, code: int) -> bool:
        """Start a dead worker again, unless it died MAX_RESTARTS times within the window."""
        now = time.monotonic()
        child.restarts = [t for t in child.restarts if now - t < RESTART_WINDOW_SECONDS]
        if child.restart is None or len(child.restarts) >= MAX_RESTARTS:
            return False
        child.restarts.append(now)
        old = child.process.pid
        child.process = subprocess.Popen(child.restart, env=self.env, stdin=subprocess.DEVNULL)
        log.error(
            "%s (pid %d) %s; restarted it as pid %d (the sweepers rescue its unfinished job)",
            child.name,
            old,
            describe_exit(code),
            child.process.pid,
        )
        return True

    def children(self) -> list[Child]:
        return [child for tier in self.tiers for child in tier]

    def stop(self) -> None:
        """SIGTERM each tier, newest first; SIGKILL whatever outlives the grace period."""
        for tier in reversed(self.tiers):
            self._stop_tier(tier)
        self.tiers = []

    def _stop_tier(self, tier: list[Child]) -> None:
        for child in tier:
            if child.process.poll() is None:
                socket = embedded_redis.socket_of(child.process)
                if socket is not None:
                    # The embedded Redis ignores signals (see embedded_redis): ask it.
                    embedded_redis.request_shutdown(socket)
                    continue
                # After a Ctrl-C the children already have SIGINT; RQ ignores a second
                # signal within a second of the first, so this does not turn its warm
                # shutdown into a cold one.
                child.process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + self.grace
        for child in tier:
            try:
                code = child.process.wait(timeout=max(deadline - time.monotonic(), 0))
            except subprocess.TimeoutExpired:
                log.warning("%s did not stop within %gs; killing it", child.name, self.grace)
                kill_tree(child.process.pid)
                code = child.process.wait()
            log.info("%s %s", child.name, describe_exit(code))


def migrate_database(url: str) -> None:
    """Migrate, then load the experiments file (a bad one stops start-up, naming the key)."""
    engine = make_engine(url)
    try:
        migrate(engine)
        with session_scope(engine) as session:
            for arm in arms.sync(session, arms.load_file(), now=datetime.now(UTC)):
                log.info("new arm version %s/%s v%s (draft)", arm.experiment, arm.key, arm.version)
    finally:
        engine.dispose()


def announce(settings: Settings) -> None:
    """Tell the operator what to paste into Chatwoot and what is not configured. No secrets."""
    # print, not log: the operator needs this line whatever LOG_LEVEL is.
    print(f"Chatwoot webhook URL (paste into the agent bot): {settings.webhook_url}", flush=True)
    for name in settings.missing():
        log.warning("%s is not set; Wingman cannot act on conversations until it is", name)
    if settings.chatwoot_webhook_secret is None:
        log.warning("CHATWOOT_WEBHOOK_SECRET is not set; unsigned webhook deliveries are accepted")


def main() -> int:
    settings = settings_or_exit("wingman")
    supervisor = Supervisor()
    # SIGHUP too: a closed terminal must not leave Redis (which ignores SIGHUP) behind.
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, supervisor.request_stop)
    try:
        return supervisor.run(settings)
    finally:
        supervisor.stop()
        log.info("stopped")


if __name__ == "__main__":
    sys.exit(main())
