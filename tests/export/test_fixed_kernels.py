"""Fixed kernels (luma, bicubic skip) quantized so each output channel keeps its sum: flat areas pass exactly."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
from hypothesis import given, settings
from hypothesis import strategies as st
from onnx import numpy_helper

from edgeconv.export.quantization.fixed_kernels import fixed_kernel_names, round_to_sum
from edgeconv.export.quantization.ptq import Int8Config, quantize_int8


@settings(max_examples=200, deadline=None)
@given(st.lists(st.floats(-40, 40), min_size=1, max_size=30), st.integers(-3, 3))
def test_round_to_sum_hits_the_total_and_moves_no_value_a_full_step(values: list[float], shift: int) -> None:
    x = np.array(values)
    total = int(np.round(x.sum())) + shift
    low, high = np.full(x.shape, -128), np.full(x.shape, 127)
    q = round_to_sum(x, total, low, high)
    if abs(shift) <= len(values) // 2:  # reachable without moving any value more than one step past x
        assert q.sum() == total
    assert np.all(np.abs(q - x) < 1 + abs(shift)) and np.all(q == np.round(q))
    if shift == 0:
        assert np.all(np.abs(q - x) < 1)


def dequantized(model: onnx.ModelProto, name: str) -> np.ndarray:
    inits = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}
    node = next(n for n in model.graph.node if n.op_type == "DequantizeLinear" and n.input[0] == f"{name}_quantized")
    q, scale, zero = (inits[i].astype(np.float64) for i in node.input[:3])
    shape = (-1,) + (1,) * (q.ndim - 1)
    return (q - zero.reshape(shape if zero.size > 1 else ())) * scale.reshape(shape if scale.size > 1 else ())


def test_quantized_fixed_kernels_keep_their_sums_and_trained_ones_are_left_alone(default_onnx: Path) -> None:
    fp32 = onnx.load(default_onnx)
    floats = {t.name: numpy_helper.to_array(t).astype(np.float64) for t in fp32.graph.initializer}
    assert fixed_kernel_names(fp32) == ["bicubic.weight", "luma"]
    rng = np.random.default_rng(0)
    feeds = [{"input": rng.random((1, 3, 32, 32), dtype=np.float32)} for _ in range(2)]
    # 8-bit weights pinned (on an AVX2-only CPU the default would be 7-bit, a step twice as wide)
    for config in (Int8Config(reduce_range=False),
                   Int8Config(activation_type="u8", weight_type="u8", per_channel=False, reduce_range=False)):
        model = quantize_int8(fp32, feeds, config)
        for name in ("bicubic.weight", "luma"):
            want = floats[name].reshape(floats[name].shape[0], -1).sum(axis=1)
            got = dequantized(model, name).reshape(want.shape[0], -1).sum(axis=1)
            step = np.abs(dequantized(model, name)).max() / 100
            # symmetric per channel: exact (to float32 scale rounding); per tensor: within half a step
            assert np.abs(got - want).max() <= (2e-6 if config.per_channel else step / 2), (name, got, want)
            assert np.abs(dequantized(model, name) - floats[name]).max() < step * 1.5
        # a trained weight is quantized as ONNX Runtime's quantizer does (round to nearest)
        w = floats["body.1.weight"]
        err = np.abs(dequantized(model, "body.1.weight") - w)
        assert err.max() <= np.abs(w).max() / 127 * 0.51 * (2 if not config.per_channel else 1)


def test_seven_bit_weights_stay_seven_bit(default_onnx: Path) -> None:
    """Where the CPU's kernels need 7-bit weights (x86 without VNNI), the sum-exact fixed kernels keep to them."""
    rng = np.random.default_rng(0)
    feeds = [{"input": rng.random((1, 3, 32, 32), dtype=np.float32)} for _ in range(2)]
    model = quantize_int8(onnx.load(default_onnx), feeds, Int8Config(reduce_range=True))
    inits = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}
    for name in ("bicubic.weight", "luma"):
        assert np.abs(inits[f"{name}_quantized"].astype(int)).max() <= 64, name
        floats = {t.name: numpy_helper.to_array(t) for t in onnx.load(default_onnx).graph.initializer}[name]
        want = floats.reshape(floats.shape[0], -1).sum(axis=1)
        got = dequantized(model, name).reshape(want.shape[0], -1).sum(axis=1)
        assert np.abs(got - want).max() <= 2e-6, name
