"""What a forked RQ work horse would pay per job if the worker hadn't imported the jobs.

RQ forks a child per job; a module the parent hasn't imported is imported in every child.
``workers/worker.py`` imports ``workers.jobs`` before forking, so this cost is paid once.
Baseline: starting a bare interpreter, in the same run.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time

ROUNDS = 5


def _time(code: str) -> float:
    samples = []
    for _ in range(ROUNDS):
        started = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], check=True)
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


def main() -> None:
    base = _time("pass")
    jobs = _time("import workers.jobs")
    print(f"job module import, median of {ROUNDS} fresh interpreters")
    print(f"  baseline: bare interpreter        {base * 1000:7.1f} ms")
    print(f"  import workers.jobs               {jobs * 1000:7.1f} ms")
    print(f"  per-job cost saved by importing before the fork: {(jobs - base) * 1000:.0f} ms")
    print(f"  ratio: {jobs / base:.1f}x the baseline")
