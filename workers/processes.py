"""Processes by pid: how an exit reads, a process's descendants, killing a whole tree."""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path


def describe_exit(code: int) -> str:
    if code < 0:
        return f"was killed by {signal.Signals(-code).name} (exit code {code})"
    return f"exited with code {code}"


def kill_tree(pid: int) -> None:
    """SIGKILL ``pid`` and its descendants.

    Killing only the child would orphan its own children: an RQ work horse or the RQ
    scheduler process would carry on with nobody to stop them.
    """
    doomed = [pid, *descendants(pid)]
    for each in doomed:
        try:
            os.kill(each, signal.SIGKILL)
        except ProcessLookupError:
            pass


def descendants(pid: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for child, parent in _process_table():
        children.setdefault(parent, []).append(child)
    found: list[int] = []
    stack = [pid]
    while stack:
        kids = children.get(stack.pop(), [])
        found.extend(kids)
        stack.extend(kids)
    return found


def _process_table() -> list[tuple[int, int]]:
    """(pid, parent pid) of every process: /proc on Linux, ps elsewhere (macOS)."""
    proc = Path("/proc")
    if not (proc / "self" / "stat").exists():
        ps = subprocess.run(
            ["ps", "-A", "-o", "pid=", "-o", "ppid="], capture_output=True, text=True, check=False
        )
        return [(int(a), int(b)) for a, b in (line.split() for line in ps.stdout.splitlines())]
    table = []
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue  # it exited while we looked
        # The command name in parentheses may itself hold spaces or parentheses.
        table.append((int(entry.name), int(stat.rsplit(")", 1)[1].split()[1])))
    return table
