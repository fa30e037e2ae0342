"""JitterConv: what each mode does, and that it trains."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from edgeconv.errors import LayerArgumentError
from edgeconv.jitter_conv import JitterConv, hat_kernels
from edgeconv.shift import ShiftBlend, grid_sample_shift, integer_shift


def test_random_mode_jitters_in_training_and_is_identity_at_eval() -> None:
    torch.manual_seed(0)
    op = JitterConv(4, 4, mode="random", max_shift=2, generator=torch.Generator().manual_seed(1))
    x = torch.randn(1, 4, 16, 16)
    op.train()
    a, b = op.shift_features(x), op.shift_features(x)
    assert not torch.equal(a, b), "two training forwards drew the same shifts"
    # every channel is some zero-filled integer shift of its input
    for c in range(4):
        matches = [
            torch.equal(a[0, c], integer_shift(x[:, c : c + 1], dy, dx)[0, 0])
            for dy in range(-2, 3)
            for dx in range(-2, 3)
        ]
        assert any(matches)
    op.eval()
    torch.testing.assert_close(op(x), op.conv(x), atol=0, rtol=0)


def test_random_mode_is_reproducible_with_a_generator() -> None:
    x = torch.randn(1, 3, 8, 8)
    outs = []
    for _ in range(2):
        op = JitterConv(3, 3, mode="random", generator=torch.Generator().manual_seed(7)).train()
        outs.append(op.shift_features(x))
    torch.testing.assert_close(outs[0], outs[1], atol=0, rtol=0)


def test_channel_mode_shifts_by_channel_index() -> None:
    op = JitterConv(9, 4, mode="channel", max_shift=1)
    x = torch.randn(1, 9, 5, 6)
    shifted = op.shift_features(x)
    grid = [(dy, dx) for dy in (-1, 0, 1) for dx in (-1, 0, 1)]
    for c, (dy, dx) in enumerate(grid):
        torch.testing.assert_close(shifted[:, c], integer_shift(x[:, c : c + 1], dy, dx)[:, 0])


def test_subpixel_mode_is_a_half_pixel_interpolation() -> None:
    op = JitterConv(4, 4, mode="subpixel")
    x = torch.randn(1, 4, 7, 7, dtype=torch.float64)
    expected = grid_sample_shift(x, op.shift.double())
    torch.testing.assert_close(op.shift_features(x.float()).double(), expected, atol=1e-6, rtol=0)
    assert sorted(map(tuple, op.shift.tolist())) == [(-0.5, 0.0), (0.0, -0.5), (0.0, 0.5), (0.5, 0.0)]


def test_learnable_hat_kernels_equal_grid_sample() -> None:
    shifts = torch.tensor([[0.3, -1.7], [-2.0, 0.0], [1.5, 1.25]], dtype=torch.float64)
    x = torch.randn(2, 3, 9, 11, dtype=torch.float64)
    ky, kx = hat_kernels(shifts, 2)
    out = F.conv2d(F.conv2d(x, ky, padding=(2, 0), groups=3), kx, padding=(0, 2), groups=3)
    torch.testing.assert_close(out, grid_sample_shift(x, shifts), atol=1e-9, rtol=0)


def test_learnable_shifts_receive_gradients_and_move() -> None:
    torch.manual_seed(0)
    op = JitterConv(4, 4, mode="learnable", max_shift=2)
    x = torch.randn(2, 4, 12, 12)
    target = ShiftBlend.fractional(torch.full((4, 2), 1.3))(x)
    start = op.shift.detach().clone()
    opt = torch.optim.SGD(op.parameters(), lr=0.5)
    for _ in range(5):
        opt.zero_grad()
        loss = F.mse_loss(op.shift_features(x), target)
        loss.backward()
        assert op.shift.grad is not None and op.shift.grad.abs().sum() > 0
        opt.step()
    assert (op.shift.detach() - start).abs().max() > 1e-3


@pytest.mark.parametrize("mode", ["nope", ""])
def test_unknown_mode_is_rejected(mode: str) -> None:
    with pytest.raises(LayerArgumentError, match="is not one of random, channel, subpixel, learnable"):
        JitterConv(2, 2, mode=mode)  # type: ignore[arg-type]
