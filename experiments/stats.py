"""Statistics for experiment reports and for Thompson sampling. Pure: no I/O, randomness injected.

Formulas, so a reader can check the numbers by hand:

- Wilson score interval for ``s`` successes in ``n`` trials, ``p = s / n``::

      centre = (p + z²/2n) / (1 + z²/n)
      half   = z · sqrt(p(1 - p)/n + z²/4n²) / (1 + z²/n)
      (lower, upper) = (centre - half, centre + half)

  With ``n = 0`` there is no information, so the interval is the whole of [0, 1].
- Newcombe's interval for the difference ``d = p1 - p2`` of two independent proportions
  (his method 10, "hybrid score", 1998), from each one's Wilson interval ``(l1, u1)`` and
  ``(l2, u2)``::

      lower = d - sqrt((p1 - l1)² + (u2 - p2)²)
      upper = d + sqrt((u1 - p1)² + (p2 - l2)²)

  It stays inside [-1, 1] and behaves at 0 and n successes, where the textbook Wald
  interval collapses. With either ``n`` 0 there is no information: (-1, 1).
- Probability best: each arm's conversion rate has the posterior Beta(1 + c, 1 + n - c)
  (a uniform prior updated by ``c`` conversions in ``n`` trials). One Monte Carlo round draws
  one rate per arm and credits the arm with the highest draw; ties go to one of the tied arms
  uniformly at random. The estimate is wins / rounds, so the values sum to 1.
- Percentiles interpolate linearly between closest ranks (numpy's default, Excel's
  PERCENTILE.INC, R's type 7): on the sorted values ``x[0..n-1]`` the ``p``-th percentile sits
  at rank ``h = (n - 1) · p / 100`` and is ``x[⌊h⌋] + (h - ⌊h⌋) · (x[⌊h⌋ + 1] - x[⌊h⌋])``.
  The 50th percentile is then the usual median.
"""

from __future__ import annotations

import math
import random
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

# Two-sided 95%: the 0.975 quantile of the standard normal.
Z_95 = 1.959963984540054


@dataclass(frozen=True)
class ArmStats:
    """What is known about one arm. ``trials`` counts conversations with a known outcome."""

    key: str
    conversions: int
    trials: int

    def __post_init__(self) -> None:
        if not self.key:
            raise ValueError("arm key must be a non-empty string")
        if self.conversions < 0 or self.trials < 0:
            raise ValueError(
                f"arm {self.key!r}: counts must be non-negative "
                f"(conversions={self.conversions}, trials={self.trials})"
            )
        if self.conversions > self.trials:
            raise ValueError(
                f"arm {self.key!r}: conversions ({self.conversions}) exceed trials ({self.trials})"
            )


def wilson_interval(successes: int, n: int, z: float = Z_95) -> tuple[float, float]:
    """The Wilson score interval for a proportion; (0.0, 1.0) when ``n`` is 0."""
    if n < 0 or successes < 0:
        raise ValueError(f"counts must be non-negative (successes={successes}, n={n})")
    if successes > n:
        raise ValueError(f"successes ({successes}) exceed trials ({n})")
    if not (math.isfinite(z) and z > 0):
        raise ValueError(f"z must be a positive finite number, not {z!r}")
    if n == 0:
        return (0.0, 1.0)
    p = successes / n
    z2 = z * z
    denominator = 1 + z2 / n
    centre = (p + z2 / (2 * n)) / denominator
    half = z * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / denominator
    # At 0 or n successes the bound is exactly 0 or 1 algebraically; rounding in the
    # square root could otherwise leave a stray 1e-17 there or nudge it out of [0, 1].
    lower = 0.0 if successes == 0 else max(0.0, centre - half)
    upper = 1.0 if successes == n else min(1.0, centre + half)
    return (lower, upper)


def wilson_lower(successes: int, n: int, z: float = Z_95) -> float:
    """The lower Wilson bound: a rate we are fairly sure an arm beats, used to rank arms."""
    return wilson_interval(successes, n, z)[0]


def newcombe_interval(
    successes1: int, n1: int, successes2: int, n2: int, z: float = Z_95
) -> tuple[float, float]:
    """Newcombe's interval for ``successes1/n1 - successes2/n2``; (-1.0, 1.0) when either
    ``n`` is 0."""
    if n1 == 0 or n2 == 0:
        for s, n in ((successes1, n1), (successes2, n2)):
            wilson_interval(s, n, z)  # the same checks of the counts
        return (-1.0, 1.0)
    p1, p2 = successes1 / n1, successes2 / n2
    l1, u1 = wilson_interval(successes1, n1, z)
    l2, u2 = wilson_interval(successes2, n2, z)
    d = p1 - p2
    lower = d - math.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2)
    upper = d + math.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2)
    return (max(-1.0, lower), min(1.0, upper))


def conversion_ci(conversions: int, trials: int) -> tuple[float, float]:
    """The 95% Wilson interval for an arm's conversion rate."""
    return wilson_interval(conversions, trials, Z_95)


def prob_best(arms: Sequence[ArmStats], rng: random.Random, draws: int = 10000) -> dict[str, float]:
    """P(each arm has the highest conversion rate), by ``draws`` Monte Carlo rounds from ``rng``.

    Each round takes one ``rng.betavariate`` per arm, in the order given, and breaks ties with
    ``rng.choice``, so a seeded ``rng`` gives the same answer every time.
    """
    _check_arms(arms)
    if draws < 1:
        raise ValueError(f"draws must be at least 1, not {draws}")
    shapes = [(1 + arm.conversions, 1 + arm.trials - arm.conversions) for arm in arms]
    wins = [0] * len(arms)
    for _ in range(draws):
        sampled = [rng.betavariate(a, b) for a, b in shapes]
        top = max(sampled)
        leaders = [i for i, value in enumerate(sampled) if value == top]
        # Continuous draws almost never tie; consuming rng only when they do keeps the
        # common path to exactly one betavariate per arm per round.
        winner = leaders[0] if len(leaders) == 1 else rng.choice(leaders)
        wins[winner] += 1
    return {arm.key: count / draws for arm, count in zip(arms, wins, strict=True)}


def mean(values: Iterable[float]) -> float | None:
    """The arithmetic mean, or None when there are no values."""
    data = list(values)
    return statistics.fmean(data) if data else None


def median(values: Iterable[float]) -> float | None:
    """The median (the mean of the middle two for an even count), or None when empty."""
    data = list(values)
    return float(statistics.median(data)) if data else None


def percentile(values: Iterable[float], p: float) -> float | None:
    """The ``p``-th percentile (0 ≤ p ≤ 100) by linear interpolation, or None when empty."""
    if not (0 <= p <= 100):
        raise ValueError(f"percentile must be between 0 and 100, not {p!r}")
    data = sorted(values)
    if not data:
        return None
    if any(math.isnan(v) for v in data):
        raise ValueError("values must not contain NaN (it has no place in an order)")
    rank = (len(data) - 1) * p / 100
    low = math.floor(rank)
    high = min(low + 1, len(data) - 1)
    return float(data[low] + (rank - low) * (data[high] - data[low]))


def _check_arms(arms: Sequence[ArmStats]) -> None:
    if not arms:
        raise ValueError("at least one arm is needed")
    keys = [arm.key for arm in arms]
    if len(set(keys)) != len(keys):
        raise ValueError(f"arm keys must be unique, got {keys}")
