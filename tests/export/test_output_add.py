"""The SR output Add sums its two conv outputs unrounded and rounds once, on the image grid (output_add.py)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
from PIL import Image

from edgeconv.export.quantization.ptq import Int8Config, quantize_int8
from edgeconv.export.quantization.tensorrt_rules import tensorrt_qdq_violations
from edgeconv.runtime.model_facts import read_model_facts


def run(model: onnx.ModelProto, x: np.ndarray) -> np.ndarray:
    """Q and DQ computed as written (float), what exact integer kernels give on any CPU (AVX2's u8 x s8 kernels
    would saturate)."""
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    session = ort.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])
    return session.run(None, {session.get_inputs()[0].name: x})[0]


def test_the_output_add_reads_the_convs_unrounded_and_is_closer_to_fp32(default_onnx: Path, astronaut) -> None:
    fp32, facts = onnx.load(default_onnx), read_model_facts(default_onnx)
    photo = np.asarray(Image.fromarray(astronaut).resize((256, 256), Image.BICUBIC))
    feeds = [{"input": facts.to_input(photo[i:i + 96, j:j + 96])} for i in (0, 128) for j in (0, 128)]
    base = Int8Config(activation_type="u8", weight_type="s8", reduce_range=False, image_output=facts.value_range)
    fused = quantize_int8(fp32, feeds, base)
    rounded = quantize_int8(fp32, feeds, Int8Config(**{**base.__dict__, "fuse_output_add": False}))

    producer = {o: n for n in fused.graph.node for o in n.output}
    add = next(n for n in fused.graph.node if n.op_type == "Add")
    sources = [producer[i] for i in add.input]
    assert sorted(s.op_type for s in sources) == ["Concat", "Conv"]
    concat = next(s for s in sources if s.op_type == "Concat")
    assert {producer[i].op_type for i in concat.input} == {"Conv"}
    # the Add's output is still rounded once, on the image grid, and the convs still read 8-bit operands
    consumer = next(n for n in fused.graph.node if add.output[0] in n.input)
    assert consumer.op_type == "QuantizeLinear"
    scale = onnx.numpy_helper.to_array(next(t for t in fused.graph.initializer if t.name == consumer.input[1]))
    assert abs(float(scale) * 255 - 1) < 1e-6
    for conv in (s for s in sources if s.op_type == "Conv"):
        assert producer[conv.input[0]].op_type == producer[conv.input[1]].op_type == "DequantizeLinear"
    def quantize_count(m: onnx.ModelProto) -> int:
        return sum(n.op_type == "QuantizeLinear" for n in m.graph.node)

    assert quantize_count(rounded) - quantize_count(fused) == 3  # bicubic out, residual out, the 3-colour Concat
    used = {i for n in fused.graph.node for i in n.input}
    assert all(t.name in used for t in fused.graph.initializer)  # no orphaned scales (ORT warns about each)

    x = facts.to_input(np.asarray(Image.fromarray(astronaut[100:228, 100:228]).resize((64, 64), Image.BICUBIC)))
    want = run(fp32, x)
    err = {name: float(np.mean((run(m, x) - want) ** 2)) for name, m in (("fused", fused), ("rounded", rounded))}
    assert err["fused"] < 0.9 * err["rounded"], err
    assert tensorrt_qdq_violations(quantize_int8(fp32, feeds, Int8Config(
        activation_type="s8", weight_type="s8", symmetric_activations=True, float_bias=True, reduce_range=False))) == []
