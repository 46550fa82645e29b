"""`python -m workers.supervisor` end to end: it starts everything, and leaves nothing behind.

Each test runs the supervisor in a session of its own, so the test can signal its
process group the way a terminal's Ctrl-C does and then check that the group is empty.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.error import HTTPError, URLError
from urllib.request import urlopen

import pytest

from workers.supervisor import Child, Supervisor

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
PUBLIC_URL = "https://wingman.example.test"
STARTUP_TIMEOUT = 60.0
STOP_TIMEOUT = 30.0


@dataclass
class Run:
    process: subprocess.Popen[bytes]
    workdir: Path
    port: int
    stdout: Path
    stderr: Path

    @property
    def pgid(self) -> int:
        return self.process.pid  # start_new_session made it the group leader

    def output(self) -> str:
        return self.stdout.read_text() + self.stderr.read_text()


@pytest.fixture
def workdir() -> Iterator[Path]:
    # Short, so the Redis socket path stays under the unix limit wherever TMPDIR points.
    path = Path(tempfile.mkdtemp(prefix="wm-", dir="/tmp" if os.path.isdir("/tmp") else None))
    yield path
    shutil.rmtree(path, ignore_errors=True)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def start(workdir: Path, logs: str = "supervisor", **overrides: str) -> Run:
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "DATABASE_URL")}
    port = free_port()
    env.update(
        PORT=str(port),
        WINGMAN_BIND="127.0.0.1",
        WINGMAN_PUBLIC_URL=PUBLIC_URL,
        WINGMAN_VAR_DIR=str(workdir / "var"),
        DATABASE_URL=f"sqlite:///{workdir / 'wingman.db'}",
        PYTHONPATH=str(ROOT),
        # One of each kind: enough to see every process start and stop, and quick to start.
        ROUTING_WORKERS="1",
        REPLY_WORKERS="1",
    )
    env.update(overrides)
    stdout, stderr = workdir / f"{logs}.out", workdir / f"{logs}.err"
    with stdout.open("wb") as out, stderr.open("wb") as err:
        process = subprocess.Popen(
            [sys.executable, "-m", "workers.supervisor"],
            cwd=workdir,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=err,
            start_new_session=True,
        )
    return Run(process, workdir, port, stdout, stderr)


def get(url: str) -> tuple[int, str] | None:
    try:
        with urlopen(url, timeout=2) as response:
            return response.status, response.read().decode()
    except HTTPError as error:
        with error:
            return error.code, error.read().decode()
    except (URLError, OSError):
        return None


def wait_until_serving(run: Run) -> float:
    """Seconds until /healthz answers 200 and the webhook URL is printed."""
    started = time.monotonic()
    while time.monotonic() - started < STARTUP_TIMEOUT:
        if run.process.poll() is not None:
            pytest.fail(f"supervisor exited with {run.process.returncode}:\n{run.output()}")
        answer = get(f"http://127.0.0.1:{run.port}/healthz")
        if answer and answer[0] == 200 and f"{PUBLIC_URL}/chatwoot/webhook" in run.output():
            return time.monotonic() - started
        time.sleep(0.2)
    pytest.fail(f"not serving after {STARTUP_TIMEOUT}s:\n{run.output()}")


def survivors(pgid: int) -> list[str]:
    """Live processes (zombies excluded) in the group; on Linux with their command lines."""
    proc = Path("/proc")
    if not proc.is_dir():
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return []
        return [f"something in process group {pgid}"]
    found = []
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode().strip()
        except OSError:
            continue
        state, group = fields[0], int(fields[2])
        if group == pgid and state != "Z":
            found.append(f"{entry.name}: {cmdline}")
    return found


def cleanup(run: Run) -> None:
    try:
        os.killpg(run.pgid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    run.process.wait()


def child_pid(run: Run, name: str) -> int:
    match = re.search(rf"started {name} \(pid (\d+)\)", run.stderr.read_text())
    assert match, run.output()
    return int(match.group(1))


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_to_the_group_stops_every_process_cleanly(
    workdir: Path, signum: signal.Signals
) -> None:
    """Ctrl-C, or systemd's SIGTERM to the whole group: Redis still goes last."""
    run = start(workdir)
    try:
        startup = wait_until_serving(run)
        print(f"serving after {startup:.1f}s")  # shown with -s or -rP
        ready = get(f"http://127.0.0.1:{run.port}/readyz")
        assert ready is not None and ready[0] == 200, ready
        assert json.loads(ready[1])["checks"] == {"database": "ok", "redis": "ok"}
        assert (workdir / "var" / "redis" / "redis.sock").is_socket()
        assert len(survivors(run.pgid)) >= 5  # supervisor, redis, gunicorn, worker, clock
        # Signal only once the worker and the clock run their own handlers: rq installs
        # the worker's right after starting its scheduler (and logs "Listening" before).
        deadline = time.monotonic() + STOP_TIMEOUT
        while time.monotonic() < deadline and not (
            "Scheduler for wingman started" in run.output()
            and "Scheduler for wingman-replies started" in run.output()
            and "clock: requeue" in run.output()
        ):
            time.sleep(0.1)
        time.sleep(0.5)

        os.killpg(run.pgid, signum)

        assert run.process.wait(timeout=STOP_TIMEOUT) == 0, run.output()
        assert survivors(run.pgid) == []
    finally:
        cleanup(run)
    err = run.stderr.read_text()
    assert f"{signum.name} received; stopping" in err
    assert "routing worker 1 exited with code 0" in err
    assert "reply worker 1 exited with code 0" in err
    assert "redis exited with code 0" in err
    assert "Error" not in err and "Traceback" not in err, err
    assert "CHATWOOT_URL is not set" in err
    assert "unsigned webhook deliveries are accepted" in err
    assert not (workdir / "var" / "redis" / "redis.sock").exists()


def test_sigterm_to_the_supervisor_alone_stops_every_process(workdir: Path) -> None:
    secret = "s3cret-webhook-value"
    run = start(workdir, CHATWOOT_WEBHOOK_SECRET=secret, ADMIN_TOKEN="s3cret-admin-value")
    try:
        wait_until_serving(run)

        run.process.send_signal(signal.SIGTERM)

        assert run.process.wait(timeout=STOP_TIMEOUT) == 0, run.output()
        assert survivors(run.pgid) == []
    finally:
        cleanup(run)
    output = run.output()
    assert "SIGTERM received; stopping" in output
    for name in ("web", "worker", "clock", "redis"):
        # A child still importing has no handler yet, and SIGTERM's default ends it too.
        pattern = rf"{name}( \d)? (exited with code 0|was killed by SIGTERM)"
        assert re.search(pattern, output), output
    assert "s3cret" not in output
    assert "CHATWOOT_WEBHOOK_SECRET is not set" not in output


def test_a_child_that_dies_stops_the_rest_and_is_named(workdir: Path) -> None:
    run = start(workdir)
    try:
        wait_until_serving(run)
        clock = child_pid(run, "clock")

        os.kill(clock, signal.SIGKILL)

        assert run.process.wait(timeout=STOP_TIMEOUT) == 1, run.output()
        assert survivors(run.pgid) == []
    finally:
        cleanup(run)
    assert f"clock (pid {clock}) was killed by SIGKILL" in run.stderr.read_text()


def test_a_worker_that_dies_is_restarted_and_the_service_goes_on(workdir: Path) -> None:
    run = start(workdir, ROUTING_WORKERS="2", REPLY_WORKERS="1")
    try:
        wait_until_serving(run)
        assert "started routing worker 2" in run.output()
        assert "started reply worker 1" in run.output()
        worker = child_pid(run, "routing worker 1")

        os.kill(worker, signal.SIGKILL)

        deadline = time.monotonic() + STOP_TIMEOUT
        while time.monotonic() < deadline and "restarted it as pid" not in run.output():
            time.sleep(0.1)
        assert run.process.poll() is None, run.output()
        answer = get(f"http://127.0.0.1:{run.port}/readyz")
        assert answer is not None and answer[0] == 200, answer
        match = re.search(
            rf"routing worker 1 \(pid {worker}\) was killed by SIGKILL \(exit code -9\); "
            r"restarted it as pid (\d+)",
            run.output(),
        )
        assert match, run.output()
        assert not gone(int(match.group(1)))
        os.killpg(run.pgid, signal.SIGTERM)
        assert run.process.wait(timeout=STOP_TIMEOUT) == 0, run.output()
        assert survivors(run.pgid) == []
    finally:
        cleanup(run)


def test_a_second_supervisor_is_refused_and_a_killed_one_leaves_nothing_in_the_way(
    workdir: Path,
) -> None:
    first = start(workdir, "first")
    second = third = None
    try:
        wait_until_serving(first)

        second = start(workdir, "second")
        assert second.process.wait(timeout=STOP_TIMEOUT) == 1
        assert "already serving" in second.stderr.read_text()
        answer = get(f"http://127.0.0.1:{first.port}/readyz")
        assert answer is not None and answer[0] == 200, "the running one was disturbed"

        # A supervisor killed outright leaves the Redis socket file behind.
        os.killpg(first.pgid, signal.SIGKILL)
        first.process.wait()
        assert (workdir / "var" / "redis" / "redis.sock").exists()

        third = start(workdir, "third")
        wait_until_serving(third)
        os.killpg(third.pgid, signal.SIGINT)
        assert third.process.wait(timeout=STOP_TIMEOUT) == 0, third.output()
        assert survivors(third.pgid) == []
    finally:
        for run in (first, second, third):
            if run is not None:
                cleanup(run)


def test_a_bad_setting_exits_2_naming_it_and_starts_nothing(workdir: Path) -> None:
    run = start(workdir, PORT="abc")
    try:
        assert run.process.wait(timeout=STOP_TIMEOUT) == 2
        assert survivors(run.pgid) == []
    finally:
        cleanup(run)
    assert "PORT" in run.stderr.read_text()
    assert "abc" in run.stderr.read_text()
    assert run.stdout.read_text() == ""
    assert not (workdir / "var").exists()
    assert not (workdir / "wingman.db").exists()


def test_a_bad_config_file_exits_2_naming_the_key(workdir: Path) -> None:
    (workdir / "wingman.toml").write_text('[inboxes.12]\nautonomy = "yolo"\n')
    run = start(workdir, WINGMAN_CONFIG="wingman.toml")
    try:
        assert run.process.wait(timeout=STOP_TIMEOUT) == 2
        assert survivors(run.pgid) == []
    finally:
        cleanup(run)
    assert "inboxes.12.autonomy" in run.stderr.read_text()
    assert not (workdir / "var").exists()


def gone(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return True
    return state == "Z"  # killed, and not yet reaped by whoever adopted it


def test_stop_kills_a_child_that_ignores_sigterm_with_its_own_children() -> None:
    stubborn = (
        "import signal, subprocess, sys, time\n"
        "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
        "grandchild = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'])\n"
        "print(grandchild.pid, flush=True)\n"
        "time.sleep(60)\n"
    )
    process = subprocess.Popen([sys.executable, "-c", stubborn], stdout=subprocess.PIPE)
    supervisor = Supervisor(grace=0.5)
    supervisor.tiers = [[Child("stubborn", process)]]
    try:
        assert process.stdout is not None
        grandchild = int(process.stdout.readline())
        supervisor.stop()
    finally:
        process.kill()
        process.wait()
        if process.stdout:
            process.stdout.close()
    assert process.returncode == -signal.SIGKILL
    deadline = time.monotonic() + 5
    while not gone(grandchild) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert gone(grandchild)


def test_watch_names_the_child_that_exited(caplog: pytest.LogCaptureFixture) -> None:
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    quitter = subprocess.Popen([sys.executable, "-c", "raise SystemExit(3)"])
    supervisor = Supervisor(grace=5)
    supervisor.tiers = [[Child("sleeper", sleeper)], [Child("quitter", quitter)]]
    try:
        assert supervisor.watch() == 1
    finally:
        supervisor.stop()
    assert f"quitter (pid {quitter.pid}) exited with code 3; stopping the others" in caplog.text
    assert sleeper.returncode == -signal.SIGTERM


def test_watch_returns_0_once_a_stop_is_requested() -> None:
    supervisor = Supervisor()
    supervisor.request_stop(signal.SIGTERM, None)
    assert supervisor.watch() == 0


def test_a_worker_that_keeps_dying_is_not_restarted_for_ever() -> None:
    from workers.supervisor import MAX_RESTARTS

    supervisor = Supervisor()
    supervisor.env = dict(os.environ)
    dies = [sys.executable, "-c", "raise SystemExit(3)"]
    child = Child("reply worker 1", subprocess.Popen(dies), restart=dies)
    for _ in range(MAX_RESTARTS):
        assert child.process.wait() == 3
        assert supervisor.restarted(child, 3)
    child.process.wait()
    assert not supervisor.restarted(child, 3)  # the supervisor stops the service instead
    web = Child("web", subprocess.Popen(dies))
    web.process.wait()
    assert not supervisor.restarted(web, 3)  # only workers are restarted
