"""Holm's step-down, Brown-Forsythe's spread test and the one combining rule, against hand-computed answers."""

from __future__ import annotations

import math

import pytest

from edgeconv.research.inference import (
    AGAINST,
    CONFIRMED,
    CONTRADICTED,
    FOR,
    NOT_SIGNIFICANT,
    UNDECIDED,
    SpreadComparison,
    brown_forsythe,
    combine,
    f_survival,
    holm,
    reading,
)
from edgeconv.research.report import Comparison, student_t_cdf


def test_holm_by_hand() -> None:
    """p = .01, .04, .03, .005 (m = 4). Sorted: .005 x 4 = .02; .01 x 3 = .03; .03 x 2 = .06; .04 x 1 = .04, raised
    to the running maximum .06. Back in the order given: .03, .06, .06, .02."""
    assert holm([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.03, 0.06, 0.06, 0.02])


def test_holm_caps_at_one_counts_nan_as_one_and_leaves_a_single_test_alone() -> None:
    assert holm([0.5, 0.6]) == [1.0, 1.0]
    assert holm([0.02, math.nan]) == pytest.approx([0.04, 1.0])
    assert holm([0.03]) == [0.03] and holm([]) == []


def test_holm_on_the_issue_examples() -> None:
    """Claim 1's jitter-channel row (p .043 of 5) and claim 4's diagonal row (p .030 of 4) lose significance; claim 5's
    pixelmix row (p .0027 of 3) keeps it."""
    assert holm([0.531, 0.043, 0.746, 0.352, 0.056])[1] == pytest.approx(0.215)
    assert holm([0.175, 0.671, 0.030, 0.818])[2] == pytest.approx(0.120)
    assert holm([0.871, 0.059, 0.0027])[2] == pytest.approx(0.0081)


def test_brown_forsythe_two_groups_by_hand() -> None:
    """a = 1 2 4 7 9 (median 4): |dev| 3 2 0 3 5, mean 2.6; b = 3 4 5 5 6 (median 5): |dev| 2 1 0 0 1, mean 0.8.
    Grand mean 1.7; between = 5 (0.9^2) + 5 (0.9^2) = 8.1; within = 13.2 + 2.8 = 16; F = 8.1 / (16 / 8) = 4.05 on
    (1, 8); F(1, d) is t_d squared, so p = 2 P(T_8 < -sqrt(4.05))."""
    f, d1, d2, p = brown_forsythe([1, 2, 4, 7, 9], [3, 4, 5, 5, 6])
    assert (d1, d2) == (1, 8) and f == pytest.approx(4.05)
    assert p == pytest.approx(2 * student_t_cdf(-math.sqrt(4.05), 8), abs=1e-12)
    assert p == pytest.approx(0.0791, abs=5e-4)


def test_brown_forsythe_three_groups_by_hand() -> None:
    """1 2 3 | 2 4 6 | 0 5 10: |dev| from medians 1 0 1 | 2 0 2 | 5 0 5, means 2/3, 4/3, 10/3, grand 16/9.
    Between = 3 (100 + 16 + 196) / 81 = 936 / 81; within = (6 + 24 + 150) / 9 = 20; F = (936 / 81 / 2) / (20 / 6)
    = 26 / 15 on (2, 6); for d1 = 2, P(F > f) = (1 + 2 f / d2)^(-d2 / 2) = (142 / 90)^-3."""
    f, d1, d2, p = brown_forsythe([1, 2, 3], [2, 4, 6], [0, 5, 10])
    assert (d1, d2) == (2, 6) and f == pytest.approx(26 / 15)
    assert p == pytest.approx((142 / 90) ** -3, abs=1e-12)


def test_brown_forsythe_edges() -> None:
    assert brown_forsythe([1, 2, 3], [11, 12, 13])[3] == pytest.approx(1.0)  # same spread, other location
    assert brown_forsythe([1, 1, 1], [1, 1, 1])[3] == 1.0
    with pytest.raises(ValueError, match=">= 2 groups of >= 2 values"):
        brown_forsythe([1.0, 2.0], [3.0])


@pytest.mark.parametrize(("f", "d1", "d2", "p"),  # 5 % points of the printed F table
                         [(161.45, 1, 1, 0.05), (5.3177, 1, 8, 0.05), (4.1028, 2, 10, 0.05), (2.8661, 4, 20, 0.05)])
def test_f_survival_matches_the_table(f: float, d1: int, d2: int, p: float) -> None:
    assert f_survival(f, d1, d2) == pytest.approx(p, abs=2e-4)


def test_f_survival_closed_forms() -> None:
    for f in (0.3, 1.0, 4.0):
        assert f_survival(f, 1, 2) == pytest.approx(1 - math.sqrt(f / (2 + f)), abs=1e-12)  # t_2 squared
        assert f_survival(f, 2, 7) == pytest.approx((1 + 2 * f / 7) ** -3.5, abs=1e-12)
    assert f_survival(0.0, 1, 5) == 1.0 and f_survival(math.inf, 1, 5) == 0.0


def test_spread_comparison_reads_the_smaller_sd_as_the_claimed_way() -> None:
    steady, noisy = (0.50, 0.51, 0.49, 0.50, 0.50), (0.40, 0.60, 0.45, 0.55, 0.50)
    c = SpreadComparison("a", "b", "value", steady, noisy)
    assert c.points_claimed_way and c.ratio < 1 and 0 < c.p < 0.05
    assert not SpreadComparison("b", "a", "value", noisy, steady).points_claimed_way


def test_the_combining_rule_is_symmetric() -> None:
    assert combine([FOR, NOT_SIGNIFICANT], [True, False]).startswith(f"{CONFIRMED} (1 for, 0 against of 2")
    assert combine([AGAINST, NOT_SIGNIFICANT], [False, True]).startswith(f"{CONTRADICTED} (0 for, 1 against of 2")
    assert combine([FOR, AGAINST], [True, False]).startswith(f"{UNDECIDED} (conflicting)")
    assert combine([NOT_SIGNIFICANT] * 3, [True] * 3) == (
        f"{UNDECIDED} (0 for, 0 against of 3 after Holm; 3 of 3 point the claimed way)")
    assert combine([], []).startswith("not tested")
    for readings in ([FOR], [FOR, FOR, NOT_SIGNIFICANT], [AGAINST, NOT_SIGNIFICANT], [FOR, AGAINST]):
        mirrored = [{FOR: AGAINST, AGAINST: FOR}.get(r, r) for r in readings]
        swap = {CONFIRMED: CONTRADICTED, CONTRADICTED: CONFIRMED}
        word = combine(readings, [True] * len(readings)).split(" (")[0]
        assert combine(mirrored, [True] * len(readings)).split(" (")[0] == swap.get(word, word)


def test_a_reading_needs_the_adjusted_p_and_takes_the_sign() -> None:
    assert reading(0.049, True) == FOR and reading(0.049, False) == AGAINST
    assert reading(0.05, True) == NOT_SIGNIFICANT


def test_welch_p_value_agrees_with_the_interval() -> None:
    """a = 1 2 3, b = 4 5 6: t = -3 / sqrt(2/3) on 4 dof; p below 5 % exactly when the 95 % interval excludes 0."""
    c = Comparison("a", "b", "value", mean_a=2.0, std_a=1.0, mean_b=5.0, std_b=1.0, n_a=3, n_b=3)
    assert c.p == pytest.approx(2 * student_t_cdf(-3 / math.sqrt(2 / 3), 4)) and c.p < 0.05
    assert math.isnan(Comparison("a", "b", "value", 1.0, 0.0, 0.0, 0.0, 1, 1).p)
