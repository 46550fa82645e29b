"""Goals 3 and 4, the reply pipeline: what Wingman adds around a Claude call, how late the
quiet-period timer fires, and how reply throughput scales with reply workers.

Customers write through the Chatwoot stand-in, which delivers signed webhooks to Wingman
as Chatwoot does; Wingman (as `make run` starts it) routes them, waits out the quiet
period (1 s here), asks the Claude stand-in and posts a draft note back. Each reply job
logs one line with its timer's lateness, its total time and Claude's share; the figures
come from those lines.

- Overhead: OVERHEAD_CONVERSATIONS customers write at once, Claude answers at once; the
  reply workers are the default number. Per reply: the job's time minus Claude's, and how
  late it started after it was due. One reply worker's replies per second come from a run
  with REPLY_WORKERS=1.
- Scaling: with every Claude answer taking 2 s, SCALING_ROUNDS x N customers write at once
  to N = 1, 2, 4 and 8 reply workers; replies per second against N times one worker's.
"""

from __future__ import annotations

import os
import re
import statistics
import time
from dataclasses import dataclass
from pathlib import Path

from bench import service

OVERHEAD_CONVERSATIONS = int(os.environ.get("BENCH_REPLIES", "200"))
SCALING_ROUNDS = int(os.environ.get("BENCH_SCALING_ROUNDS", "4"))
SCALING_WORKERS = (1, 2, 4, 8)
CLAUDE_SECONDS = 2.0
WAIT_LIMIT = 300.0
LINE = re.compile(
    r"^(?P<at>\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}) \w+ workers\.jobs: conversation \d+: "
    r"reply started (?P<late>-?\d+) ms after it was due \(queued at (?P<queued>-?\d+) ms\).*"
    r"written and posted in (?P<took>\d+) ms "
    r"\(Claude (?P<claude>\d+) ms, Wingman (?P<ours>-?\d+) ms\)"
)
QUIET = {"REPLY_DEBOUNCE_SECONDS": "1", "LOG_LEVEL": "INFO"}


@dataclass
class ReplyRun:
    late: list[float]  # seconds
    queued: list[float]  # seconds from due to the scheduler queueing the job
    ours: list[float]  # seconds
    took: list[float]  # seconds
    span: float  # seconds from the first reply's start to the last one's end
    rss_mb: list[float]

    @property
    def per_second(self) -> float:
        return len(self.took) / self.span if self.span else float("nan")


def percentile(values: list[float], p: int) -> float:
    if len(values) < 2:
        return values[0] if values else float("nan")
    return statistics.quantiles(values, n=100, method="inclusive")[p - 1]


def replies(log: Path) -> list[re.Match[str]]:
    if not log.exists():
        return []
    return [m for m in map(LINE.match, log.read_text(errors="replace").splitlines()) if m]


def worker_rss(log: Path) -> list[float]:
    """Resident memory (MB) of each reply worker, from the pids the supervisor logged."""
    sizes = []
    for pid in re.findall(r"started reply worker \d+ \(pid (\d+)\)", log.read_text()):
        try:
            status = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            continue
        match = re.search(r"VmRSS:\s+(\d+) kB", status)
        if match:
            sizes.append(int(match.group(1)) / 1024)
    return sizes


def run(
    workdir: Path, database_url: str, *, customers: int, reply_workers: int, claude: float
) -> ReplyRun:
    port = service.free_port()
    name = f"pipeline-{reply_workers}-{customers}-{time.monotonic_ns()}.log"
    log = workdir / name
    hook = f"http://127.0.0.1:{port}/chatwoot/webhook"
    extra = {**QUIET, "REPLY_WORKERS": str(reply_workers)}
    # Each run starts empty: the stand-in numbers its conversations from 1 again.
    if database_url.startswith("sqlite"):
        database_url = f"sqlite:///{workdir / name}.db"
    else:
        service.fresh_postgres(database_url)
    with (
        service.standins(workdir, claude_delay=claude, webhook_url=hook) as targets,
        service.wingman(workdir, database_url, {**targets, **extra}, port=port, log=name),
    ):
        chatwoot = targets["CHATWOOT_URL"]
        for n in range(customers):
            service.post_json(
                f"{chatwoot}/_standin/customer_message",
                {"content": "Hi! Does the Trail Tent 2P fit two adults?",
                 "contact": {"name": f"Customer {n}"}},
            )  # fmt: skip
        deadline = time.monotonic() + WAIT_LIMIT
        while len(replies(log)) < customers and time.monotonic() < deadline:
            time.sleep(0.2)
        rss = worker_rss(log)
    found = replies(log)
    if len(found) < customers:
        print(f"  (only {len(found)} of {customers} replies within {WAIT_LIMIT:g}s; see {log})")
    ends = [stamp(m["at"]) for m in found]
    starts = [end - int(m["took"]) / 1000 for end, m in zip(ends, found, strict=True)]
    return ReplyRun(
        late=[int(m["late"]) / 1000 for m in found],
        queued=[int(m["queued"]) / 1000 for m in found],
        ours=[int(m["ours"]) / 1000 for m in found],
        took=[int(m["took"]) / 1000 for m in found],
        span=(max(ends) - min(starts)) if found else 0.0,
        rss_mb=rss,
    )


def stamp(text: str) -> float:
    whole, millis = text.split(",")
    return time.mktime(time.strptime(whole, "%Y-%m-%d %H:%M:%S")) + int(millis) / 1000


def measure(workdir: Path, database_url: str, label: str) -> None:
    print(
        f"reply pipeline, {label}: zero-latency stand-ins, {OVERHEAD_CONVERSATIONS} customers "
        f"at once"
    )
    default = run(workdir, database_url, customers=OVERHEAD_CONVERSATIONS, reply_workers=4,
                  claude=0.0)  # fmt: skip
    print(
        f"  Wingman's time per reply (job start to note posted, less Claude): "
        f"p50 {percentile(default.ours, 50) * 1000:.0f} ms, "
        f"p99 {percentile(default.ours, 99) * 1000:.0f} ms (goal < 50)"
    )
    print(
        f"  timer lateness, due to job start: p50 {percentile(default.late, 50):.2f}s, "
        f"p99 {percentile(default.late, 99):.2f}s (goal < 1.5), 4 reply workers; "
        f"of which the scheduler's, due to queued: p50 {percentile(default.queued, 50):.2f}s, "
        f"p99 {percentile(default.queued, 99):.2f}s"
    )
    one = run(workdir, database_url, customers=OVERHEAD_CONVERSATIONS // 2, reply_workers=1,
              claude=0.0)  # fmt: skip
    print(f"  one reply worker: {one.per_second:.1f} replies/s")
    print(
        f"reply scaling, {label}: Claude takes {CLAUDE_SECONDS:g}s, "
        f"{SCALING_ROUNDS} replies per worker"
    )
    base = None
    for workers in SCALING_WORKERS:
        scaled = run(workdir, database_url, customers=SCALING_ROUNDS * workers,
                     reply_workers=workers, claude=CLAUDE_SECONDS)  # fmt: skip
        base = base or scaled.per_second
        memory = statistics.mean(scaled.rss_mb) if scaled.rss_mb else float("nan")
        print(
            f"  {workers} worker(s): {scaled.per_second:.2f} replies/s, "
            f"{scaled.per_second / (base * workers):.2f} of linear (goal >= 0.9); "
            f"{memory:.0f} MB per reply worker"
        )


def main() -> None:
    service.on_each_database("reply pipeline", measure)


if __name__ == "__main__":
    main()
