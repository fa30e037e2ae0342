"""The ERF window check of issue 16 on two known nets: a 3x3 stack and a rotational shiftwise stack.

At the old 64 px window the shiftwise field runs into the border (its measures describe the window);
at the 160 px window dtd10 uses, neither field reaches the border band, and the measures separate the
two nets: the summed map's angular spread (all orientations vs two), and the unit measures (identical
units vs units that each see one line, at two orientations).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import Tensor, nn

from edgeconv.erf import channel_gradient_erfs, gradient_erf
from edgeconv.runtime.erf.measures import border_share, channel_diversity, erf_measures
from edgeconv.shiftwise_conv import ShiftwiseConv

CHANNELS = 4


class Known(nn.Module):
    """``features`` = the stack: what the ERF code differentiates."""

    def __init__(self, layers: list[nn.Module]) -> None:
        super().__init__()
        self.stack = nn.Sequential(*layers)

    def features(self, x: Tensor) -> Tensor:
        return self.stack(x)


def three_by_three_stack(depth: int = 8) -> Known:
    """``depth`` 3x3 convs averaging every channel: an isotropic field of radius ``depth``, every unit alike."""
    convs = []
    for _ in range(depth):
        conv = nn.Conv2d(CHANNELS, CHANNELS, 3, padding=1, bias=False)
        nn.init.constant_(conv.weight, 1.0 / (9 * CHANNELS))
        convs.append(conv)
    return Known(convs)


def rotational_shiftwise_stack(depth: int = 2, kernel: int = 31) -> Known:
    """ShiftwiseConv with rotation, small kernels set to the identity tap, pointwise identity: channel groups
    0 and 2 see a horizontal strip, 1 and 3 a vertical one, ``depth`` strips long."""
    layers = []
    for _ in range(depth):
        conv = ShiftwiseConv(CHANNELS, kernel_size=kernel, rotation=True, bias=False, norm=False)
        with torch.no_grad():
            conv.small.weight.zero_()
            conv.small.weight[:, 0, 1, 1] = 1.0
            conv.pointwise.weight.copy_(torch.eye(CHANNELS).view(CHANNELS, CHANNELS, 1, 1))
        layers.append(conv)
    return Known(layers)


def erf(model: Known, side: int) -> tuple[np.ndarray, np.ndarray]:
    """(summed map, per-unit maps) on a constant input (both nets are linear: the input does not matter)."""
    x = torch.ones(1, CHANNELS, side, side)
    return gradient_erf(model, x), channel_gradient_erfs(model, x, range(CHANNELS))


@pytest.fixture(scope="module")
def maps() -> dict[tuple[str, int], tuple[np.ndarray, np.ndarray]]:
    nets = {"3x3": three_by_three_stack(), "rotational": rotational_shiftwise_stack()}
    return {(name, side): erf(net, side) for name, net in nets.items() for side in (64, 160)}


def test_the_small_window_cuts_the_wide_field_and_the_large_one_does_not(maps: dict) -> None:
    assert border_share(maps["rotational", 64][0]) > 0.1  # strips reach 32 px each way: into the 6 px band
    for name in ("3x3", "rotational"):
        assert border_share(maps[name, 160][0]) == pytest.approx(0.0, abs=1e-9), name
    assert border_share(maps["3x3", 64][0]) == pytest.approx(0.0, abs=1e-9)  # radius 8 fits either window


def test_at_160_px_the_measures_separate_the_two_nets(maps: dict) -> None:
    stack, rotational = erf_measures(maps["3x3", 160][0]), erf_measures(maps["rotational", 160][0])
    assert stack.angular_spread > 0.95 and rotational.angular_spread < 0.4  # every orientation vs two (a cross)
    assert rotational.r99 > 3 * stack.r99
    units_stack, units_rot = channel_diversity(maps["3x3", 160][1]), channel_diversity(maps["rotational", 160][1])
    assert units_stack.units == units_rot.units == CHANNELS
    assert units_stack.dissimilarity == pytest.approx(0.0, abs=1e-9) and units_rot.dissimilarity > 0.5
    assert units_stack.channel_anisotropy == pytest.approx(1.0, abs=1e-6) and units_rot.channel_anisotropy > 10
    assert units_rot.orientation_spread == pytest.approx(1.0, abs=1e-6)  # horizontal and vertical units


def test_units_see_single_lines_in_their_groups_orientation(maps: dict) -> None:
    units = maps["rotational", 160][1]
    centre = 80
    for c in range(CHANNELS):
        rows, cols = np.nonzero(units[c] > 0)
        horizontal = c % 2 == 0
        assert (set(rows) == {centre}) if horizontal else (set(cols) == {centre}), c


def test_unit_maps_share_forward_passes_and_equal_one_call_per_unit() -> None:
    torch.manual_seed(0)
    model = rotational_shiftwise_stack(depth=1, kernel=9)
    x = torch.randn(10, CHANNELS, 24, 24)  # two batches of 8
    together = channel_gradient_erfs(model, x, [0, 1, 3])
    assert np.array_equal(together, np.stack([gradient_erf(model, x, channels=[c]) for c in (0, 1, 3)]))
