"""SR model building blocks and the registry's SR nets at every scale."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from edgeconv.export import to_deploy
from edgeconv.models import create_model
from edgeconv.models.nets.complexity import count_macs
from edgeconv.models.nets.luma_sr import BicubicPhases, BicubicUpsample, rgb_to_luma
from edgeconv.runtime.imaging.luma import LUMA_GAIN, LUMA_WEIGHTS, rgb_to_model_luma

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



def test_one_luma_for_the_model_the_losses_and_the_exporter() -> None:
    """The model's 1x1 luma conv, the Y losses (``rgb_to_luma``) and the numpy form agree to the bit."""
    x = torch.rand(2, 3, 6, 5, generator=torch.Generator().manual_seed(0))
    model = create_model("plain_edge_sr", scale=2)
    torch.testing.assert_close(model.luma, torch.tensor(LUMA_WEIGHTS).view(1, 3, 1, 1), atol=0, rtol=0)
    luma = rgb_to_luma(x)
    assert luma.shape == (2, 1, 6, 5)
    torch.testing.assert_close(luma, (x * model.luma).sum(1, keepdim=True), atol=0, rtol=0)
    torch.testing.assert_close(luma, torch.from_numpy(rgb_to_model_luma(x.numpy())), atol=1e-7, rtol=0)

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


@settings(max_examples=60, deadline=None)
@given(h=st.integers(1, 40), w=st.integers(1, 40), scale=st.sampled_from([2, 3, 4]), seed=st.integers(0, 2**16))
def test_separable_bicubic_equals_the_5x5_form_and_interpolate(h: int, w: int, scale: int, seed: int) -> None:
    """Two 1-D convs (5x1 to (colour, phase_y), 1x5 to (colour, phase_y, phase_x)) = the 5x5 phase kernels."""
    x = torch.rand(2, 3, h, w, generator=torch.Generator().manual_seed(seed))
    separable, full = BicubicPhases(scale, separable=True), BicubicPhases(scale, separable=False)
    shuffle = torch.nn.PixelShuffle(scale)
    with torch.no_grad():
        got, want = separable(x), full(x)
        expected = F.interpolate(x, scale_factor=scale, mode="bicubic", align_corners=False)
    assert got.shape == want.shape == (2, 3 * scale * scale, h, w)
    assert float((got - want).abs().max()) < 1e-5
    # every pixel, the border too: F.interpolate clamps its indices, as the replicate pad does
    assert float((shuffle(got) - expected).abs().max()) < 1e-5


@pytest.mark.parametrize("scale", [2, 3, 4])
def test_the_skip_is_5x5_at_x2_and_separable_from_x3(scale: int) -> None:
    """x2 keeps the one 5x5 conv the shipped graphs and the x2 INT8 code are built on; x3 and x4 cost 15s + 15s^2
    MACs per LR pixel (plus the 5x1 conv over the 4 padding columns) instead of 75 s^2."""
    model = create_model("plain_edge_sr", scale=scale)
    bicubic = model.bicubic
    assert isinstance(bicubic, BicubicPhases) and bicubic.separable == (scale > 2)
    assert not any(name.startswith("bicubic") for name in model.state_dict())  # fixed: not in checkpoints
    macs = count_macs(bicubic, (1, 3, 64, 64))
    if scale == 2:
        assert bicubic.kernel.shape == (12, 1, 5, 5) and macs == 75 * 4 * 64 * 64
    else:
        assert bicubic.vertical.kernel.shape == (3 * scale, 1, 5, 1)
        assert bicubic.horizontal.kernel.shape == (3 * scale * scale, 1, 1, 5)
        assert macs == 15 * scale * 64 * 68 + 15 * scale * scale * 64 * 64


# the x3 / x4 shapes of the scale sweep (channels, blocks): each within the edge budget of 3,500 MACs per LR pixel
BUDGET_SHAPES = [(3, 11, 2), (3, 9, 3), (3, 8, 4), (4, 9, 2), (4, 8, 3), (4, 7, 4)]


@pytest.mark.parametrize(("scale", "channels", "blocks"), BUDGET_SHAPES)
def test_plain_edge_sr_x3_x4_shapes_fit_the_budget(scale: int, channels: int, blocks: int) -> None:
    model = create_model("plain_edge_sr", scale=scale, channels=channels, blocks=blocks)
    per_lr_pixel = count_macs(model, (1, 3, 64, 64)) / (64 * 64)
    assert per_lr_pixel <= 3500, f"x{scale} {channels}x{blocks}: {per_lr_pixel:.0f} MACs per LR pixel"


@pytest.mark.parametrize("scale", [3, 4])
def test_x3_x4_export_to_onnx_with_the_separable_skip(scale: int) -> None:
    import numpy as np
    import onnxruntime as ort

    from edgeconv.export.graph.from_module import export_deployed

    torch.manual_seed(0)
    model = create_model("plain_edge_sr", scale=scale, channels=8).eval()
    proto = export_deployed(model, torch.rand(1, 3, 16, 16), target_backend="onnxruntime").model
    convs = [n.name for n in proto.graph.node if n.op_type == "Conv" and n.name.startswith("/bicubic/")]
    assert convs == ["/bicubic/vertical/Conv", "/bicubic/horizontal/Conv"]
    assert {"bicubic.vertical.weight", "bicubic.horizontal.weight"} <= {t.name for t in proto.graph.initializer}
    assert not any(n.op_type == "Constant" for n in proto.graph.node)
    assert [n.op_type for n in proto.graph.node].count("DepthToSpace") == 1
    session = ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])
    x = torch.rand(1, 3, 23, 17)
    with torch.no_grad():
        expected = model(x).numpy()
    got = session.run(None, {session.get_inputs()[0].name: x.numpy()})[0]
    assert got.shape == (1, 3, 23 * scale, 17 * scale)
    np.testing.assert_allclose(got, expected, atol=1e-5, rtol=0)
