"""Effect sizes beside the verdicts: the t quantile without scipy, the 95 % interval, Hedges' g (known answers)."""

from __future__ import annotations

import math

import pytest

from edgeconv.research.compare import RunRecord, summarise
from edgeconv.research.report import (
    INCONCLUSIVE,
    Comparison,
    effects_markdown,
    hedges_g,
    regularized_beta,
    student_t_cdf,
    t_critical,
    t_quantile,
)


@pytest.mark.parametrize("t", [-4.0, -0.7, 0.0, 0.3, 2.5, 30.0])
def test_t_cdf_matches_the_closed_forms_for_one_and_two_dof(t: float) -> None:
    assert student_t_cdf(t, 1) == pytest.approx(0.5 + math.atan(t) / math.pi, abs=1e-12)  # Cauchy
    assert student_t_cdf(t, 2) == pytest.approx(0.5 + t / (2 * math.sqrt(2 + t * t)), abs=1e-12)


def test_regularized_beta_known_values() -> None:
    assert regularized_beta(1, 1, 0.3) == pytest.approx(0.3)  # uniform
    assert regularized_beta(2, 1, 0.5) == pytest.approx(0.25)  # x^2
    assert regularized_beta(2, 3, 0.4) == pytest.approx(0.5248)  # 6x^2 - 8x^3 + 3x^4
    assert regularized_beta(0.5, 0.5, 0.5) == pytest.approx(0.5)  # symmetric


@pytest.mark.parametrize(
    ("dof", "quantile"),  # two-sided 5 % critical values from the printed Student t table
    [(1, 12.7062), (2, 4.3027), (3, 3.1824), (4, 2.7764), (10, 2.2281), (30, 2.0423), (100, 1.9840), (1e6, 1.9600)],
)
def test_t_quantile_matches_the_table(dof: float, quantile: float) -> None:
    assert t_quantile(0.975, dof) == pytest.approx(quantile, abs=1e-4)
    assert t_quantile(0.025, dof) == pytest.approx(-quantile, abs=1e-4)
    assert t_critical(dof) == pytest.approx(quantile, abs=1e-4)


def test_t_quantile_inverts_the_cdf_at_fractional_dof() -> None:
    assert t_quantile(0.975, 1) == pytest.approx(math.tan(math.pi * 0.475), rel=1e-10)  # Cauchy, exact
    for dof in (1.3, 2.9, 5.5):
        for p in (0.6, 0.9, 0.975, 0.999):
            assert student_t_cdf(t_quantile(p, dof), dof) == pytest.approx(p, abs=1e-10)
    assert t_quantile(0.975, 2) > t_quantile(0.975, 2.9) > t_quantile(0.975, 3)
    with pytest.raises(ValueError, match="0 < p < 1"):
        t_quantile(1.0, 3)


def test_interval_and_hedges_g_by_hand() -> None:
    """a = 1, 2, 3 and b = 4, 5, 6: means 2 and 5, stds 1, se = sqrt(2/3), Welch dof = 4."""
    c = Comparison("a", "b", "value", mean_a=2.0, std_a=1.0, mean_b=5.0, std_b=1.0, n_a=3, n_b=3)
    assert c.difference == -3.0 and c.se == pytest.approx(math.sqrt(2 / 3)) and c.dof == pytest.approx(4.0)
    low, high = c.ci95
    assert low == pytest.approx(-3 - 2.776445 * math.sqrt(2 / 3), abs=1e-5)  # -5.266910
    assert high == pytest.approx(-3 + 2.776445 * math.sqrt(2 / 3), abs=1e-5)  # -0.733090
    # pooled std 1, d = -3, J(4) = Gamma(2) / (sqrt(2) Gamma(1.5)) = 1 / (sqrt(2) * sqrt(pi) / 2) = 0.797885
    assert c.hedges_g == pytest.approx(-3 * 2 / (math.sqrt(2) * math.sqrt(math.pi)), abs=1e-9)
    assert c.hedges_g == pytest.approx(-2.393654, abs=1e-6)


def test_hedges_g_pools_unequal_groups_and_guards_its_edges() -> None:
    # n 2 and 4, stds 2 and 1: pooled = sqrt((1 * 4 + 3 * 1) / 4) = sqrt(7 / 4); J(4) as above
    j4 = 2 / (math.sqrt(2) * math.sqrt(math.pi))
    assert hedges_g(3.0, 2.0, 2, 1.0, 1.0, 4) == pytest.approx(j4 * 2 / math.sqrt(7 / 4))
    assert math.isnan(hedges_g(1.0, 0.0, 1, 0.0, 0.0, 2))  # one degree of freedom: no correction exists
    assert hedges_g(1.0, 0.0, 3, 0.0, 0.0, 3) == math.inf and hedges_g(1.0, 0.0, 3, 1.0, 0.0, 3) == 0.0
    assert all(math.isnan(v) for v in Comparison("a", "b", "value", 1.0, 0.0, 0.0, 0.0, 1, 1).ci95)


@pytest.mark.parametrize(("mean_a", "std_a", "mean_b", "std_b", "n_a", "n_b"),
                         [(10.0, 1.0, 8.0, 2.0, 3, 3), (10.0, 0.5, 9.9, 0.5, 3, 3), (5.0, 0.1, 5.3, 0.4, 3, 5),
                          (0.61, 0.02, 0.58, 0.01, 4, 3), (1.0, 1.0, 0.0, 1.0, 2, 2)])
def test_the_interval_excludes_zero_exactly_when_the_verdict_is_decided(
    mean_a: float, std_a: float, mean_b: float, std_b: float, n_a: int, n_b: int
) -> None:
    c = Comparison("a", "b", "value", mean_a, std_a, mean_b, std_b, n_a, n_b)
    low, high = c.ci95
    assert (low > 0 or high < 0) == (c.verdict != INCONCLUSIVE)
    assert low < c.difference < high


def test_effects_table_compares_each_variant_with_plain() -> None:
    erf = {"r20": 0.01, "r30": 0.02, "r50": 0.05, "r99": 0.3, "anisotropy": 1.1, "orientation_deg": 10.0,
           "angular_spread": 0.9, "effective_area_px": 40.0}
    values = {"plain": (0.50, 0.52, 0.54), "shiftwise": (0.60, 0.62, 0.64)}
    records = [RunRecord("dtd10", v, s, "m", "accuracy", values[v][s], 10, 2.0, erf, 0.1, 4, False,
                         {"zero_shot_accuracy": values[v][s] - 0.1, "zero_shot_halves": [0.0, 0.0]})
               for v in values for s in range(3)]
    text = effects_markdown(summarise(records))
    # difference 0.10 = +10.00 pp, se = 0.02 * sqrt(2/3), dof 4: half-width 2.776445 * 1.632993 = 4.53 pp
    assert "| shiftwise | accuracy | +10.00 pp [+5.47, +14.53] |" in text
    assert "| shiftwise | zero-shot accuracy | +10.00 pp [+5.47, +14.53] |" in text
    assert "| +3.99 |" in text and "| higher |" in text  # g = J(4) * 0.10 / 0.02 = 0.797885 * 5
    assert effects_markdown(summarise([r for r in records if r.variant == "shiftwise"])) == ""
