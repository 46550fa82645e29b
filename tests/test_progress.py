"""The CLI's one progress bar (export, the history import)."""

from __future__ import annotations

import io

from bot.commands.progress import ProgressBar
from tests.clock import FakeClock


def test_on_a_terminal_it_redraws_in_place_at_most_every_interval() -> None:
    clock, stream = FakeClock(), io.StringIO()
    bar = ProgressBar(stream, 4000, unit="messages", in_place=True, interval=1.0, clock=clock)
    bar.update(1000)  # too soon after the start: not drawn
    clock.now = 2.0
    bar.update(2000)
    clock.now = 2.5
    bar.update(3000)  # too soon after the last draw
    clock.now = 4.0
    bar.finish(4000)
    frames = stream.getvalue().split("\r")[1:]
    assert len(frames) == 2 and stream.getvalue().endswith("\n")
    assert " 50% 2,000/4,000 messages  1,000/s" in frames[0]
    assert "100% 4,000/4,000 messages  1,000/s" in frames[1]
    assert "#" * 30 in frames[1]


def test_in_a_log_it_writes_a_line_each_time_another_every_items_are_done() -> None:
    clock, stream = FakeClock(), io.StringIO()  # not a terminal
    bar = ProgressBar(stream, 0, unit="conversations", every=25, clock=clock)
    for n in range(1, 31):
        clock.advance(1.0)
        bar.update(n, total=30, detail=f", {n * 3} messages")
    bar.finish()
    lines = stream.getvalue().splitlines()
    assert [line.split("] ")[1] for line in lines] == [
        "  3% 1/30 conversations  1/s, 3 messages",
        " 83% 25/30 conversations  1/s, 75 messages",
        "100% 30/30 conversations  1/s, 90 messages",
    ]
    assert "\r" not in stream.getvalue()


def test_a_total_of_zero_reads_as_done_and_nothing_overflows() -> None:
    stream = io.StringIO()
    bar = ProgressBar(stream, 0, unit="rows", in_place=False, clock=FakeClock())
    bar.finish(0)
    assert stream.getvalue() == f"[{'#' * 30}] 100% 0/0 rows  0/s\n"
    over = io.StringIO()
    ProgressBar(over, 2, unit="rows", in_place=False, clock=FakeClock()).finish(5)
    assert over.getvalue().startswith(f"[{'#' * 30}] 100% 5/2")
