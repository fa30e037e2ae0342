"""The QDQ graph run in PyTorch equals ONNX Runtime's float Q/DQ reference bit for bit, and trains."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch

from edgeconv.errors import UsageError
from edgeconv.export.quantization.ptq import Int8Config, quantize_int8
from edgeconv.export.quantization.qdq_torch import QDQGraph

TRAINABLE = [f"body.{i}.{kind}" for i in ("0.0", "1", "3", "5") for kind in ("weight", "bias")]
SCHEMES = {
    "u8u8-tensor": Int8Config(activation_type="u8", weight_type="u8", per_channel=False),
    "u8s8-channel": Int8Config(activation_type="u8", weight_type="s8", per_channel=True),
    "s8s8-symmetric": Int8Config(activation_type="s8", weight_type="s8", per_channel=True, symmetric_activations=True),
    "u8s8-7bit": Int8Config(activation_type="u8", weight_type="s8", per_channel=False, reduce_range=True),
}


def assert_same_quantized(got: np.ndarray, want: np.ndarray) -> None:
    """Equal, up to a rare one-step flip: float convs on another CPU (AVX2, ARM) may round a value that sits on
    a quantization boundary the other way. On the AMD EPYC (AVX-512) this was measured equal bit for bit."""
    differ = got != want
    assert differ.mean() < 1e-3, differ.mean()
    assert np.abs(got - want).max() <= 0.02  # one output step of these graphs is < 0.01


def reference(model: onnx.ModelProto, x: np.ndarray) -> np.ndarray:
    """ONNX Runtime with graph optimisations off: Q and DQ computed as written (no integer kernels)."""
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    session = ort.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])
    return session.run(None, {"input": x})[0]


@pytest.fixture(scope="module")
def feeds() -> list[dict[str, np.ndarray]]:
    rng = np.random.default_rng(0)
    return [{"input": rng.random((1, 3, 32, 32), dtype=np.float32)} for _ in range(4)]


@pytest.mark.parametrize("scheme", sorted(SCHEMES))
def test_forward_equals_onnxruntime_and_writes_back_unchanged(default_onnx: Path, feeds, scheme: str) -> None:
    quantized = quantize_int8(onnx.load(default_onnx), feeds, SCHEMES[scheme])
    graph = QDQGraph(quantized, TRAINABLE, reduce_range=SCHEMES[scheme].resolved_reduce_range()[0])
    x = np.random.default_rng(1).random((1, 3, 27, 41), dtype=np.float32)
    with torch.no_grad():
        got = graph(torch.from_numpy(x)).numpy()
    assert_same_quantized(got, reference(quantized, x))
    # untrained, the weights re-quantize to exactly what ONNX Runtime's quantizer wrote (scales to float32
    # rounding: a per-tensor scale recomputed in PyTorch may land one ulp away)
    again = graph.quantized_model()
    for before, after in zip(quantized.graph.initializer, again.graph.initializer, strict=True):
        want, got = onnx.numpy_helper.to_array(before), onnx.numpy_helper.to_array(after)
        if want.dtype == np.float32:
            np.testing.assert_allclose(got, want, rtol=1e-6, err_msg=before.name)
        else:
            np.testing.assert_array_equal(got, want, err_msg=before.name)


def test_a_training_step_moves_weights_and_the_written_graph_follows(default_onnx: Path, feeds) -> None:
    config = Int8Config(activation_type="u8", weight_type="s8", per_channel=True, image_output=(0.0, 1.0))
    quantized = quantize_int8(onnx.load(default_onnx), feeds, config)  # input and output on the image grid
    graph = QDQGraph(quantized, TRAINABLE, learn_scales=True)
    x = torch.from_numpy(feeds[0]["input"])
    optimizer = torch.optim.Adam(graph.parameters(), lr=1e-2)
    loss = (graph(x) - 0.5).abs().mean()
    loss.backward()
    assert all(p.grad is not None and float(p.grad.abs().sum()) > 0 for p in graph.weights.parameters())
    optimizer.step()
    trained = graph.quantized_model()
    changed = {t.name for t, u in zip(quantized.graph.initializer, trained.graph.initializer, strict=True)
               if not np.array_equal(onnx.numpy_helper.to_array(t), onnx.numpy_helper.to_array(u))}
    assert "body.1.weight_quantized" in changed and not any(n.startswith("bicubic") or n.startswith("luma")
                                                             for n in changed)
    assert "/body/body.1/Conv_output_0_scale" in changed  # a learned activation range, written back
    assert not {"input_scale", "/Add_output_0_scale"} & changed  # exact 8-bit image grids stay
    probe = np.random.default_rng(2).random((1, 3, 20, 24), dtype=np.float32)
    with torch.no_grad():
        assert_same_quantized(graph(torch.from_numpy(probe)).numpy(), reference(trained, probe))


def test_unknown_weights_and_ops_are_refused(default_onnx: Path, feeds) -> None:
    quantized = quantize_int8(onnx.load(default_onnx), feeds, SCHEMES["u8u8-tensor"])
    with pytest.raises(UsageError, match="body.9.weight \\| is not a quantized weight"):
        QDQGraph(quantized, ["body.9.weight"])
    odd = onnx.ModelProto()
    odd.CopyFrom(quantized)
    odd.graph.node[-1].op_type = "Resize"
    with pytest.raises(UsageError, match="op Resize is not supported"):
        QDQGraph(odd)
