"""SR model building blocks and the registry's SR nets at every scale."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from edgeconv.export import to_deploy
from edgeconv.models import create_model
from edgeconv.models.luma_sr import LUMA_GAIN, LUMA_WEIGHTS, BicubicUpsample

SR_MODELS = [
    "edge_sr", "jitter_edge_sr", "pixelmix_edge_sr", "plain_edge_sr", "fsrcnn", "espcn",
    "shift_sr", "pixelmix_sr", "plain_sr",
]


@settings(max_examples=60, deadline=None)
@given(h=st.integers(1, 40), w=st.integers(1, 40), scale=st.sampled_from([2, 3, 4]), seed=st.integers(0, 2**16))
def test_bicubic_upsample_equals_interpolate(h: int, w: int, scale: int, seed: int) -> None:
    x = torch.rand(2, 3, h, w, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    expected = F.interpolate(x, scale_factor=scale, mode="bicubic", align_corners=False)
    torch.testing.assert_close(BicubicUpsample(scale).double()(x), expected, atol=1e-6, rtol=0)


@pytest.mark.parametrize("name", SR_MODELS)
@pytest.mark.parametrize("scale", [2, 3, 4])
def test_sr_models_upscale_rgb_and_deploy(name: str, scale: int) -> None:
    torch.manual_seed(0)
    model = create_model(name, scale=scale).eval()
    x = torch.rand(1, 3, 11, 9)
    with torch.no_grad():
        y = model(x)
        assert y.shape == (1, 3, 11 * scale, 9 * scale)
        torch.testing.assert_close(to_deploy(model, "conv")(x), y, atol=1e-5, rtol=0)


def test_luma_residual_changes_luma_only() -> None:
    torch.manual_seed(0)
    model = create_model("plain_edge_sr", scale=2).eval()
    with torch.no_grad():
        model.body[-1].bias.fill_(0.05)  # a non-zero residual everywhere
    x = torch.rand(1, 3, 8, 8)
    with torch.no_grad():
        out, base = model(x), model.upsample(x)
        residual = model.upsampler(model.body(F.conv2d(x, model.luma)))[:, 0]
    w = torch.tensor(LUMA_WEIGHTS).view(1, 3, 1, 1)
    cb = torch.tensor([-37.797, -74.203, 112.0]).view(1, 3, 1, 1) / 255
    luma_delta = ((out - base) * w).sum(1)
    assert float(residual.abs().max()) > 1e-2
    torch.testing.assert_close(luma_delta, residual, atol=1e-6, rtol=0)  # Y moves by the residual
    torch.testing.assert_close(((out - base) * cb).sum(1), torch.zeros_like(luma_delta), atol=1e-6, rtol=0)


@settings(max_examples=25, deadline=None)
@given(h=st.integers(1, 12), w=st.integers(1, 12), scale=st.sampled_from([2, 3, 4]), seed=st.integers(0, 2**16))
def test_residual_added_before_the_shuffle_equals_adding_after(h: int, w: int, scale: int, seed: int) -> None:
    """One DepthToSpace for bicubic + residual is the same image as shuffling each and adding at full size."""
    torch.manual_seed(seed)
    model = create_model("plain_edge_sr", scale=scale).eval()
    x = torch.rand(2, 3, h, w)
    with torch.no_grad():
        separate = model.upsample(x) + model.upsampler(model.features(x)) * (1.0 / LUMA_GAIN)
        torch.testing.assert_close(model(x), separate, atol=1e-6, rtol=0)
