"""Experiment statistics against values worked out by hand or taken from the literature."""

from __future__ import annotations

import math
import random

import pytest

from experiments.stats import (
    Z_95,
    ArmStats,
    conversion_ci,
    mean,
    median,
    newcombe_interval,
    percentile,
    prob_best,
    wilson_interval,
    wilson_lower,
)

# --- Wilson interval ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("successes", "n", "expected"),
    [
        # p = 0.8, z² = 3.8415: centre 0.99207 / 1.38415 = 0.71674, half 0.22658.
        (8, 10, (0.4902, 0.9433)),
        # Newcombe (1998), "Two-sided confidence intervals for the single proportion",
        # Table I, method 3 (score interval without continuity correction).
        (81, 263, (0.2553, 0.3662)),
        (15, 148, (0.0624, 0.1605)),
        (0, 20, (0.0, 0.1611)),
        (1, 29, (0.0061, 0.1718)),
        # 0/n and n/n reduce to z²/(n + z²) and n/(n + z²): 3.8415 / 13.8415 = 0.2775.
        (0, 10, (0.0, 0.2775)),
        (10, 10, (0.7225, 1.0)),
    ],
)
def test_wilson_interval_matches_published_values(
    successes: int, n: int, expected: tuple[float, float]
) -> None:
    lower, upper = wilson_interval(successes, n)
    assert (round(lower, 4), round(upper, 4)) == expected


def test_wilson_interval_with_another_z() -> None:
    # 5/10, z = 1: centre (0.5 + 0.05) / 1.1 = 0.5, half sqrt(0.025 + 0.0025) / 1.1.
    half = math.sqrt(0.0275) / 1.1
    assert wilson_interval(5, 10, z=1.0) == pytest.approx((0.5 - half, 0.5 + half), abs=1e-12)


def test_no_trials_means_no_information() -> None:
    assert wilson_interval(0, 0) == (0.0, 1.0)
    assert conversion_ci(0, 0) == (0.0, 1.0)
    assert wilson_lower(0, 0) == 0.0


@pytest.mark.parametrize("n", [1, 2, 3, 7, 10, 100, 1000, 123457])
def test_bounds_at_the_extremes_are_exact(n: int) -> None:
    z2 = Z_95 * Z_95
    lower, upper = wilson_interval(0, n)
    assert lower == 0.0
    assert upper == pytest.approx(z2 / (n + z2), rel=1e-12)
    lower, upper = wilson_interval(n, n)
    assert upper == 1.0
    assert lower == pytest.approx(n / (n + z2), rel=1e-12)


@pytest.mark.parametrize(("successes", "n"), [(1, 2), (3, 10), (50, 100), (999, 1000), (1, 1)])
def test_interval_contains_the_observed_rate(successes: int, n: int) -> None:
    lower, upper = wilson_interval(successes, n)
    assert 0.0 <= lower <= successes / n <= upper <= 1.0


def test_interval_narrows_with_more_data() -> None:
    small = wilson_interval(5, 10)
    large = wilson_interval(500, 1000)
    assert large[1] - large[0] < small[1] - small[0]


def test_lower_bound_and_conversion_ci_reuse_the_interval() -> None:
    assert wilson_lower(8, 10) == wilson_interval(8, 10)[0]
    assert wilson_lower(8, 10, z=1.0) == wilson_interval(8, 10, z=1.0)[0]
    assert conversion_ci(81, 263) == wilson_interval(81, 263, Z_95)


@pytest.mark.parametrize(
    ("successes", "n", "z", "message"),
    [
        (-1, 10, Z_95, "non-negative"),
        (1, -1, Z_95, "non-negative"),
        (11, 10, Z_95, "exceed"),
        (1, 10, 0.0, "z must be"),
        (1, 10, -1.0, "z must be"),
        (1, 10, math.nan, "z must be"),
        (1, 10, math.inf, "z must be"),
    ],
)
def test_wilson_interval_rejects_bad_input(successes: int, n: int, z: float, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        wilson_interval(successes, n, z)


# --- Newcombe's interval for a difference of proportions ----------------------------------


@pytest.mark.parametrize(
    ("counts", "expected"),
    [
        # Newcombe (1998), "Interval estimation for the difference between independent
        # proportions: comparison of eleven methods", Table II, method 10, examples (a)-(h)
        # except (c), whose printed value we could not confirm; statsmodels agrees with all.
        ((56, 70, 48, 80), (0.0524, 0.3339)),
        ((9, 10, 3, 10), (0.1705, 0.8090)),
        ((5, 56, 0, 29), (-0.0381, 0.1926)),
        ((0, 10, 0, 20), (-0.1611, 0.2775)),
        ((0, 10, 0, 10), (-0.2775, 0.2775)),
        ((10, 10, 0, 20), (0.6791, 1.0)),
        ((10, 10, 0, 10), (0.6075, 1.0)),
    ],
)
def test_newcombe_interval_matches_published_values(
    counts: tuple[int, int, int, int], expected: tuple[float, float]
) -> None:
    lower, upper = newcombe_interval(*counts)
    assert (round(lower, 4), round(upper, 4)) == expected


def test_newcombe_and_wilson_agree_with_statsmodels() -> None:
    """An independent, maintained implementation (dev only) as the oracle, over many counts."""
    proportion = pytest.importorskip("statsmodels.stats.proportion")
    rng = random.Random(13)
    for _ in range(300):
        n1, n2 = rng.randint(1, 400), rng.randint(1, 400)
        s1, s2 = rng.randint(0, n1), rng.randint(0, n2)
        low, high = proportion.confint_proportions_2indep(
            s1, n1, s2, n2, method="newcomb", compare="diff"
        )
        ours = newcombe_interval(s1, n1, s2, n2)
        assert ours == pytest.approx((float(low), float(high)), abs=1e-9), (s1, n1, s2, n2)
        w_low, w_high = proportion.proportion_confint(s1, n1, alpha=0.05, method="wilson")
        assert wilson_interval(s1, n1) == pytest.approx((float(w_low), float(w_high)), abs=1e-9)


def test_newcombe_interval_contains_the_observed_difference() -> None:
    rng = random.Random(7)
    for _ in range(200):
        n1, n2 = rng.randint(1, 50), rng.randint(1, 50)
        s1, s2 = rng.randint(0, n1), rng.randint(0, n2)
        lower, upper = newcombe_interval(s1, n1, s2, n2)
        assert -1.0 <= lower <= s1 / n1 - s2 / n2 <= upper <= 1.0


def test_newcombe_interval_without_trials_is_everything() -> None:
    assert newcombe_interval(0, 0, 3, 10) == (-1.0, 1.0)
    assert newcombe_interval(3, 10, 0, 0) == (-1.0, 1.0)


def test_newcombe_interval_rejects_impossible_counts() -> None:
    with pytest.raises(ValueError, match="exceed"):
        newcombe_interval(11, 10, 3, 10)
    with pytest.raises(ValueError, match="exceed"):
        newcombe_interval(1, 0, 0, 0)


# --- Percentiles, median, mean -----------------------------------------------------------

SCORES = [35, 15, 50, 20, 40]  # sorted: 15, 20, 35, 40, 50 (ranks 0..4)


@pytest.mark.parametrize(
    ("p", "expected"),
    [
        (0, 15.0),
        (25, 20.0),  # rank 1
        (40, 29.0),  # rank 1.6: 20 + 0.6 × 15
        (50, 35.0),  # rank 2
        (90, 46.0),  # rank 3.6: 40 + 0.6 × 10
        (100, 50.0),
    ],
)
def test_percentile_interpolates_between_ranks(p: float, expected: float) -> None:
    assert percentile(SCORES, p) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("values", "p", "expected"),
    [
        ([1, 2, 3, 4], 50, 2.5),  # rank 1.5
        ([1, 2, 3, 4], 75, 3.25),  # rank 2.25
        ([1, 2, 3, 4], 95, 3.85),  # rank 2.85
        ([7], 0, 7.0),
        ([7], 63, 7.0),
        ([7], 100, 7.0),
        ([2.5, 2.5, 2.5], 10, 2.5),
        ([10, 0], 30, 3.0),  # unsorted input
    ],
)
def test_percentile_small_lists(values: list[float], p: float, expected: float) -> None:
    assert percentile(values, p) == pytest.approx(expected)


def test_percentile_of_nothing_is_none() -> None:
    assert percentile([], 50) is None
    assert percentile(iter(()), 95) is None


@pytest.mark.parametrize("p", [-0.1, 100.1, math.nan])
def test_percentile_rejects_p_outside_0_to_100(p: float) -> None:
    with pytest.raises(ValueError, match="between 0 and 100"):
        percentile([1, 2, 3], p)


def test_percentile_rejects_nan_values() -> None:
    with pytest.raises(ValueError, match="NaN"):
        percentile([1.0, math.nan, 3.0], 50)


@pytest.mark.parametrize(
    ("values", "expected"),
    [([3, 1, 2], 2.0), ([4, 1, 3, 2], 2.5), ([5], 5.0), ([1.5, 2.5], 2.0)],
)
def test_median(values: list[float], expected: float) -> None:
    result = median(values)
    assert result == expected
    assert isinstance(result, float)
    assert percentile(values, 50) == pytest.approx(expected)


@pytest.mark.parametrize(("values", "expected"), [([1, 2, 3, 4], 2.5), ([5], 5.0), ([-1, 1], 0.0)])
def test_mean(values: list[float], expected: float) -> None:
    assert mean(values) == expected
    assert mean(iter(values)) == expected


def test_median_and_mean_of_nothing_are_none() -> None:
    assert median([]) is None
    assert mean([]) is None


# --- Arm counts and probability best -----------------------------------------------------


@pytest.mark.parametrize(
    ("key", "conversions", "trials", "message"),
    [
        ("a", -1, 10, "non-negative"),
        ("a", 0, -1, "non-negative"),
        ("a", 11, 10, "exceed"),
        ("", 0, 0, "non-empty"),
    ],
)
def test_arm_stats_rejects_impossible_counts(
    key: str, conversions: int, trials: int, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        ArmStats(key, conversions, trials)


ARM_SETS = [
    [ArmStats("a", 0, 0)],
    [ArmStats("a", 0, 0), ArmStats("b", 0, 0)],
    [ArmStats("a", 3, 40), ArmStats("b", 5, 40), ArmStats("c", 9, 40)],
    [ArmStats("a", 1, 2), ArmStats("b", 0, 0), ArmStats("c", 30, 300), ArmStats("d", 2, 2)],
]


@pytest.mark.parametrize("arms", ARM_SETS)
def test_prob_best_is_a_distribution_over_the_arms(arms: list[ArmStats]) -> None:
    result = prob_best(arms, random.Random(1), draws=2000)
    assert list(result) == [arm.key for arm in arms]
    assert sum(result.values()) == pytest.approx(1.0, abs=1e-12)
    assert all(0.0 <= value <= 1.0 for value in result.values())


def test_prob_best_favours_the_clearly_better_arm() -> None:
    arms = [ArmStats("low", 10, 100), ArmStats("high", 40, 100)]
    result = prob_best(arms, random.Random(2))
    assert result["high"] > 0.999


def test_prob_best_splits_evenly_between_identical_arms() -> None:
    arms = [ArmStats("a", 20, 100), ArmStats("b", 20, 100)]
    result = prob_best(arms, random.Random(3))
    # 10 000 draws: the standard error of each share is 0.005.
    assert result["a"] == pytest.approx(0.5, abs=0.02)


def test_prob_best_is_deterministic_with_a_seeded_rng() -> None:
    arms = ARM_SETS[2]
    first = prob_best(arms, random.Random(42), draws=500)
    assert prob_best(arms, random.Random(42), draws=500) == first
    # The estimate really is Monte Carlo: another seed moves it.
    assert prob_best(arms, random.Random(43), draws=500) != first


class TiedRandom(random.Random):
    """Every Beta draw ties, so only the tie-break decides; everything else is the real rng."""

    def betavariate(self, alpha: float, beta: float) -> float:
        return 0.5


def test_ties_are_broken_uniformly() -> None:
    arms = [ArmStats("a", 0, 0), ArmStats("b", 9, 10), ArmStats("c", 0, 10)]
    result = prob_best(arms, TiedRandom(5), draws=6000)
    for value in result.values():
        assert value == pytest.approx(1 / 3, abs=0.03)


@pytest.mark.parametrize(
    ("arms", "draws", "message"),
    [
        ([], 100, "at least one arm"),
        ([ArmStats("a", 0, 0), ArmStats("a", 1, 1)], 100, "unique"),
        ([ArmStats("a", 0, 0)], 0, "draws"),
    ],
)
def test_prob_best_rejects_bad_input(arms: list[ArmStats], draws: int, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        prob_best(arms, random.Random(0), draws=draws)
