"""Put an image model's input and output quantization on the 8-bit image grid the pixels already live on.

An SR model's input comes from 8-bit pixels and its output is saved as 8-bit pixels: a Q/DQ pair with
scale ``(hi - lo) / 255`` and the zero point at ``lo`` rounds nothing there, where a range calibrated on
crops rounds every pixel a second time. Both functions change the quantized model in place and say whether
they found the pair.
"""

from __future__ import annotations

import numpy as np
import onnx

from edgeconv.export.quantization.output_add import LAYOUT_OPS


def _image_grid(value_range: tuple[float, float], activation_type: str) -> tuple[np.ndarray, np.ndarray]:
    """(scale, zero point) of the 8-bit image grid over ``value_range`` in ``u8`` or ``s8`` activations."""
    lo, hi = value_range
    scale = np.float32((hi - lo) / 255.0)
    zero = np.array(round(-lo / float(scale)) + (0 if activation_type == "u8" else -128),
                    np.uint8 if activation_type == "u8" else np.int8)
    return np.array(scale), zero


def _set_pair(model: onnx.ModelProto, names: set[str], scale: np.ndarray, zero: np.ndarray) -> None:
    """Overwrite the initializers named ``names``: float ones with ``scale``, integer ones with ``zero``."""
    from onnx import numpy_helper

    for tensor in model.graph.initializer:
        if tensor.name in names:
            value = scale if tensor.data_type == onnx.TensorProto.FLOAT else zero
            tensor.CopyFrom(numpy_helper.from_array(value, tensor.name))


def snap_input_to_image_grid(model: onnx.ModelProto, value_range: tuple[float, float], activation_type: str) -> bool:
    """Put the graph input's QuantizeLinear on the 8-bit pixel grid, in place.

    The input of an image model comes from 8-bit pixels: quantizing it on their grid loses nothing, where a
    range calibrated on crops that miss pure black or white would round every pixel.

    Args:
        model: a QDQ model (changed in place).
        value_range: the input's ``(lo, hi)`` (``[0, 1]`` for edgeconv's SR models).
        activation_type: ``u8`` or ``s8``.

    Returns:
        True when the input's QuantizeLinear was found and changed.
    """
    graph_input = model.graph.input[0].name
    quantize = next((n for n in model.graph.node if n.op_type == "QuantizeLinear" and n.input[0] == graph_input), None)
    if quantize is None:
        return False
    _set_pair(model, {quantize.input[1], quantize.input[2]}, *_image_grid(value_range, activation_type))
    return True


def snap_output_to_image_grid(model: onnx.ModelProto, value_range: tuple[float, float], activation_type: str) -> bool:
    """Give the Q/DQ pair that makes the graph output the 8-bit image grid, in place.

    Scale (hi - lo) / 255 and the zero point at ``lo`` (``u8``: 0, ``s8``: -128). The image is clipped and
    rounded to that grid when saved, so the pair then costs nothing, where a calibrated range (e.g.
    [-0.24, 1.20]) rounds a second, coarser time.

    Args:
        model: a QDQ model (changed in place).
        value_range: the output image's ``(lo, hi)``.
        activation_type: ``u8`` or ``s8``.

    Returns:
        True when the pair was found (through layout ops such as DepthToSpace) and changed; False also when its
        scale is shared with another pair (changing it would move that one too).
    """
    producer = {o: n for n in model.graph.node for o in n.output}
    node = producer.get(model.graph.output[0].name)
    while node is not None and node.op_type in LAYOUT_OPS:
        node = producer.get(node.input[0])
    if node is None or node.op_type != "DequantizeLinear" or producer.get(node.input[0]) is None:
        return False
    quantize = producer[node.input[0]]
    names = {quantize.input[1], quantize.input[2], node.input[1], node.input[2]}
    users = [n for n in model.graph.node if names & set(n.input[1:])]
    if len(users) != 2:  # the scale is shared with another pair: changing it would move that one too
        return False
    _set_pair(model, names, *_image_grid(value_range, activation_type))
    return True
