"""Choosing a conversation's arm. Pure: the caller passes the arm data and a ``random.Random``.

Every choice comes with the probability the chosen arm had, so analysts can reweight outcomes
by 1 / probability (inverse propensity weighting) when the allocation changed over time.

Two modes:

- Fixed weights (a randomised A/B test): ``p_i = w_i / Σ w``.
- Thompson sampling with an exploration floor ``f`` over ``k`` arms (``k · f ≤ 1``)::

      p_i = f + (1 - k · f) · q_i

  where ``q_i`` is the probability that arm ``i`` has the highest rate drawn from its
  posterior Beta(1 + conversions, 1 + trials - conversions), estimated by ``draws`` Monte
  Carlo rounds (``experiments.stats.prob_best``, ties broken uniformly). The floor keeps
  every arm learning, and keeps 1 / p bounded by 1 / f when reweighting.

In both modes the arm is then drawn from exactly ``p`` with one ``rng.random()`` against the
cumulative probabilities, in the order the arms were given. So the recorded probability is
the one the draw used, not a second estimate of it: for Thompson sampling it is an estimate of
the ideal Thompson probability, but it is exactly the probability of this assignment.
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from experiments.stats import ArmStats, prob_best

__all__ = ["ArmStats", "Choice", "choose_fixed", "choose_thompson"]

# k · f is computed in floating point: 3 × (1/3) may land a hair above 1. Anything within
# this of 1 is treated as the all-floor case rather than rejected.
_FLOOR_SLACK = 1e-9


@dataclass(frozen=True)
class Choice:
    """The arm chosen, its probability, and the whole distribution it was drawn from."""

    arm: str
    probability: float
    probabilities: dict[str, float]


def choose_fixed(weights: Mapping[str, float], rng: random.Random) -> Choice:
    """Draw an arm with probability proportional to its weight. Every weight must be > 0."""
    if not weights:
        raise ValueError("at least one arm weight is needed")
    for key, weight in weights.items():
        if not key:
            raise ValueError("arm key must be a non-empty string")
        if not (math.isfinite(weight) and weight > 0):
            raise ValueError(f"arm {key!r}: weight must be a positive finite number, not {weight}")
    total = math.fsum(weights.values())
    return _draw({key: weight / total for key, weight in weights.items()}, rng)


def choose_thompson(
    arms: Sequence[ArmStats],
    rng: random.Random,
    *,
    min_share: float = 0.05,
    draws: int = 1000,
) -> Choice:
    """Draw an arm by Thompson sampling with an exploration floor (see the module docstring).

    ``rng`` serves both the ``draws`` Monte Carlo rounds and the final uniform draw, so a
    seeded ``rng`` reproduces the choice and its probabilities.
    """
    if not arms:
        raise ValueError("at least one arm is needed")
    if not (math.isfinite(min_share) and min_share >= 0):
        raise ValueError(f"min_share must be a non-negative number, not {min_share}")
    k = len(arms)
    if k * min_share > 1 + _FLOOR_SLACK:
        raise ValueError(
            f"min_share {min_share} is too large for {k} arms: k * min_share must be at most 1"
        )
    spread = max(0.0, 1 - k * min_share)
    best = prob_best(arms, rng, draws)
    return _draw({key: min_share + spread * q for key, q in best.items()}, rng)


def _draw(probabilities: dict[str, float], rng: random.Random) -> Choice:
    u = rng.random()
    cumulative = 0.0
    for key, probability in probabilities.items():
        cumulative += probability
        if u < cumulative:
            return Choice(key, probability, probabilities)
    # The probabilities sum to 1 only up to rounding; a u in that sliver belongs to the last
    # arm that can be chosen at all.
    key = next(k for k, p in reversed(probabilities.items()) if p > 0)
    return Choice(key, probabilities[key], probabilities)
