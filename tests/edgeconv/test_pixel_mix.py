"""PixelMix: neighbour gather, border-aware encoding, residual, gradients."""

from __future__ import annotations

import torch

from edgeconv.pixel_mix import PixelMix


def test_output_depends_on_exactly_the_3x3_neighbourhood() -> None:
    torch.manual_seed(0)
    op = PixelMix(4).eval()
    x = torch.randn(1, 4, 9, 9, requires_grad=True)
    op(x)[0, :, 4, 4].sum().backward()
    touched = (x.grad[0].abs().sum(0) > 0).nonzero().tolist()
    assert sorted(touched) == [[i, j] for i in (3, 4, 5) for j in (3, 4, 5)]


def test_encoding_is_zero_filled_outside_the_image() -> None:
    torch.manual_seed(0)
    op = PixelMix(2).eval()
    with torch.no_grad():
        op.pos.fill_(1.0)
    x = torch.zeros(1, 2, 4, 4)
    out = op(x)
    # a corner pixel sees 4 in-image neighbours, an inner pixel 9: different inputs to the MLP
    assert not torch.allclose(out[0, :, 0, 0], out[0, :, 1, 1])
    torch.testing.assert_close(out[0, :, 1, 1], out[0, :, 2, 2])


def test_gradients_reach_encoding_and_mlp() -> None:
    op = PixelMix(3)
    op(torch.randn(2, 3, 5, 6)).square().mean().backward()
    assert op.pos.grad is not None and op.pos.grad.abs().sum() > 0
    assert all(p.grad is not None for p in op.mix.parameters())


def test_any_spatial_size_including_one_pixel() -> None:
    op = PixelMix(3).eval()
    for h, w in [(1, 1), (1, 7), (5, 1)]:
        assert op(torch.randn(1, 3, h, w)).shape == (1, 3, h, w)
