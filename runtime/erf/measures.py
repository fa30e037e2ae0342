"""Effective receptive field (ERF) measures on a contribution map, numpy only.

Input: ``P`` (H, W) >= 0, how much each input pixel moves the centre output (RepLKNet: the
ReLU'd input gradient of the summed centre activation, summed over input channels and averaged
over images; ``edgeconv.erf`` and ``runtime/erf/impulse.py`` compute it two ways).

Size (RepLKNet, Ding et al. CVPR'22):
  A = log10(P + 1) / max(log10(P + 1))                  the normalised ERF map
  r(t) = area of the smallest centred square holding a share t of sum(A), over H * W;
         interpolated between successive odd sides so it is continuous in the map.

Diversity (ours; no established metric exists), all on A with coordinates x = column - cx,
y = cy - row (y up), the centre (cy, cx) = (H // 2, W // 2) being the output pixel's place:
  second moments  S = sum A (p - m)(p - m)^T / sum A, m = sum A p / sum A, eigenvalues l1 >= l2
  anisotropy      sqrt(l1 / l2)          1 = round, k = k times longer than wide
  orientation     0.5 * atan2(2 Sxy, Sxx - Syy) in degrees, [0, 180): 0 = horizontal,
                  90 = vertical, 45 = rising diagonal (meaningful when anisotropy > ~1.1)
  angular spread  entropy of the mass over 8 orientation bins (22.5 deg wide, centred on 0, 22.5,
                  45, ... ; orientation of each pixel seen from the centre, modulo 180 deg),
                  divided by log 8: 1 = every orientation equally, 0 = a single line
  effective area  exp(-sum q log q) with q = A / sum A, in pixels (and as a share of H * W):
                  the number of equally weighted pixels with the same entropy as the map

Saturation (is the crop big enough?): border share = the share of sum(A) in the outer band
(``BORDER_BAND`` of each side): near 0 when the ERF fits inside the crop, large when the crop
cuts it off, and then r(t) and the diversity measures describe the crop, not the net.

Diversity across units (ours): the summed map of a deep net is near-isotropic whatever its units
see (angular spread 0.99+ for every variant), so these compare the maps of single channels'
centre units, A_k each normalised as above:
  dissimilarity        mean over pairs of 1 - cos(A_i, A_j): 0 = every unit sees the same pattern
  channel anisotropy   mean of the units' anisotropy: how elongated single units' fields are
  orientation spread   1 - |sum w_k exp(2i theta_k)| / sum w_k, w_k = 1 - 1 / anisotropy_k:
                       0 = the elongated units all point one way, 1 = evenly spread (0 if none is)
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np

from edgeconv.errors import UsageError

THRESHOLDS = (0.2, 0.3, 0.5, 0.99)
ORIENTATION_BINS = 8
BORDER_BAND = 0.1  # share of each side that counts as the crop's border


@dataclass(frozen=True)
class ErfMeasures:
    """Size and diversity of one ERF map (see the module docstring for the formulas)."""

    height: int
    width: int
    r20: float
    r30: float
    r50: float
    r99: float
    anisotropy: float
    orientation_deg: float
    angular_spread: float
    effective_area_px: float
    effective_area_ratio: float

    def to_dict(self) -> dict[str, float | int]:
        return asdict(self)


def normalised_erf(contributions: np.ndarray) -> np.ndarray:
    """RepLKNet's map: ``log10(P + 1)`` scaled to a maximum of 1.

    Args:
        contributions: (H, W) raw map P, finite and >= 0.

    Returns:
        (H, W) float64 in [0, 1].

    Raises:
        UsageError: not 2-D, negative or non-finite values, or all zero.
    """
    p = np.asarray(contributions, dtype=np.float64)
    if p.ndim != 2:
        raise UsageError("ERF map", f"has shape {p.shape}", "expected (H, W)")
    if not np.all(np.isfinite(p)) or (p < 0).any():
        raise UsageError("ERF map", "has negative or non-finite values")
    a = np.log10(p + 1.0)
    top = a.max(initial=0.0)
    if top <= 0:
        raise UsageError("ERF map", "is all zero: the centre output does not depend on the input")
    return a / top


def _square_shares(a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Clipped areas and mass shares of centred squares of side 1, 3, 5, ... until they cover the map.

    Sums come from an integral image, so a 1024 x 1024 map costs one cumulative sum, not 512 crops.
    """
    h, w = a.shape
    cy, cx = h // 2, w // 2
    integral = np.zeros((h + 1, w + 1))
    integral[1:, 1:] = a.cumsum(0).cumsum(1)
    steps = np.arange(max(cy, h - 1 - cy, cx, w - 1 - cx) + 1)
    top, bottom = np.maximum(cy - steps, 0), np.minimum(cy + steps + 1, h)
    left, right = np.maximum(cx - steps, 0), np.minimum(cx + steps + 1, w)
    sums = integral[bottom, right] - integral[top, right] - integral[bottom, left] + integral[top, left]
    areas = np.concatenate([[0.0], ((bottom - top) * (right - left)).astype(np.float64)])
    return areas, np.concatenate([[0.0], sums / integral[h, w]])


def area_ratio(a: np.ndarray, threshold: float) -> float:
    """r(t): share of the image the smallest centred square holding ``threshold`` of the mass covers.

    Args:
        a: (H, W) normalised map (``normalised_erf``), >= 0 with positive mass.
        threshold: the mass share t in (0, 1].

    Returns:
        The area ratio in [0, 1], interpolated between square sides.
    """
    areas, shares = _square_shares(a)
    h, w = a.shape
    k = int(np.searchsorted(shares, threshold - 1e-12))
    k = min(k, len(shares) - 1)
    low_share, high_share = shares[k - 1], shares[k]
    frac = 1.0 if high_share <= low_share else (threshold - low_share) / (high_share - low_share)
    area = areas[k - 1] + min(max(frac, 0.0), 1.0) * (areas[k] - areas[k - 1])
    return float(area / (h * w))


def _coordinates(shape: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    h, w = shape
    rows, cols = np.mgrid[0:h, 0:w]
    return (cols - w // 2).astype(np.float64), (h // 2 - rows).astype(np.float64)


def second_moments(a: np.ndarray) -> tuple[float, float, float]:
    """Shape of the mass distribution from its second moments.

    Args:
        a: (H, W) normalised map (``normalised_erf``), >= 0 with positive mass.

    Returns:
        ``(anisotropy sqrt(l1 / l2) >= 1 (inf for a line), orientation of the long axis in degrees [0, 180)
        counter-clockwise from +x, l2 the smaller eigenvalue in px^2)``.
    """
    x, y = _coordinates(a.shape)
    total = a.sum()
    mx, my = (a * x).sum() / total, (a * y).sum() / total
    dx, dy = x - mx, y - my
    sxx, syy, sxy = (a * dx * dx).sum() / total, (a * dy * dy).sum() / total, (a * dx * dy).sum() / total
    half_trace, det_part = (sxx + syy) / 2, math.hypot((sxx - syy) / 2, sxy)
    l1, l2 = half_trace + det_part, max(half_trace - det_part, 0.0)
    anisotropy = math.sqrt(l1 / l2) if l2 > 1e-12 else math.inf
    orientation = math.degrees(0.5 * math.atan2(2 * sxy, sxx - syy)) % 180.0
    return anisotropy, orientation, l2


def angular_spread(a: np.ndarray, bins: int = ORIENTATION_BINS) -> float:
    """Normalised entropy of the mass over orientation bins seen from the centre pixel.

    Args:
        a: (H, W) normalised map (``normalised_erf``), >= 0 with positive mass.
        bins: orientation bins over [0, 180) degrees.

    Returns:
        In [0, 1]: 0 all mass along one orientation (or none off the centre), 1 spread evenly.
    """
    x, y = _coordinates(a.shape)
    off_centre = (x != 0) | (y != 0)
    phi = np.mod(np.arctan2(y, x), math.pi)
    width = math.pi / bins
    index = np.floor((phi + width / 2) / width).astype(int) % bins
    mass = np.bincount(index[off_centre], weights=a[off_centre], minlength=bins)
    if mass.sum() <= 0:
        return 0.0
    q = mass / mass.sum()
    q = q[q > 0]
    return float(-(q * np.log(q)).sum() / math.log(bins))


def effective_area(a: np.ndarray) -> float:
    """exp of the entropy of ``a / sum(a)``.

    Args:
        a: (H, W) normalised map (``normalised_erf``), >= 0 with positive mass.

    Returns:
        The effective area in pixels, in [1, H W].
    """
    q = a[a > 0] / a.sum()
    return float(math.exp(-(q * np.log(q)).sum()))


def erf_measures(contributions: np.ndarray) -> ErfMeasures:
    """All measures of a raw contribution map (normalised here first).

    Args:
        contributions: (H, W) raw map P, finite and >= 0, not all zero.

    Returns:
        ``ErfMeasures``: size, r(t) at every threshold, anisotropy, orientation, angular spread, effective area.

    Raises:
        UsageError: as ``normalised_erf``.
    """
    a = normalised_erf(contributions)
    h, w = a.shape
    r = [area_ratio(a, t) for t in THRESHOLDS]
    anisotropy, orientation, _ = second_moments(a)
    area = effective_area(a)
    return ErfMeasures(
        h, w, *r, anisotropy=anisotropy, orientation_deg=orientation,
        angular_spread=angular_spread(a), effective_area_px=area, effective_area_ratio=area / (h * w),
    )


def border_share(contributions: np.ndarray, band: float = BORDER_BAND) -> float:
    """Share of the normalised map's mass within ``band`` of the crop's edge (saturation check).

    Args:
        contributions: (H, W) raw map P.
        band: the edge band as a fraction of each side.

    Returns:
        The share in [0, 1].

    Raises:
        UsageError: as ``normalised_erf``.
    """
    a = normalised_erf(contributions)
    h, w = a.shape
    by, bx = max(1, round(band * h)), max(1, round(band * w))
    inner = a[by : h - by, bx : w - bx].sum()
    return float(1.0 - inner / a.sum())


@dataclass(frozen=True)
class ChannelDiversity:
    """How different single units' ERFs are (module docstring); ``units`` = live maps measured."""

    units: int
    dissimilarity: float
    channel_anisotropy: float
    orientation_spread: float

    def to_dict(self) -> dict[str, float | int]:
        return asdict(self)


def channel_diversity(maps: np.ndarray) -> ChannelDiversity:
    """Diversity measures of per-unit contribution maps; all-zero (dead) units are left out.

    Args:
        maps: (K, H, W) raw maps, one per unit (``channel_gradient_erfs``).

    Returns:
        ``ChannelDiversity``: live units, mean pairwise cosine dissimilarity in [0, 1], mean anisotropy,
        orientation spread in [0, 1].

    Raises:
        UsageError: not 3-D, or fewer than two live units.
    """
    maps = np.asarray(maps, dtype=np.float64)
    if maps.ndim != 3:
        raise UsageError("channel ERF maps", f"have shape {maps.shape}", "expected (K, H, W)")
    live = [normalised_erf(m) for m in maps if m.max(initial=0.0) > 0]
    if len(live) < 2:
        raise UsageError("channel ERF maps", f"have {len(live)} live unit(s)", "diversity needs >= 2")
    flat = np.stack([a.ravel() / np.linalg.norm(a) for a in live])
    cosine = flat @ flat.T
    k = len(live)
    dissimilarity = 1.0 - (cosine.sum() - np.trace(cosine)) / (k * (k - 1))
    shapes = [second_moments(a) for a in live]
    anisotropy = np.array([s[0] for s in shapes])
    weights = 1.0 - 1.0 / np.where(np.isfinite(anisotropy), anisotropy, 1e12)
    angles = np.radians([s[1] for s in shapes]) * 2
    spread = 0.0 if weights.sum() <= 1e-12 else 1.0 - abs((weights * np.exp(1j * angles)).sum()) / weights.sum()
    finite = anisotropy[np.isfinite(anisotropy)]
    return ChannelDiversity(k, float(dissimilarity), float(finite.mean()) if len(finite) else math.inf, float(spread))


@dataclass
class ErfResult:
    """One model's ERF: how it was measured, the raw contribution map and its measures."""

    name: str
    method: str  # "gradient" | "impulse"
    target: str  # "features" | "output"
    settings: dict[str, object]
    contributions: np.ndarray
    measures: ErfMeasures

    def to_dict(self, with_map: bool = True) -> dict[str, object]:
        """The result as JSON values.

        Args:
            with_map: include the raw map (rounded to 6 decimals) as nested lists.

        Returns:
            ``{"name", "method", "target", "settings", "measures"[, "contributions"]}``.
        """
        out: dict[str, object] = {
            "name": self.name, "method": self.method, "target": self.target,
            "settings": self.settings, "measures": self.measures.to_dict(),
        }
        if with_map:
            out["contributions"] = np.round(self.contributions, 6).tolist()
        return out
