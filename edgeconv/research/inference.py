"""Inference on top of the comparisons: Holm's step-down within a claim, a spread test, one combining rule.

A claim makes a *family* of comparisons (each a two-sided test with a p-value and a direction). Holm (1979):
sort the m p-values, multiply the i-th smallest (i from 1) by m - i + 1, carry the running maximum so the
adjusted values never fall, cap at 1. A comparison reads *for* the claim when its adjusted p is below 5 % and
its difference points the claimed way, *against* when below 5 % the other way, *n.s.* otherwise. The claim is
confirmed when at least one comparison reads for and none against, contradicted when at least one reads against
and none for, undecided otherwise (``combine``): the rule treats both directions alike, and Holm keeps the chance
that any test of a family comes out significant without a real effect at or below 5 % (family-wise), whatever the
dependence between its tests.

Stability is a claim about spread, so it has its own test: Brown and Forsythe's (1974) test for equal variances,
a one-way ANOVA on the absolute deviations from each group's median (robust to non-normal data), whose F has
(k - 1, N - k) degrees of freedom.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass
from typing import Protocol

from edgeconv.research.report import regularized_beta

ALPHA = 0.05
CONFIRMED, CONTRADICTED, UNDECIDED = "confirmed", "contradicted", "undecided"
FOR, AGAINST, NOT_SIGNIFICANT = "for", "against", "n.s."


class Test(Protocol):
    """What the combining rule needs of a comparison: a two-sided p-value and the sign of its effect."""

    @property
    def p(self) -> float: ...

    @property
    def points_claimed_way(self) -> bool: ...


def holm(p_values: list[float]) -> list[float]:
    """Holm-adjusted p-values, in the order given (NaN, an untestable comparison, counts as 1).

    Args:
        p_values: raw two-sided p-values of one family, in [0, 1] or NaN.

    Returns:
        The adjusted values, same order: ``max_{j <= i} min(1, (m - j + 1) p_(j))`` for the i-th smallest.
    """
    ps = [1.0 if math.isnan(p) else p for p in p_values]
    m = len(ps)
    adjusted = [1.0] * m
    running = 0.0
    for rank, index in enumerate(sorted(range(m), key=lambda i: ps[i])):
        running = max(running, min(1.0, (m - rank) * ps[index]))
        adjusted[index] = running
    return adjusted


def reading(adjusted_p: float, points_claimed_way: bool, alpha: float = ALPHA) -> str:
    """for / against / n.s.: one comparison after adjustment."""
    if adjusted_p >= alpha:
        return NOT_SIGNIFICANT
    return FOR if points_claimed_way else AGAINST


def combine(readings: list[str], claimed_way: list[bool]) -> str:
    """The claim's verdict from its family's readings, with the counts that make it.

    Args:
        readings: for / against / n.s. of each comparison, after Holm.
        claimed_way: whether each comparison's effect points the claimed way (significant or not).

    Returns:
        ``"<confirmed|contradicted|undecided> (F for, A against of N after Holm; W of N point the claimed way)"``;
        ``undecided (conflicting: ...)`` when comparisons are significant both ways.
    """
    n, n_for, n_against = len(readings), readings.count(FOR), readings.count(AGAINST)
    if n == 0:
        return "not tested (no data for it in this run)"
    word = (CONFIRMED if n_for and not n_against else CONTRADICTED if n_against and not n_for
            else f"{UNDECIDED} (conflicting)" if n_for else UNDECIDED)
    return (f"{word} ({n_for} for, {n_against} against of {n} after Holm; {sum(claimed_way)} of {n} point the "
            "claimed way)")


def f_survival(f: float, d1: float, d2: float) -> float:
    """P(F > f) for Fisher's F with ``d1``, ``d2`` degrees of freedom: I_{d2 / (d2 + d1 f)}(d2 / 2, d1 / 2)."""
    if math.isinf(f):
        return 0.0
    if f <= 0:
        return 1.0
    return regularized_beta(d2 / 2, d1 / 2, d2 / (d2 + d1 * f))


def brown_forsythe(*groups: list[float]) -> tuple[float, int, int, float]:
    """Brown-Forsythe test of equal spread across groups: (F, d1, d2, p).

    Args:
        groups: two or more lists of values, each of >= 2.

    Returns:
        F of the one-way ANOVA on ``|x - median(group)|``, its degrees of freedom (k - 1, N - k) and the p-value
        P(F(d1, d2) > F); F is infinite (p 0) when every group's deviations are constant but their means differ.

    Raises:
        ValueError: fewer than two groups, or a group of fewer than two values.
    """
    if len(groups) < 2 or min(len(g) for g in groups) < 2:
        raise ValueError(f"Brown-Forsythe needs >= 2 groups of >= 2 values, got sizes {[len(g) for g in groups]}")
    deviations = [[abs(x - statistics.median(g)) for x in g] for g in groups]
    n, k = sum(len(d) for d in deviations), len(deviations)
    grand = sum(sum(d) for d in deviations) / n
    means = [sum(d) / len(d) for d in deviations]
    between = sum(len(d) * (m - grand) ** 2 for d, m in zip(deviations, means, strict=True))
    within = sum((x - m) ** 2 for d, m in zip(deviations, means, strict=True) for x in d)
    d1, d2 = k - 1, n - k
    if within == 0:
        f = 0.0 if between == 0 else math.inf
    else:
        f = (between / d1) / (within / d2)
    return f, d1, d2, f_survival(f, d1, d2)


@dataclass(frozen=True)
class SpreadComparison:
    """"``a`` varies less from seed to seed than ``b`` on ``measure``": the seed SDs and Brown-Forsythe's test."""

    a: str
    b: str
    measure: str
    values_a: tuple[float, ...]
    values_b: tuple[float, ...]

    @property
    def sd_a(self) -> float:
        """Sample standard deviation of ``a``'s seed results."""
        return statistics.stdev(self.values_a)

    @property
    def sd_b(self) -> float:
        """Sample standard deviation of ``b``'s seed results."""
        return statistics.stdev(self.values_b)

    @property
    def ratio(self) -> float:
        """SD of ``a`` over SD of ``b`` (below 1: ``a`` is the steadier; infinite when ``b`` never varies)."""
        return self.sd_a / self.sd_b if self.sd_b > 0 else math.inf

    @property
    def test(self) -> tuple[float, int, int, float]:
        """Brown-Forsythe's (F, d1, d2, p) for the two groups."""
        return brown_forsythe(list(self.values_a), list(self.values_b))

    @property
    def p(self) -> float:
        """Two-sided p-value of equal spread."""
        return self.test[3]

    @property
    def points_claimed_way(self) -> bool:
        """``a`` has the smaller seed SD."""
        return self.sd_a < self.sd_b


def spread_comparison(rows: list[dict], a: str, b: str, measure: str) -> SpreadComparison | None:
    """``a`` vs ``b`` on the seed spread of ``measure`` (the ``<measure>_all`` values), or None if absent."""
    ra = next((r for r in rows if r["variant"] == a), None)
    rb = next((r for r in rows if r["variant"] == b), None)
    if ra is None or rb is None or f"{measure}_all" not in ra or f"{measure}_all" not in rb:
        return None
    return SpreadComparison(a, b, measure, tuple(map(float, ra[f"{measure}_all"])),
                            tuple(map(float, rb[f"{measure}_all"])))
