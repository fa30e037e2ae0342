"""ERF measurement reproduces the known facts: kernel footprints, Gaussian growth, shiftwise reach,
rotated orientation; and the measures follow their documented formulas on synthetic maps."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch import Tensor, nn

from edgeconv.erf import gradient_erf
from edgeconv.errors import UsageError
from edgeconv.runtime.erf.measures import (
    THRESHOLDS,
    _square_shares,
    area_ratio,
    erf_measures,
    normalised_erf,
)
from edgeconv.shiftwise_conv import ShiftwiseConv

SIZE = 33


def linear_stack(depth: int, kernel: int = 3, channels: int = 1) -> nn.Sequential:
    """``depth`` convs with all-positive uniform weights: the textbook linear ERF."""
    layers = []
    for _ in range(depth):
        conv = nn.Conv2d(channels, channels, kernel, padding=kernel // 2, bias=False)
        nn.init.constant_(conv.weight, 1.0 / (kernel * kernel * channels))
        layers.append(conv)
    return nn.Sequential(*layers)


def images(n: int = 3, channels: int = 1, size: int = SIZE, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).random((n, channels, size, size), dtype=np.float32)


class LargeKernelResponse(nn.Module):
    """A ShiftwiseConv's emulated depthwise response, before BN and the pointwise mix."""

    def __init__(self, op: ShiftwiseConv) -> None:
        super().__init__()
        self.op = op

    def forward(self, x: Tensor) -> Tensor:
        return self.op.large_kernel(x)


def gaussian_map(size: int, sx: float, sy: float, theta_deg: float, peak: float = 1e-3) -> np.ndarray:
    """A rotated elliptic Gaussian in y-up coordinates, small enough that log10(1+P) is linear."""
    rows, cols = np.mgrid[0:size, 0:size]
    x, y = cols - size // 2, size // 2 - rows
    t = math.radians(theta_deg)
    u, v = x * math.cos(t) + y * math.sin(t), -x * math.sin(t) + y * math.cos(t)
    return peak * np.exp(-0.5 * ((u / sx) ** 2 + (v / sy) ** 2))


@pytest.mark.parametrize("kernel", [1, 3, 5, 7, 9])
def test_single_conv_r99_is_its_kernel_footprint(kernel: int) -> None:
    p = gradient_erf(linear_stack(1, kernel), images(), target="output")
    support = np.argwhere(p > 0)
    assert support.min(0).tolist() == [SIZE // 2 - kernel // 2] * 2
    assert support.max(0).tolist() == [SIZE // 2 + kernel // 2] * 2
    a = normalised_erf(p)
    _, shares = _square_shares(a)
    # the smallest centred square holding 99 % is the k x k footprint itself
    assert shares[(kernel + 1) // 2] >= 0.99 > shares[(kernel - 1) // 2]
    r99_area = erf_measures(p).r99 * SIZE * SIZE
    assert max(kernel - 2, 0) ** 2 < r99_area <= kernel * kernel + 1e-9


def test_stacked_convs_grow_a_gaussian_erf() -> None:
    """Luo et al.: n stacked 3x3 convs -> ERF ~ Gaussian with std ~ sqrt(n); r(t) grows with depth."""
    size = 65
    stds, ratios = {}, {}
    for depth in (2, 4, 8, 16):
        p = gradient_erf(linear_stack(depth), images(size=size), target="output")
        profile = p.sum(axis=0)
        xs = np.arange(size) - size // 2
        mass = profile / profile.sum()
        stds[depth] = math.sqrt((mass * xs**2).sum())
        ratios[depth] = [area_ratio(normalised_erf(p), t) for t in THRESHOLDS]
        if depth >= 8:
            fit = np.exp(-0.5 * (xs / stds[depth]) ** 2)
            fit /= fit.sum()
            residual = ((mass - fit) ** 2).sum() / ((mass - mass.mean()) ** 2).sum()
            assert 1 - residual > 0.99, f"depth {depth}: R^2 {1 - residual:.4f} vs a Gaussian"
    assert stds[16] / stds[4] == pytest.approx(2.0, rel=0.05)
    assert stds[8] / stds[2] == pytest.approx(2.0, rel=0.05)
    for shallow, deep in ((2, 4), (4, 8), (8, 16)):
        assert all(d > s for s, d in zip(ratios[shallow], ratios[deep], strict=True)), (shallow, ratios)


def test_relu_stack_erf_grows_with_depth_on_real_images(astronaut: np.ndarray) -> None:
    """Randomly initialised conv+ReLU stacks (the non-linear case) still widen with depth."""
    crops = np.stack([astronaut[y : y + 48, x : x + 48] for y, x in ((100, 100), (200, 250), (300, 150))])
    x = crops.transpose(0, 3, 1, 2).astype(np.float32) / 255.0
    measures = {}
    for depth in (2, 6, 12):
        torch.manual_seed(0)
        layers: list[nn.Module] = [nn.Conv2d(3, 16, 3, padding=1), nn.ReLU()]
        for _ in range(depth - 1):
            layers += [nn.Conv2d(16, 16, 3, padding=1), nn.ReLU()]
        measures[depth] = erf_measures(gradient_erf(nn.Sequential(*layers), x, target="output"))
    assert measures[2].r99 < measures[6].r99 < measures[12].r99
    assert measures[2].effective_area_px < measures[6].effective_area_px < measures[12].effective_area_px


def test_shiftwise_13_reaches_further_than_its_3x3() -> None:
    """A ShiftwiseConv emulating 13x13 from 3x3 pieces has larger r(t) than a 3x3 conv (5 seeds)."""
    x = images(n=4, channels=8, size=41)
    for seed in range(5):
        torch.manual_seed(seed)
        small = erf_measures(gradient_erf(nn.Conv2d(8, 8, 3, padding=1), x, target="output"))
        wide = erf_measures(gradient_erf(ShiftwiseConv(8, 8, 13, small_kernel=3, norm=False), x, target="output"))
        assert wide.r50 > small.r50 and wide.r99 > 4 * small.r99, seed
        assert wide.effective_area_px > 2 * small.effective_area_px, seed


def test_rotation_turns_the_dominant_orientation() -> None:
    """Axis-aligned + diagonal strips: an 8-armed star, no dominant axis. The rotational variant's
    channels see two arms (row + diagonal): elongated, and a 90-degree turn between groups."""
    x = images(n=2, channels=8, size=41)
    per_channel = {}
    for rotation in (False, True):
        op = ShiftwiseConv(8, 8, 13, small_kernel=3, diagonal=True, rotation=rotation, norm=False)
        nn.init.constant_(op.small.weight, 1.0)
        probe = LargeKernelResponse(op)
        per_channel[rotation] = [
            erf_measures(gradient_erf(probe, x, target="output", channels=[c])) for c in (0, 2)
        ]
    star, rotated = per_channel[False], per_channel[True]
    assert all(m.anisotropy < 1.05 for m in star)
    assert all(m.anisotropy > 1.5 for m in rotated)
    turn = abs(rotated[0].orientation_deg - rotated[1].orientation_deg)
    assert min(turn, 180 - turn) == pytest.approx(90, abs=5)
    # row (0 deg) + falling diagonal (135 deg in y-up coordinates): the axis lies between them,
    # nearer the diagonal, whose pixels sit sqrt(2) further out
    assert 135 < rotated[0].orientation_deg < 157.5
    assert rotated[0].angular_spread < star[0].angular_spread


def test_measures_follow_their_formulas_on_synthetic_maps() -> None:
    ellipse = erf_measures(gaussian_map(61, sx=6, sy=2, theta_deg=30))
    assert ellipse.anisotropy == pytest.approx(3.0, rel=0.03)
    assert ellipse.orientation_deg == pytest.approx(30, abs=1)
    round_ = erf_measures(gaussian_map(61, sx=5, sy=5, theta_deg=0))
    assert round_.anisotropy == pytest.approx(1.0, abs=0.01)
    assert round_.angular_spread > 0.97
    line = np.zeros((31, 31))
    line[15, 5:26] = 1e-3
    assert erf_measures(line).angular_spread < 0.01
    assert erf_measures(line).orientation_deg == pytest.approx(0, abs=0.5)
    square = np.zeros((31, 31))
    square[12:19, 12:19] = 1.0
    assert erf_measures(square).effective_area_px == pytest.approx(49.0)
    uniform = np.ones((41, 41))
    for t in THRESHOLDS:
        assert area_ratio(normalised_erf(uniform), t) == pytest.approx(t, abs=0.01)


@pytest.mark.parametrize(
    ("bad", "message"),
    [(np.zeros((9, 9)), "all zero"), (-np.ones((9, 9)), "negative"), (np.ones(9), "expected (H, W)")],
)
def test_unusable_maps_are_refused(bad: np.ndarray, message: str) -> None:
    with pytest.raises(UsageError, match=message.replace("(", r"\(").replace(")", r"\)")):
        erf_measures(bad)


def test_models_without_a_spatial_map_are_refused() -> None:
    with pytest.raises(UsageError, match="spatial"):
        gradient_erf(nn.Sequential(nn.Flatten(), nn.Linear(9, 2)), images(1, 1, 3), target="output")
    with pytest.raises(UsageError, match="features"):
        gradient_erf(nn.Conv2d(1, 1, 3), images(1, 1, 5), target="features")
