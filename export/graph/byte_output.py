"""The 8-bit output form of an SR model: the output conversion moved inside the graph.

An SR model returns float pixels; turning them into an 8-bit image (scale to 0-255, clip, round half to even,
cast) costs as much as the convolutions at x4 (a 2560x1440 RGB output is 44 MB of float32, converted in numpy),
and the pixel shuffle then moves four times the bytes it has to. The 8-bit form does the conversion at LR size,
before the final DepthToSpace, so the shuffle and the copy out of the back end move uint8: the same pixels
(the same float values rounded half to even: a ``Mul`` and a ``QuantizeLinear`` of step 1) at a fraction of the
memory traffic. ``upscale`` loads it for 8-bit images when it lies beside the model (``NAME.u8.onnx``);
validation, quantization and ERF analysis keep the float model.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from edgeconv.errors import EdgeConvError
from edgeconv.runtime.atomic_write import write_bytes_atomic
from edgeconv.runtime.model_facts import read_model_facts

OUTPUT_DTYPE_KEY = "edgeconv.output_dtype"
MOVES_ONLY = ("DepthToSpace", "Transpose", "Reshape")  # ops that move values without changing them


def with_uint8_output(model: onnx.ModelProto, value_range: tuple[float, float]) -> onnx.ModelProto:
    """A copy of ``model`` whose output is uint8 (``round(clip((y - lo) * 255 / (hi - lo), 0, 255))``), the
    conversion placed before the final DepthToSpace (or other pure data movement) when the output comes from one.

    Args:
        model: a float SR graph with one output.
        value_range: the model's pixel range ``(lo, hi)`` (``ModelFacts.value_range``).

    Returns:
        The new model (same input, same metadata plus ``edgeconv.output_dtype = uint8``).
    """
    out = onnx.ModelProto()
    out.CopyFrom(model)
    graph = out.graph
    if len(graph.output) != 1:
        raise EdgeConvError("model", f"has {len(graph.output)} outputs", "an SR model has one")
    name = graph.output[0].name
    producer = next((n for n in graph.node if name in n.output), None)
    movers = producer is not None and producer.op_type in MOVES_ONLY and len(producer.input) >= 1
    source = producer.input[0] if movers else name
    lo, hi = value_range
    gain, offset = 255.0 / (hi - lo), -lo * 255.0 / (hi - lo)
    # scale as upscale's numpy path does, then one QuantizeLinear of step 1: round half to even and saturate to
    # 0-255 in one op both back ends run fast (OpenVINO fuses it into the last conv; Clip, Round, Cast made its
    # Convert fall back to a reference kernel: 43 -> 38 ms per x4 frame, ONNX Runtime 85 -> 70 ms, same pixels)
    constants = {"gain": np.array(gain, np.float32), "one": np.array(1.0, np.float32),
                 "zero_point": np.array(0, np.uint8)} | ({"offset": np.array(offset, np.float32)} if offset else {})
    graph.initializer.extend([numpy_helper.from_array(v, f"u8_{k}") for k, v in constants.items()])
    scaled = "u8_scaled"
    chain = [helper.make_node("Mul", [source, "u8_gain"], [scaled], name="u8/Mul")]
    if offset != 0.0:
        chain.append(helper.make_node("Add", [scaled, "u8_offset"], ["u8_shifted"], name="u8/Add"))
        scaled = "u8_shifted"
    converted = "u8_pixels" if movers else name
    chain.append(helper.make_node("QuantizeLinear", [scaled, "u8_one", "u8_zero_point"], [converted],
                                  name="u8/QuantizeLinear"))
    if movers:
        producer.input[0] = converted
        at = list(graph.node).index(producer)
    else:  # the chain ends in the output's name; what produced it is renamed and feeds the chain
        for node in graph.node:
            node.output[:] = [name + "_float" if o == name else o for o in node.output]
            node.input[:] = [name + "_float" if i == name else i for i in node.input]
        chain[0].input[0] = name + "_float"
        at = len(graph.node)
    for k, node in enumerate(chain):
        graph.node.insert(at + k, node)
    graph.output[0].type.tensor_type.elem_type = TensorProto.UINT8
    props = {p.key: p.value for p in out.metadata_props}
    props[OUTPUT_DTYPE_KEY] = "uint8"
    del out.metadata_props[:]
    onnx.helper.set_model_props(out, props)
    onnx.checker.check_model(out)
    return out


def write_uint8_output_form(model_path: Path, output: Path, check_side: int = 48) -> int:
    """Write the 8-bit form of the exported SR model ``model_path`` to ``output``, checked first in ONNX Runtime
    against the float model's output converted in numpy (the same rounding) on a random image.

    Returns:
        How many output values differ (by one level: float op order); 0 is the rule.

    Raises:
        EdgeConvError: any value differs by more than one level (nothing is written).
    """
    import onnxruntime as ort

    facts = read_model_facts(model_path)
    float_model = onnx.load(str(model_path))
    byte_model = with_uint8_output(float_model, facts.value_range)
    serialized = byte_model.SerializeToString()
    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, (check_side, check_side + 8, 3), dtype=np.uint8)
    x = facts.to_input(image)
    outputs = []
    for graph in (float_model.SerializeToString(), serialized):
        session = ort.InferenceSession(graph, providers=["CPUExecutionProvider"])
        outputs.append(session.run(None, {session.get_inputs()[0].name: x})[0])
    y_float, y_byte = outputs
    lo, hi = facts.value_range
    expected = np.rint(np.clip((y_float - lo) * np.float32(255.0 / (hi - lo)), 0, 255)).astype(np.int16)
    gap = np.abs(expected - y_byte.astype(np.int16))
    if y_byte.dtype != np.uint8 or y_byte.shape != y_float.shape or gap.max() > 1:
        raise EdgeConvError(str(output), f"the 8-bit form differs from the float model's pixels (by up to "
                            f"{int(gap.max())} levels, dtype {y_byte.dtype})", "nothing was written")
    write_bytes_atomic(output, serialized)
    return int((gap > 0).sum())
