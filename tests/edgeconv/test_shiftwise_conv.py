"""ShiftwiseConv: the strips it covers, its rotations, and that it trains."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from edgeconv.errors import LayerArgumentError
from edgeconv.shiftwise_conv import (
    ShiftwiseConv,
    quarter_turn,
    strip_count,
    strip_sum,
    strip_sum_shifted_inputs,
)


def impulse_support(op: ShiftwiseConv, size: int = 41) -> torch.Tensor:
    """|dy/dx| of the large-kernel response at the centre, per channel: (C, size, size) > 0."""
    x = torch.zeros(1, op.in_channels, size, size, requires_grad=True)
    y = op.large_kernel(x)
    y[0, :, size // 2, size // 2].sum().backward()
    return x.grad[0].abs() > 0


def strip_mask(size: int, extent: int, k: int, directions: str) -> torch.Tensor:
    """Pixels covered by k x k blocks centred every k pixels along each direction's strip."""
    mask = torch.zeros(size, size, dtype=torch.bool)
    c, r, nk = size // 2, k // 2, extent // k
    units = {"h": (0, 1), "v": (1, 0), "d": (1, 1), "a": (1, -1)}
    for d in directions:
        uy, ux = units[d]
        for i in range(nk):
            t = (i - (nk - 1) // 2) * k
            cy, cx = c + t * uy, c + t * ux
            mask[cy - r : cy + r + 1, cx - r : cx + r + 1] = True
    return mask


@pytest.mark.parametrize(("kernel_size", "k", "nk"), [(13, 3, 5), (31, 3, 11), (7, 3, 3), (11, 3, 5), (9, 5, 3)])
def test_strip_count_is_odd_and_covers_the_kernel(kernel_size: int, k: int, nk: int) -> None:
    assert strip_count(kernel_size, k) == nk
    assert nk * k >= kernel_size


@pytest.mark.parametrize(("diagonal", "directions"), [(False, "hv"), (True, "hvda")])
def test_axis_aligned_receptive_field_is_the_strip_union(diagonal: bool, directions: str) -> None:
    torch.manual_seed(0)
    op = ShiftwiseConv(3, kernel_size=13, diagonal=diagonal)
    support = impulse_support(op)
    expected = strip_mask(41, op.extent, 3, directions)
    for c in range(3):
        assert torch.equal(support[c], expected), f"channel {c} covers the wrong pixels"


def test_rotation_gives_channel_groups_different_orientations() -> None:
    torch.manual_seed(0)
    op = ShiftwiseConv(4, kernel_size=13, rotation=True)
    support = impulse_support(op)
    horizontal = strip_mask(41, op.extent, 3, "h")
    vertical = strip_mask(41, op.extent, 3, "v")
    assert torch.equal(support[0], horizontal)
    assert torch.equal(support[1], vertical)
    assert torch.equal(support[2], horizontal)
    assert torch.equal(support[3], vertical)


def test_diagonal_rotation_covers_both_diagonals_across_groups() -> None:
    torch.manual_seed(0)
    op = ShiftwiseConv(4, kernel_size=7, diagonal=True, rotation=True)
    support = impulse_support(op, 21)
    assert torch.equal(support[0], strip_mask(21, op.extent, 3, "hd"))
    assert torch.equal(support[1], strip_mask(21, op.extent, 3, "va"))


@pytest.mark.parametrize("turns", range(-3, 5))
def test_quarter_turn_equals_rot90(turns: int) -> None:
    x = torch.randn(2, 3, 4, 7)
    assert torch.equal(quarter_turn(x, turns), torch.rot90(x, turns, dims=(2, 3)))


def test_gradients_reach_every_parameter() -> None:
    torch.manual_seed(0)
    op = ShiftwiseConv(4, 6, kernel_size=13, diagonal=True, rotation=True).train()
    op(torch.randn(2, 4, 9, 10)).square().mean().backward()
    for name, p in op.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, name


def test_stride_subsamples_in_the_pointwise_mix() -> None:
    op = ShiftwiseConv(4, 8, kernel_size=7, stride=2).eval()
    assert op(torch.randn(1, 4, 9, 10)).shape == (1, 8, 5, 5)


def test_even_small_kernel_is_rejected() -> None:
    with pytest.raises(LayerArgumentError, match="small_kernel must be odd"):
        ShiftwiseConv(4, small_kernel=2)


@settings(max_examples=60, deadline=None)
@given(
    channels=st.integers(1, 6),
    size=st.tuples(st.integers(1, 24), st.integers(1, 24)),
    kernel_size=st.sampled_from([5, 7, 13]),
    small_kernel=st.sampled_from([1, 3, 5]),
    diagonal=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_training_form_equals_response_crop_form(
    channels: int, size: tuple[int, int], kernel_size: int, small_kernel: int, diagonal: bool, seed: int
) -> None:
    """Shifting inputs (training path) and cropping responses (slice lowering) agree, values and grads."""
    if kernel_size < small_kernel:
        return
    torch.manual_seed(seed)
    nk = strip_count(kernel_size, small_kernel)
    directions = [(0, 1), (1, 0)] + ([(1, 1), (1, -1)] if diagonal else [])
    weight = torch.randn(channels * len(directions) * nk, 1, small_kernel, small_kernel, requires_grad=True)
    x = torch.randn(2, channels, *size, requires_grad=True)
    a = strip_sum(x, weight, nk, directions, small_kernel)
    b = strip_sum_shifted_inputs(x, weight, nk, directions, small_kernel)
    torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-5)
    ga = torch.autograd.grad(a.square().sum(), (x, weight))
    gb = torch.autograd.grad(b.square().sum(), (x, weight))
    for u, v in zip(ga, gb, strict=True):  # float32 sums in another order (oneDNN AVX2 vs AVX-512 kernels)
        torch.testing.assert_close(u, v, atol=1e-5 * (1 + float(u.abs().max())), rtol=1e-3)
