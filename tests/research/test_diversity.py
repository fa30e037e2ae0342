"""The diversity claim's statistic: partial correlation, its Fisher interval and p-value, over variants (the unit
of analysis) and, for reference, over runs."""

from __future__ import annotations

import math

import numpy as np
import pytest

from edgeconv.research.diversity import (
    diversity_association,
    partial_correlation,
    pearson,
    run_values,
    variant_association,
    variant_means,
)
from edgeconv.research.report import CONFIRMED, INCONCLUSIVE, NOT_CONFIRMED


def precision_partial(x: np.ndarray, y: np.ndarray, z: np.ndarray) -> float:
    """r(x, y | z) from the inverse correlation matrix: -P_xy / sqrt(P_xx P_yy)."""
    p = np.linalg.inv(np.corrcoef(np.stack([x, y, z])))
    return float(-p[0, 1] / math.sqrt(p[0, 0] * p[1, 1]))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_partial_correlation_matches_the_precision_matrix(seed: int) -> None:
    rng = np.random.default_rng(seed)
    z = rng.normal(size=40)
    x = 0.7 * z + rng.normal(size=40)
    y = 0.5 * z + 0.3 * x + rng.normal(size=40)
    got = partial_correlation(list(x), list(y), list(z))
    assert got.r == pytest.approx(precision_partial(x, y, z), abs=1e-12)
    assert got.r_xy == pytest.approx(np.corrcoef(x, y)[0, 1], abs=1e-12)
    half = 1.959963984540054 / math.sqrt(40 - 4)  # Fisher's z, one variable controlled
    assert got.low == pytest.approx(math.tanh(math.atanh(got.r) - half))
    assert got.high == pytest.approx(math.tanh(math.atanh(got.r) + half))


def test_verdicts_follow_the_interval() -> None:
    rng = np.random.default_rng(3)
    z = rng.normal(size=45)
    x = rng.normal(size=45)
    assert partial_correlation(list(x), list(z + 2 * x), list(z)).verdict == CONFIRMED  # diversity drives y
    assert partial_correlation(list(x), list(z - 2 * x), list(z)).verdict == NOT_CONFIRMED
    noise = partial_correlation(list(x), list(z + rng.normal(size=45)), list(z))  # y is size plus noise
    assert noise.verdict == INCONCLUSIVE and noise.low < 0 < noise.high and noise.p > 0.05
    # size explains y, x only through size: the plain correlation is large, the partial one is not
    x_via_size = z + 0.1 * rng.normal(size=45)
    confounded = partial_correlation(list(x_via_size), list(z + 0.1 * rng.normal(size=45)), list(z))
    assert confounded.r_xy > 0.9 and confounded.low < 0 < confounded.high


def test_a_known_p_value_and_too_few_points() -> None:
    # y = 2x exactly, z unrelated: the residuals correlate perfectly, p ~ 0
    xs = [0.0, 1.0, 2.0, 3.0, 4.0]
    assert partial_correlation(xs, [2 * v for v in xs], [1.0, 0.0, 1.0, 0.0, 1.0]).p < 1e-6
    with pytest.raises(ValueError, match=">= 5 aligned points"):
        partial_correlation([1.0, 2.0], [1.0, 2.0], [0.0, 1.0])
    assert pearson([1.0, 1.0], [1.0, 2.0]) == 0.0


def test_runs_are_read_from_summary_rows_in_order() -> None:
    rows = [{"variant": "a", "dissimilarity_all": [0.1, 0.2, 0.3], "zero_shot_accuracy_all": [0.4, 0.5, 0.6],
             "r50_all": [0.01, 0.02, 0.02]},
            {"variant": "b", "dissimilarity_all": [0.3, 0.5, 0.4], "zero_shot_accuracy_all": [0.5, 0.7, 0.6],
             "r50_all": [0.03, 0.01, 0.02]}]
    assert run_values(rows, "dissimilarity") == [0.1, 0.2, 0.3, 0.3, 0.5, 0.4]
    assert run_values(rows, "orientation_spread") is None
    got = diversity_association(rows, "dissimilarity")
    assert got is not None and got.n == 6 and got.r > 0.5
    assert diversity_association(rows, "orientation_spread") is None


def clustered_rows(rng: np.random.Generator, variants: int = 9, seeds: int = 5) -> list[dict]:
    """Summary rows of runs clustered in variants, with no association of diversity and accuracy at all: each
    variant draws its own diversity, accuracy and size, and its seeds scatter a little around them."""
    rows = []
    for v in range(variants):
        centre = rng.normal(size=3)
        runs = centre + 0.2 * rng.normal(size=(seeds, 3))
        row: dict = {"variant": f"v{v}"}
        for k, name in enumerate(("dissimilarity", "zero_shot_accuracy", "r50")):
            row[f"{name}_all"] = list(runs[:, k])
            row[f"{name}_mean"] = float(np.mean(runs[:, k]))
        rows.append(row)
    return rows


def test_runs_as_points_are_overconfident_on_clustered_data_and_variants_are_not() -> None:
    """Under the null, with 9 variants of 5 seeds: the run-level interval (n = 45) excludes 0 far more often than
    5 %, because 5 seeds of a variant repeat one draw; the variant-level one (n = 9) about 5 % of the time."""
    rng = np.random.default_rng(0)
    trials, naive, variant_level = 400, 0, 0
    for _ in range(trials):
        rows = clustered_rows(rng)
        runs, variants = diversity_association(rows, "dissimilarity"), variant_association(rows, "dissimilarity")
        assert runs is not None and variants is not None and runs.n == 45 and variants.n == 9
        naive += runs.p < 0.05
        variant_level += variants.p < 0.05
    assert naive / trials > 0.3  # nominal 5 %: overconfident
    assert variant_level / trials < 0.09  # nominal 5 %: holds (binomial sd ~1.1 % at 400 trials)


def test_one_clustered_sample_has_a_narrow_run_interval_and_a_wide_variant_interval() -> None:
    rows = clustered_rows(np.random.default_rng(1))
    runs, variants = diversity_association(rows, "dissimilarity"), variant_association(rows, "dissimilarity")
    assert runs is not None and variants is not None
    assert runs.high - runs.low < 0.6 < variants.high - variants.low


def test_variant_association_uses_one_point_per_variant() -> None:
    rows = clustered_rows(np.random.default_rng(2), variants=6)
    got = variant_association(rows, "dissimilarity")
    assert got is not None and got.n == 6
    means = [variant_means(rows, n) for n in ("dissimilarity", "zero_shot_accuracy", "r50")]
    assert got.r == pytest.approx(partial_correlation(*means).r)
    assert variant_association(rows[:4], "dissimilarity") is None  # fewer than 5 variants: no statistic
    assert variant_means(rows, "orientation_spread") is None
