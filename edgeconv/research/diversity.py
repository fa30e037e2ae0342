"""Does ERF diversity predict accuracy once ERF size is accounted for? A partial correlation.

The partial correlation r(x, y | z) of a diversity measure x with accuracy y at equal ERF size z is the
Pearson correlation of the residuals of x and y after a least-squares line on z each; its 95 % interval
comes from Fisher's z with standard error 1 / sqrt(n - 4) (n points, one variable controlled), its
p-value from t = r sqrt((n - 3) / (1 - r^2)) on n - 3 degrees of freedom.

The unit of analysis is the variant (``variant_association``): the seeds of one variant share its
architecture and every setting but the seed, so its runs are not independent points, and treating the
45 runs of 9 variants as 45 points (``diversity_association``, kept for reference) gives an interval as
narrow as 45 independent points would, too narrow for data clustered in 9 variants. Each variant is one
point: the means of x, y and z over its seeds (n = the number of variants).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from edgeconv.research.report import CONFIRMED, INCONCLUSIVE, NOT_CONFIRMED, student_t_cdf

Z_975 = 1.959963984540054  # standard normal 0.975 quantile


@dataclass(frozen=True)
class PartialCorrelation:
    """r(x, y | z) over ``n`` runs, its 95 % interval and two-sided p-value, and the plain correlations."""

    x: str
    y: str
    z: str
    n: int
    r: float
    low: float
    high: float
    p: float
    r_xy: float  # x with y, size not accounted for
    r_zy: float  # size with y

    @property
    def points_claimed_way(self) -> bool:
        """Positive: more diverse ERFs, better accuracy at equal size (the claim's direction)."""
        return self.r > 0

    @property
    def verdict(self) -> str:
        """confirmed (interval above 0) / not confirmed at this scale (below 0) / inconclusive."""
        return CONFIRMED if self.low > 0 else NOT_CONFIRMED if self.high < 0 else INCONCLUSIVE


def pearson(xs: list[float], ys: list[float]) -> float:
    """Pearson's r (0 when either side is constant)."""
    n = len(xs)
    mx, my = sum(xs) / n, sum(ys) / n
    cov = sum((a - mx) * (b - my) for a, b in zip(xs, ys, strict=True))
    sx = math.sqrt(sum((a - mx) ** 2 for a in xs))
    sy = math.sqrt(sum((b - my) ** 2 for b in ys))
    return cov / (sx * sy) if sx > 0 and sy > 0 else 0.0


def residuals(ys: list[float], zs: list[float]) -> list[float]:
    """``ys`` minus their least-squares line on ``zs``."""
    n = len(ys)
    mz, my = sum(zs) / n, sum(ys) / n
    szz = sum((z - mz) ** 2 for z in zs)
    slope = sum((z - mz) * (y - my) for z, y in zip(zs, ys, strict=True)) / szz if szz > 0 else 0.0
    return [y - my - slope * (z - mz) for y, z in zip(ys, zs, strict=True)]


def partial_correlation(xs: list[float], ys: list[float], zs: list[float], names: tuple[str, str, str] = ("x", "y", "z")
                        ) -> PartialCorrelation:
    """r(x, y | z) with its Fisher interval and p-value (module docstring); needs >= 5 points."""
    n = len(xs)
    if n < 5 or len(ys) != n or len(zs) != n:
        raise ValueError(f"partial correlation needs >= 5 aligned points, got {n}, {len(ys)}, {len(zs)}")
    r = pearson(residuals(xs, zs), residuals(ys, zs))
    clipped = max(min(r, 1 - 1e-12), -1 + 1e-12)
    centre, half = math.atanh(clipped), Z_975 / math.sqrt(n - 4)
    dof = n - 3
    t = clipped * math.sqrt(dof / (1 - clipped**2))
    p = 2 * (1 - student_t_cdf(abs(t), dof))
    return PartialCorrelation(*names, n, r, math.tanh(centre - half), math.tanh(centre + half), p,
                              pearson(xs, ys), pearson(zs, ys))


def run_values(rows: list[dict], name: str) -> list[float] | None:
    """One value per run across all variants (``<name>_all`` of each summary row, in order), or None if absent."""
    values: list[float] = []
    for row in rows:
        if f"{name}_all" not in row:
            return None
        values += [float(v) for v in row[f"{name}_all"]]
    return values


def diversity_association(rows: list[dict], diversity: str, metric: str = "zero_shot_accuracy",
                          size: str = "r50") -> PartialCorrelation | None:
    """r(diversity, metric | size) over every run of a task's summary rows, or None without those measures."""
    xs, ys, zs = run_values(rows, diversity), run_values(rows, metric), run_values(rows, size)
    if xs is None or ys is None or zs is None or len(xs) < 5:
        return None
    return partial_correlation(xs, ys, zs, (diversity, metric, size))


def variant_means(rows: list[dict], name: str) -> list[float] | None:
    """One value per variant (``<name>_mean`` of each summary row, in order), or None if absent."""
    if not all(f"{name}_mean" in row for row in rows):
        return None
    return [float(row[f"{name}_mean"]) for row in rows]


def variant_association(rows: list[dict], diversity: str, metric: str = "zero_shot_accuracy",
                        size: str = "r50") -> PartialCorrelation | None:
    """r(diversity, metric | size) over the variants' seed means (one point per variant), or None without those
    measures or with fewer than 5 variants."""
    xs, ys, zs = variant_means(rows, diversity), variant_means(rows, metric), variant_means(rows, size)
    if xs is None or ys is None or zs is None or len(xs) < 5:
        return None
    return partial_correlation(xs, ys, zs, (diversity, metric, size))
