"""PReLU written as Mul + Max for ONNX Runtime: bit-identical to PRelu for any slopes, named by module."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
from hypothesis import given, settings
from hypothesis import strategies as st
from onnx import TensorProto, helper, numpy_helper

from edgeconv.export.graph.activations import prelu_as_max


def prelu_graph(slope: np.ndarray) -> onnx.ModelProto:
    channels = slope.shape[0]
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, channels, None, None])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, channels, None, None])
    node = helper.make_node("PRelu", ["x", "slope"], ["y"], name="/body/body.2/PRelu")
    graph = helper.make_graph([node], "g", [x], [y], [numpy_helper.from_array(slope, "slope")])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def run(model: onnx.ModelProto, x: np.ndarray) -> np.ndarray:
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return session.run(None, {"x": x})[0]


@settings(max_examples=30, deadline=None)
@given(slopes=st.lists(st.floats(-3, 3, width=32), min_size=1, max_size=6), seed=st.integers(0, 2**16))
def test_max_form_equals_prelu_bit_for_bit(slopes: list[float], seed: int) -> None:
    slope = np.asarray(slopes, np.float32).reshape(-1, 1, 1)
    model = prelu_graph(slope)
    rewritten, count = prelu_as_max(model)
    onnx.checker.check_model(rewritten)
    assert count == 1 and "PRelu" not in {n.op_type for n in rewritten.graph.node}
    assert all(n.name.startswith("/body/body.2/") for n in rewritten.graph.node)
    x = np.random.default_rng(seed).normal(0, 2, (1, slope.shape[0], 5, 7)).astype(np.float32)
    x[0, :, 0, 0] = 0.0  # zeros, and signed zeros, map the same way
    np.testing.assert_array_equal(run(rewritten, x), run(model, x))
    ops = [n.op_type for n in rewritten.graph.node]
    assert ops == (["Mul", "Max"] if np.all(slope <= 1) else ["Mul", "Mul", "Max", "Mul"])


def test_onnxruntime_export_uses_it_and_says_so(default_onnx: Path) -> None:
    model = onnx.load(default_onnx)  # exported for ONNX Runtime
    props = {p.key: p.value for p in model.metadata_props}
    assert props["edgeconv.prelu"] == "max" and "PRelu" not in {n.op_type for n in model.graph.node}
    assert {"/body/body.2/Max", "/body/body.0/body.0.1/Max"} <= {n.name for n in model.graph.node}


def test_int8_leaves_the_rewritten_prelu_in_float(default_onnx: Path) -> None:
    """Like a PRelu, the Mul + Max stay float between the conv's DequantizeLinear and the next QuantizeLinear."""
    from edgeconv.export.quantization.ptq import Int8Config, quantize_int8

    rng = np.random.default_rng(0)
    feeds = [{"input": rng.random((1, 3, 24, 24), dtype=np.float32)} for _ in range(4)]
    quantized = quantize_int8(onnx.load(default_onnx), feeds, Int8Config())
    # a * x inside each PReLU (feeding its Max); a slope above 1 adds sign-flip Muls around it, whose last
    # output is the next conv's input and so is quantized like any conv input
    into_max = {i for n in quantized.graph.node if n.op_type == "Max" for i in n.input}
    products = {n.output[0] for n in quantized.graph.node if n.op_type == "Mul" and n.output[0] in into_max}
    assert len(products) >= 3  # the shipped photo net's three PReLUs (both Max inputs when a slope needs a flip)
    assert not any(n.op_type == "QuantizeLinear" and n.input[0] in products for n in quantized.graph.node)
    producer = {o: n for n in quantized.graph.node for o in n.output}
    convs = [n for n in quantized.graph.node if n.op_type == "Conv"]
    assert len(convs) == 6  # luma, four body convs, bicubic skip: every one reads 8-bit data and weights
    assert all(producer[c.input[0]].op_type == producer[c.input[1]].op_type == "DequantizeLinear" for c in convs)
