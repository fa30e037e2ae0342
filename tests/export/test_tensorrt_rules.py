"""TensorRT's explicit-quantization rules, checked on the graphs the quantizer writes (no TensorRT, no GPU here).

The TensorRT engine build itself needs an NVIDIA GPU with TensorRT: it is not run here (this machine has
neither); the rules its ONNX parser enforces on a QDQ graph are (``tensorrt_rules``), on real artifacts.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch
from onnx import numpy_helper

from edgeconv.export.quantization.ptq import Int8Config, quantize_int8
from edgeconv.export.quantization.qdq_torch import QDQGraph
from edgeconv.export.quantization.tensorrt_rules import tensorrt_qdq_violations
from edgeconv.runtime.model_facts import read_model_facts
from tests.conftest import run_cli

TRAINABLE = [f"body.{i}.{kind}" for i in ("0.0", "1", "3", "5") for kind in ("weight", "bias")]
TENSORRT = Int8Config(activation_type="s8", weight_type="s8", per_channel=True, symmetric_activations=True,
                      float_bias=True, reduce_range=False)  # TensorRT's 8-bit weights on every host CPU


@pytest.fixture(scope="module")
def feeds() -> list[dict[str, np.ndarray]]:
    rng = np.random.default_rng(0)
    return [{"input": rng.random((1, 3, 32, 32), dtype=np.float32)} for _ in range(4)]


@pytest.fixture(scope="module")
def tensorrt_graph(default_onnx: Path, feeds) -> onnx.ModelProto:
    return quantize_int8(onnx.load(default_onnx), feeds, TENSORRT)


def float_qdq(model: onnx.ModelProto, x: np.ndarray) -> np.ndarray:
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    session = ort.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])
    return session.run(None, {"input": x})[0]


def initializer(model: onnx.ModelProto, name: str) -> onnx.TensorProto:
    return next(t for t in model.graph.initializer if t.name == name)


def test_the_tensorrt_graph_follows_the_rules_and_every_conv_is_int8(tensorrt_graph: onnx.ModelProto) -> None:
    assert tensorrt_qdq_violations(tensorrt_graph) == []
    convs = [n for n in tensorrt_graph.graph.node if n.op_type == "Conv"]
    producer = {o: n for n in tensorrt_graph.graph.node for o in n.output}
    assert len(convs) >= 4 and all(producer[c.input[0]].op_type == producer[c.input[1]].op_type == "DequantizeLinear"
                                   for c in convs)
    zero_points = [numpy_helper.to_array(initializer(tensorrt_graph, n.input[2]))
                   for n in tensorrt_graph.graph.node if n.op_type in ("QuantizeLinear", "DequantizeLinear")]
    assert zero_points and all(z.dtype == np.int8 and not z.any() for z in zero_points)


def test_the_cpu_schemes_break_the_rules_the_check_names(default_onnx: Path, feeds) -> None:
    """U8S8 with int32 biases (what ONNX Runtime wants) is exactly what TensorRT's parser refuses."""
    problems = tensorrt_qdq_violations(quantize_int8(onnx.load(default_onnx), feeds, Int8Config()))
    assert any("dequantizes a INT32 constant" in p for p in problems)
    assert any("zero point must be int8 0" in p and "UINT8" in p for p in problems)


@pytest.mark.parametrize("break_it", ["negative scale", "weights axis 1", "activation per channel", "float conv",
                                      "opset 12", "no zero point"])
def test_each_rule_catches_its_violation(tensorrt_graph: onnx.ModelProto, break_it: str) -> None:
    model = onnx.ModelProto()
    model.CopyFrom(tensorrt_graph)
    nodes = list(model.graph.node)
    weight_dq = next(n for n in nodes if n.op_type == "DequantizeLinear" and n.input[0].endswith("weight_quantized")
                     and numpy_helper.to_array(initializer(model, n.input[1])).size > 1)
    act_dq = next(n for n in nodes if n.op_type == "DequantizeLinear" and n.input[0] not in
                  {t.name for t in model.graph.initializer})
    if break_it == "negative scale":
        scale = initializer(model, act_dq.input[1])
        scale.CopyFrom(numpy_helper.from_array(-numpy_helper.to_array(scale), scale.name))
        expected = "positive finite float32"
    elif break_it == "weights axis 1":
        weight_dq.attribute.append(onnx.helper.make_attribute("axis", 1))
        del weight_dq.attribute[:-1]
        expected = "need axis 0"
    elif break_it == "activation per channel":
        scale = initializer(model, act_dq.input[1])
        scale.CopyFrom(numpy_helper.from_array(np.full(4, numpy_helper.to_array(scale), np.float32), scale.name))
        expected = "per-channel scale on something other than"
    elif break_it == "float conv":
        conv = next(n for n in nodes if n.op_type == "Conv")
        conv.input[0] = model.graph.input[0].name
        expected = "data do not come from a DequantizeLinear"
    elif break_it == "opset 12":
        next(o for o in model.opset_import if o.domain in ("", "ai.onnx")).version = 12
        expected = "opset 12 < 13"
    else:
        del act_dq.input[2:]
        expected = "no zero point"
    problems = tensorrt_qdq_violations(model)
    assert any(expected in p for p in problems), problems
    if break_it == "float conv":  # legal for TensorRT (it runs that conv in float): a budget artifact may do it
        assert not any(expected in p for p in tensorrt_qdq_violations(model, every_conv_int8=False))


def test_qat_trains_the_float_biases_and_keeps_the_rules(tensorrt_graph: onnx.ModelProto) -> None:
    """Quantization-aware training of the TensorRT graph: the PyTorch graph equals ORT's float Q/DQ, a trained
    float bias is written back as float, and the written graph still follows the rules."""
    graph = QDQGraph(tensorrt_graph, TRAINABLE, learn_scales=True)
    assert sorted(graph.float_names.values()) == ["body.0.0.bias", "body.1.bias", "body.3.bias", "body.5.bias"]
    x = np.random.default_rng(1).random((1, 3, 27, 41), dtype=np.float32)
    with torch.no_grad():
        np.testing.assert_allclose(graph(torch.from_numpy(x)).numpy(), float_qdq(tensorrt_graph, x), atol=0.02)
        graph.floats[graph._key("body.1.bias")] += 0.01
        after = graph(torch.from_numpy(x)).numpy()
    written = graph.quantized_model()
    assert tensorrt_qdq_violations(written) == []
    np.testing.assert_allclose(numpy_helper.to_array(initializer(written, "body.1.bias")),
                               numpy_helper.to_array(initializer(tensorrt_graph, "body.1.bias")) + 0.01, atol=1e-6)
    np.testing.assert_allclose(after, float_qdq(written, x), atol=0.02)
    assert np.abs(float_qdq(written, x) - float_qdq(tensorrt_graph, x)).max() > 0.005  # the change took effect


def test_quantize_cli_for_tensorrt_writes_a_graph_that_follows_the_rules(default_onnx: Path, tmp_path: Path) -> None:
    from PIL import Image
    from skimage import data

    calib = tmp_path / "calib"
    calib.mkdir()
    for i, name in enumerate(("astronaut", "coffee", "chelsea")):
        Image.fromarray(getattr(data, name)()[:128, :128]).save(calib / f"{i}.png")
    out = tmp_path / "trt.int8.onnx"
    result = run_cli("quantize", str(default_onnx), "--calib", str(calib), "--target", "tensorrt", "-o", str(out))
    assert result.returncode == 0, result.stderr
    written = onnx.load(out)
    assert tensorrt_qdq_violations(written) == []
    quantization = json.loads({p.key: p.value for p in written.metadata_props}["edgeconv.quantization"])
    assert quantization["target"] == "tensorrt" and quantization["float_bias"] is True
    assert quantization["scheme_name"].startswith("S8S8-sym")
    assert read_model_facts(out).task == "sr"
