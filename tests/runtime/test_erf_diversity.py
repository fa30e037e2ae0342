"""Unit-diversity and saturation measures of ERF maps (numpy only), on maps whose answers are known by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest

from edgeconv.errors import UsageError
from edgeconv.runtime.erf.measures import border_share, channel_diversity


def line(size: int, horizontal: bool, length: int = 21) -> np.ndarray:
    """A centred line of ones, horizontal or vertical."""
    m = np.zeros((size, size))
    c, h = size // 2, length // 2
    if horizontal:
        m[c, c - h : c + h + 1] = 1.0
    else:
        m[c - h : c + h + 1, c] = 1.0
    return m


def blob(size: int, sigma: float) -> np.ndarray:
    y, x = np.mgrid[:size, :size] - size // 2
    return np.exp(-(x**2 + y**2) / (2 * sigma**2))


def test_identical_units_have_no_diversity() -> None:
    d = channel_diversity(np.stack([blob(33, 3.0)] * 4))
    assert d.units == 4 and d.dissimilarity == pytest.approx(0.0, abs=1e-12)
    assert d.channel_anisotropy == pytest.approx(1.0, abs=1e-6) and d.orientation_spread == 0.0  # none elongated


def test_crossed_lines_are_diverse_and_parallel_lines_are_not() -> None:
    crossed = channel_diversity(np.stack([line(41, True), line(41, False)] * 2))
    # two distinct maps overlapping in the centre pixel only: cos = 1/21 for cross pairs, 1 for equal pairs
    assert crossed.dissimilarity == pytest.approx((4 * (1 - 1 / 21)) / 6, rel=1e-9)
    assert crossed.channel_anisotropy > 1e5 or math.isinf(crossed.channel_anisotropy)
    assert crossed.orientation_spread == pytest.approx(1.0, abs=1e-9)  # 0 and 90 degrees cancel
    parallel = channel_diversity(np.stack([line(41, True), np.roll(line(41, True), 2, axis=0)]))
    assert parallel.orientation_spread == pytest.approx(0.0, abs=1e-9) and parallel.dissimilarity == pytest.approx(1.0)


def test_dead_units_are_left_out_and_fewer_than_two_live_ones_refused() -> None:
    maps = np.stack([blob(21, 2.0), np.zeros((21, 21)), blob(21, 4.0)])
    assert channel_diversity(maps).units == 2
    with pytest.raises(UsageError, match="1 live unit"):
        channel_diversity(maps[:2])
    with pytest.raises(UsageError, match="expected \\(K, H, W\\)"):
        channel_diversity(blob(21, 2.0))


def test_border_share_is_zero_inside_and_the_band_area_when_uniform() -> None:
    assert border_share(blob(100, 4.0)) < 1e-12
    assert border_share(np.ones((100, 100))) == pytest.approx(1 - 0.8**2)  # 10 px band on each side
    wide = blob(64, 20.0)  # the same field cut by a small window: much of it in the band
    assert border_share(wide) > 0.2
