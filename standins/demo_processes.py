"""The demo's three processes, the two stand-ins and Wingman: starting them, stopping them,
and what their logs say.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
from pathlib import Path

from standins.demo_probes import DemoFailed, call, wait_for

ROOT = Path(__file__).resolve().parent.parent
STOP_TIMEOUT = 20.0


class Demo:
    """The three processes and their logs, in one temporary directory."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.standins: list[subprocess.Popen[bytes]] = []
        self.wingman: subprocess.Popen[bytes] | None = None
        self.wingman_log = workdir / "wingman.log"
        self.chatwoot: str | None = None
        self.failed = False  # then its logs are kept

    def start_standin(self, name: str, args: list[str]) -> str:
        """Start ``python -m standins.<name>`` on a free port; returns its URL."""
        log_path = self.workdir / f"{name}.log"
        with log_path.open("wb") as log:
            process = subprocess.Popen(
                [sys.executable, "-m", f"standins.{name}", "--port", "0", *args],
                cwd=ROOT,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        self.standins.append(process)

        def listening() -> str | None:
            if process.poll() is not None:
                raise DemoFailed(f"the {name} stand-in exited:\n{log_path.read_text()}")
            found = re.search(r"Listening on (http://\S+)", log_path.read_text())
            return found.group(1) if found else None

        return wait_for(f"the {name} stand-in to listen", listening, timeout=10)

    def start_wingman(self, env: dict[str, str]) -> None:
        with self.wingman_log.open("wb") as log:
            # A session of its own, so its whole process group can be stopped at the end.
            self.wingman = subprocess.Popen(
                [sys.executable, "-m", "workers.supervisor"],
                cwd=self.workdir,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def stop(self) -> None:
        # A second Ctrl-C must not cut this short: Wingman's session would be left running.
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, signal.SIG_IGN)
        if self.wingman is not None and self.wingman.poll() is None:
            # The supervisor alone: it stops its children in order, Redis last. SIGTERM to
            # the whole group would reach the embedded Redis at once (it ignores only
            # SIGINT), and the RQ worker's warm shutdown would then fail to reach it.
            self.wingman.send_signal(signal.SIGTERM)
            try:
                self.wingman.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                print(f"Wingman did not stop within {STOP_TIMEOUT:g}s; killing it")
        if self.wingman is not None:
            # Whatever is left of the group (it should be nothing) goes too.
            _signal_group(self.wingman.pid, signal.SIGKILL)
            self.wingman.wait()
        for process in self.standins:
            process.terminate()
        for process in self.standins:
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

    def deliveries(self) -> str:
        """The Chatwoot stand-in's last webhook deliveries, one line each."""
        if self.chatwoot is None:
            return "(the Chatwoot stand-in did not start)"
        try:
            records = call("GET", f"{self.chatwoot}/_standin/deliveries")["deliveries"]
        except DemoFailed as exc:
            return f"(could not ask the Chatwoot stand-in: {exc})"
        return (
            "\n".join(
                f"{r['event']} (message {r['message_id']}): {r['state']}, HTTP {r['status']}"
                + (f", {r['error']}" if r["error"] else "")
                for r in records[-10:]
            )
            or "(none)"
        )

    def log_tail(self, lines: int = 40) -> str:
        if not self.wingman_log.exists():
            return "(no log)"
        return "\n".join(self.wingman_log.read_text(errors="replace").splitlines()[-lines:])


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _signal_group(pgid: int, signum: signal.Signals) -> None:
    try:
        os.killpg(pgid, signum)
    except ProcessLookupError:
        pass
