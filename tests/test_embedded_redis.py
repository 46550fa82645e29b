"""The bundled redis-server runs as a plain child on a unix socket, and cleans up after itself."""

from __future__ import annotations

import signal
import socket as sockets
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from redis import Redis

from workers import embedded_redis
from workers.embedded_redis import EmbeddedRedisError


@pytest.fixture
def sock(tmp_path: Path) -> Path:
    return tmp_path / "redis" / "redis.sock"


@pytest.fixture
def server(sock: Path) -> Iterator[subprocess.Popen[bytes]]:
    process = embedded_redis.start(sock)
    yield process
    embedded_redis.stop(process)


def client(sock: Path) -> Redis:
    return Redis(unix_socket_path=str(sock), socket_timeout=5)


def test_command_keeps_redis_in_the_foreground_on_a_socket_only(sock: Path) -> None:
    args = embedded_redis.command(sock)
    options = dict(zip(args[1::2], args[2::2], strict=True))
    assert options["--daemonize"] == "no"
    assert options["--port"] == "0"
    assert options["--unixsocket"] == str(sock)
    assert options["--unixsocketperm"] == "700"
    assert options["--appendonly"] == "yes"
    assert options["--dir"] == str(sock.parent)
    assert Path(args[0]).name == "redis-server"


@pytest.mark.slow
def test_start_answers_ping_on_the_socket_and_stops(
    sock: Path, server: subprocess.Popen[bytes]
) -> None:
    conn = client(sock)
    try:
        assert conn.ping()
        assert conn.info("server")["process_id"] == server.pid
        assert conn.config_get("port") == {"port": "0"}
    finally:
        conn.close()
    assert stat.S_IMODE(sock.stat().st_mode) == 0o700

    assert embedded_redis.stop(server) == 0
    assert not sock.exists()


@pytest.mark.slow
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_group_signals_leave_redis_up_for_its_clients_and_shutdown_stops_it(
    sock: Path, server: subprocess.Popen[bytes], signum: signal.Signals
) -> None:
    server.send_signal(signum)  # Ctrl-C, or systemd's SIGTERM to the whole group
    conn = client(sock)
    try:
        time.sleep(0.3)  # Redis would act on a signal at its next 100 ms cron tick
        assert conn.ping()
    finally:
        conn.close()
    assert server.poll() is None

    assert embedded_redis.stop(server) == 0


@pytest.mark.slow
def test_data_survives_a_restart(sock: Path) -> None:
    first = embedded_redis.start(sock)
    try:
        conn = client(sock)
        conn.rpush("rq:queue:wingman", "job-1")
        conn.close()
    finally:
        embedded_redis.stop(first)

    second = embedded_redis.start(sock)
    try:
        conn = client(sock)
        assert conn.lrange("rq:queue:wingman", 0, -1) == [b"job-1"]
        conn.close()
    finally:
        embedded_redis.stop(second)


@pytest.mark.slow
def test_a_stale_socket_from_a_killed_server_is_replaced(sock: Path) -> None:
    killed = embedded_redis.start(sock)
    killed.kill()
    killed.wait()
    assert sock.exists()  # SIGKILL left the socket file behind

    process = embedded_redis.start(sock)
    try:
        conn = client(sock)
        assert conn.ping()
        conn.close()
    finally:
        embedded_redis.stop(process)


def test_a_dead_socket_file_is_removed(sock: Path) -> None:
    sock.parent.mkdir(parents=True)
    listener = sockets.socket(sockets.AF_UNIX)
    listener.bind(str(sock))
    listener.close()  # the file stays, nobody listens

    embedded_redis.clear_stale_socket(sock)

    assert not sock.exists()


def test_no_socket_file_is_fine(sock: Path) -> None:
    embedded_redis.clear_stale_socket(sock)


@pytest.mark.slow
def test_a_live_server_on_the_socket_is_refused(
    sock: Path, server: subprocess.Popen[bytes]
) -> None:
    with pytest.raises(EmbeddedRedisError, match="already serving") as raised:
        embedded_redis.start(sock)
    assert str(server.pid) in str(raised.value)
    conn = client(sock)
    try:
        assert conn.ping()  # the running server was left alone
    finally:
        conn.close()


@pytest.mark.slow
def test_a_server_that_exits_while_starting_names_the_log(sock: Path) -> None:
    sock.parent.mkdir(parents=True)
    (sock.parent / "appendonly.aof").write_text("this is not an append-only file\n")

    with pytest.raises(EmbeddedRedisError, match="exited with code") as raised:
        embedded_redis.start(sock)

    log = embedded_redis.log_path(sock)
    assert str(log) in str(raised.value)
    assert "append only file" in log.read_text().lower()


@pytest.mark.slow
def test_a_server_that_never_answers_times_out_naming_the_log(sock: Path) -> None:
    silent = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        with pytest.raises(EmbeddedRedisError, match="did not answer") as raised:
            embedded_redis.wait_until_ready(silent, sock, timeout=0.3)
    finally:
        embedded_redis.stop(silent)
    assert str(embedded_redis.log_path(sock)) in str(raised.value)


def test_a_socket_path_too_long_for_unix_sockets_is_refused(tmp_path: Path) -> None:
    deep = tmp_path / ("d" * 120) / "redis.sock"
    with pytest.raises(EmbeddedRedisError, match="WINGMAN_VAR_DIR"):
        embedded_redis.start(deep)
    assert not deep.parent.exists()
