"""TensorRT's explicit-quantization rules for a QDQ ONNX graph, checked without TensorRT or a GPU.

TensorRT builds an INT8 engine from QuantizeLinear/DequantizeLinear pairs only when they follow its rules;
a graph that breaks one is refused by the ONNX parser on the device (or silently runs in float). The rules,
from the TensorRT developer guide ("Explicit Quantization", Q/DQ placement) and the ONNX-TensorRT parser
(``QuantDequantLinearHelper``; docs/operators.md):

- zero points are given and are int8 zeros (symmetric): "Non-zero zero point is not supported";
- scales are constant float32, positive and finite;
- per-channel scales only on weights, along the Conv's output-channel axis (0), one per channel;
  activations per tensor;
- a DequantizeLinear reads int8 (a weight initializer, or its QuantizeLinear): an int32 bias DequantizeLinear
  is refused ("only activation types allowed"), so a Conv's bias stays a float initializer;
- every input of a weighted layer (Conv's data and weights) comes from a DequantizeLinear: a Conv fed float
  data is not an INT8 layer (TensorRT runs it in float: checked only when every conv is meant to be INT8);
- opset >= 13 (per-channel ``axis``).
"""

from __future__ import annotations

import numpy as np
import onnx
from onnx import numpy_helper

QDQ_OPS = ("QuantizeLinear", "DequantizeLinear")


def tensorrt_qdq_violations(model: onnx.ModelProto, every_conv_int8: bool = True) -> list[str]:
    """Every place ``model`` breaks TensorRT's explicit-quantization rules, one line each (empty: it follows them).

    Args:
        model: a QDQ graph.
        every_conv_int8: also flag a Conv whose data or weights do not come from a DequantizeLinear (TensorRT
            runs it in float: legal, but not the all-INT8 graph asked for; False for a budget artifact that
            keeps layers FP32).

    Returns:
        One line per broken rule, in graph order: the opset, then each Q/DQ node, then each Conv.
    """
    graph = model.graph
    inits = {t.name: t for t in graph.initializer}
    producer = {o: n for n in graph.node for o in n.output}
    problems: list[str] = []
    opset = next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), 0)
    if opset < 13:
        problems.append(f"opset {opset} < 13: per-channel QuantizeLinear/DequantizeLinear need opset 13")
    weight_inputs = {n.input[1]: n for n in graph.node if n.op_type == "Conv"}
    for node in graph.node:
        if node.op_type in QDQ_OPS:
            problems += _qdq_problems(node, inits, producer, weight_inputs)
    for node in graph.node:
        if node.op_type == "Conv":
            problems += _conv_problems(node, inits, producer, every_conv_int8)
    return problems


def _qdq_problems(
    node: onnx.NodeProto, inits: dict[str, onnx.TensorProto], producer: dict[str, onnx.NodeProto],
    weight_inputs: dict[str, onnx.NodeProto],
) -> list[str]:
    """The rules one QuantizeLinear / DequantizeLinear breaks: its input, scale, zero point and axis."""
    where = f"{node.op_type} {node.name or node.output[0]}"
    source = inits.get(node.input[0])
    if node.op_type == "DequantizeLinear" and source is not None and source.data_type != onnx.TensorProto.INT8:
        kind = onnx.TensorProto.DataType.Name(source.data_type)
        return [f"{where}: dequantizes a {kind} constant (a quantized bias?): only int8 is accepted"]
    scale = inits.get(node.input[1])
    if scale is None:
        return [f"{where}: scale is not a constant initializer"]
    problems: list[str] = []
    s = numpy_helper.to_array(scale)
    if scale.data_type != onnx.TensorProto.FLOAT or not (np.all(np.isfinite(s)) and np.all(s > 0)):
        problems.append(f"{where}: scale must be positive finite float32")
    zero = inits.get(node.input[2]) if len(node.input) > 2 and node.input[2] else None
    if zero is None:
        problems.append(f"{where}: no zero point (the default is uint8; TensorRT needs int8 zeros)")
    elif zero.data_type != onnx.TensorProto.INT8 or np.any(numpy_helper.to_array(zero) != 0):
        kind, values = onnx.TensorProto.DataType.Name(zero.data_type), numpy_helper.to_array(zero).ravel()[:4]
        problems.append(f"{where}: zero point must be int8 0 (symmetric), got {kind} {values}")
    if s.size > 1:
        problems += _per_channel_problems(node, where, s.size, inits, weight_inputs)
    if node.op_type == "DequantizeLinear":
        name = node.input[0]
        if name not in inits and (producer.get(name) is None or producer[name].op_type != "QuantizeLinear"):
            problems.append(f"{where}: input is not an int8 constant or a QuantizeLinear output")
    return problems


def _conv_problems(
    node: onnx.NodeProto, inits: dict[str, onnx.TensorProto], producer: dict[str, onnx.NodeProto],
    every_conv_int8: bool,
) -> list[str]:
    """The rules one Conv breaks: float inputs (when every conv should be INT8), a bias that is not a constant."""
    problems = []
    for role, name in zip(("data", "weights"), node.input[:2], strict=False):
        source = producer.get(name)
        if every_conv_int8 and (source is None or source.op_type != "DequantizeLinear"):
            problems.append(f"Conv {node.name}: its {role} do not come from a DequantizeLinear (runs in float)")
    if len(node.input) > 2 and node.input[2] and node.input[2] not in inits:
        problems.append(f"Conv {node.name}: bias is not a float initializer")
    return problems


def _per_channel_problems(
    node: onnx.NodeProto, where: str, size: int, inits: dict[str, onnx.TensorProto],
    weight_inputs: dict[str, onnx.NodeProto],
) -> list[str]:
    """A per-channel scale is allowed only on a Conv's constant weights, along axis 0, one per output channel."""
    axis = next((a.i for a in node.attribute if a.name == "axis"), 1)
    conv = weight_inputs.get(node.output[0]) if node.op_type == "DequantizeLinear" else None
    if conv is None or node.input[0] not in inits:
        return [f"{where}: per-channel scale on something other than a Conv's constant weights"]
    channels = inits[node.input[0]].dims[0]
    if axis != 0 or size != channels:
        return [f"{where}: per-channel weights need axis 0 and {channels} scales (got axis {axis}, {size})"]
    return []
