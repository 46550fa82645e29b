"""The randomized simulation (tests/simulation.py): a fixed budget in `make test`, any budget
and seed in `make soak`, and every shrunk failure kept as a regression example."""

from __future__ import annotations

import os
import random
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.simulation import (
    Sim,
    Stats,
    generate,
    load_regression,
    regressions,
    save_regression,
    shrink,
)
from tests.world import World

# Steps per database in `make test`; `make soak` sets SIM_STEPS (and SIM_SEED) itself.
STEPS = int(os.environ.get("SIM_STEPS", "1200"))
SEED = int(os.environ.get("SIM_SEED", "20261204"))
RUN_LENGTH = 80


@pytest.fixture
def sim(world: World) -> Iterator[Sim]:
    simulation = Sim(world)
    yield simulation
    simulation.close()


def test_the_simulation_keeps_every_promise(sim: Sim, capsys: pytest.CaptureFixture[str]) -> None:
    rng = random.Random(SEED)
    total = Stats()
    while total.steps < STEPS:
        run_seed = rng.randrange(1 << 30)
        steps = generate(random.Random(run_seed), RUN_LENGTH)
        stats = sim.run(steps)
        total.add(stats)
        if stats.violations:
            first = stats.violations[0]
            smallest = shrink(sim, steps, first.invariant)
            path = save_regression(smallest, first, seed=run_seed)
            details = "\n".join(f"- {v.invariant}: {v.detail}" for v in stats.violations[:10])
            pytest.fail(
                f"run {run_seed} broke a promise:\n{details}\n"
                f"shrunk from {len(steps)} to {len(smallest)} steps in {path}"
            )
    with capsys.disabled():
        print(
            f"\nsimulation: seed {SEED}, {total.runs} runs, {total.steps} steps in "
            f"{total.seconds:.0f}s; {total.claude_calls} Claude calls "
            f"({total.real_claude_calls} through the SDK to the Claude stand-in), "
            f"{total.public_messages} public messages, {total.notes} notes "
            f"({total.duplicate_notes} posted twice after an unknown outcome), "
            f"{total.crashes} killed workers, {total.follow_ups} follow-up steps; 0 violations"
        )


@pytest.mark.parametrize("path", regressions(), ids=lambda p: Path(p).stem)
def test_a_shrunk_failure_stays_fixed(sim: Sim, path: Path) -> None:
    stats = sim.run(load_regression(path))
    assert not stats.violations, stats.violations
