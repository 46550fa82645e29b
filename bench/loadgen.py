"""An HTTP/1.1 load generator on asyncio streams: closed loop (N connections, each sending
its next request when the last is answered) and open loop (a fixed offered rate, however
slow the answers).

Hand-written because it is a few dozen lines and needs no dependency, and because it
reuses a connection where the server keeps it alive and reconnects where it doesn't
(gunicorn's sync workers close every connection), which is what Chatwoot's HTTP client
sees too. The connect time counts in a request's latency.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

# A request to send: the path, the headers (besides Host and Content-Length) and the body.
Request = tuple[str, dict[str, str], bytes]
MakeRequest = Callable[[int], Request]


@dataclass
class Result:
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)
    statuses: Counter[int] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)
    # When each answered request was acknowledged (time.time()), by its index.
    acked_at: dict[int, float] = field(default_factory=dict)

    @property
    def sent(self) -> int:
        return sum(self.statuses.values()) + sum(self.errors.values())

    @property
    def ok(self) -> int:
        return sum(n for status, n in self.statuses.items() if 200 <= status < 300)

    @property
    def server_errors(self) -> int:
        return sum(n for status, n in self.statuses.items() if status >= 500)

    @property
    def rate(self) -> float:
        return self.ok / self.seconds if self.seconds else 0.0

    def percentile(self, p: float) -> float:
        """The p-th percentile latency in milliseconds (nearest rank)."""
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        rank = max(int(round(p / 100 * len(ordered) + 0.5)) - 1, 0)
        return ordered[min(rank, len(ordered) - 1)] * 1000

    def summary(self) -> str:
        problems = ""
        if self.server_errors or self.errors:
            problems = f", {self.server_errors} 5xx, {sum(self.errors.values())} failed"
        return (
            f"{self.rate:7.0f} req/s  p50 {self.percentile(50):6.1f} ms  "
            f"p99 {self.percentile(99):6.1f} ms  ({self.ok} ok{problems})"
        )


class _Connection:
    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def send(self, request: Request) -> int:
        path, headers, body = request
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        assert self.reader is not None
        lines = [f"POST {path} HTTP/1.1", f"Host: {self.host}:{self.port}"]
        lines += [f"{name}: {value}" for name, value in headers.items()]
        lines.append(f"Content-Length: {len(body)}")
        self.writer.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body)
        status_line = await self.reader.readline()
        if not status_line:
            raise ConnectionError("the server closed the connection")
        status = int(status_line.split()[1])
        length, close = 0, status_line.startswith(b"HTTP/1.0")
        while True:
            line = await self.reader.readline()
            if line in (b"\r\n", b"\n", b""):
                break
            name, _, value = line.partition(b":")
            name = name.strip().lower()
            if name == b"content-length":
                length = int(value)
            elif name == b"connection":
                close = value.strip().lower() == b"close"
        if length:
            await self.reader.readexactly(length)
        if close:
            self.close()
        return status

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


async def _one(connection: _Connection, request: Request, index: int, result: Result) -> None:
    started = time.perf_counter()
    try:
        status = await connection.send(request)
    except (OSError, ConnectionError, asyncio.IncompleteReadError, ValueError) as exc:
        connection.close()
        result.errors[exc.__class__.__name__] += 1
        return
    result.latencies.append(time.perf_counter() - started)
    result.statuses[status] += 1
    result.acked_at[index] = time.time()


async def _closed(url: str, make: MakeRequest, connections: int, seconds: float) -> Result:
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    result = Result()
    counter = iter(range(1 << 62))
    deadline = time.perf_counter() + seconds

    async def client() -> None:
        connection = _Connection(host, port)
        while time.perf_counter() < deadline:
            index = next(counter)
            await _one(connection, make(index), index, result)
        connection.close()

    started = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(connections)))
    result.seconds = time.perf_counter() - started
    return result


async def _open(url: str, make: MakeRequest, rate: float, seconds: float) -> Result:
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    result = Result()
    idle: list[_Connection] = []
    pending: set[asyncio.Task[None]] = set()

    async def fire(index: int) -> None:
        connection = idle.pop() if idle else _Connection(host, port)
        await _one(connection, make(index), index, result)
        idle.append(connection)

    started = time.perf_counter()
    total = int(rate * seconds)
    for index in range(total):
        # Sent on schedule, not when the last answer came: a slow server gets more load.
        due = started + index / rate
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        task = asyncio.create_task(fire(index))
        pending.add(task)
        task.add_done_callback(pending.discard)
    if pending:
        await asyncio.gather(*pending)
    result.seconds = time.perf_counter() - started
    for connection in idle:
        connection.close()
    return result


def closed_loop(url: str, make: MakeRequest, *, connections: int, seconds: float) -> Result:
    return asyncio.run(_closed(url, make, connections, seconds))


def open_loop(url: str, make: MakeRequest, *, rate: float, seconds: float) -> Result:
    return asyncio.run(_open(url, make, rate, seconds))
