"""ONNX node names back to the PyTorch module paths they came from (``/body/body.1/conv/Conv`` -> ``body.1.conv``).

The TorchScript exporter names each node after its module scope, one segment per module: either
the child's attribute name (``conv``) or its dotted path from the enclosing scope (``body.1``),
then the op (``Conv``). Back ends append their own suffixes (OpenVINO: ``/WithoutBiases``), so the
path stops at the first segment that reads as an op name (CamelCase), and a node without a module
scope reads ``(top) <op>``.

Back ends also run nodes of their own that no module holds: layout reorders, type converts, the transposes
of a channels-last kernel. ``layer_label`` names what a layer table shows: the module path when the node (or,
on OpenVINO, one of the ONNX nodes it was fused from) has one, ``runtime glue`` for the back end's own data
movement, and ``(top) <op type>`` for the rest - never a runtime's generated name (``Subtract_34172_0``).
"""

from __future__ import annotations

import re

SHIFT_OP_TYPES = frozenset({"Slice", "Pad", "Concat", "Gather", "Split"})
GLUE = "runtime glue"
# op types a back end adds to move or convert data between its kernels (OpenVINO's Reorder and Convert, ONNX
# Runtime's NCHWc ReorderInput / ReorderOutput and its channels-last Transpose, copies between devices)
GLUE_OP_TYPES = frozenset({"Reorder", "ReorderInput", "ReorderOutput", "Transpose", "Convert", "Reshape", "Input",
                           "Output", "Parameter", "Result", "MemcpyToHost", "MemcpyFromHost"})
_TENSOR_QDQ = re.compile(r"^(?P<tensor>[\w.]+?)_(?:Quantize|Dequantize)Linear\b")
_TOP_SUFFIX = re.compile(r"(_output_\d+.*|_token_\d+)$")


def module_path(node_name: str) -> str:
    """The PyTorch module path in an exported node's name.

    Args:
        node_name: an ONNX (or back-end) node name, e.g. ``/body/body.1/conv/Conv`` or
            ``/body.1/conv/Conv/WithoutBiases``.

    Returns:
        The dotted module path (``body.1.conv``), or ``(top) <op>`` for a node outside any module.
    """
    parts = [p for p in node_name.split("/") if p]
    path = ""
    for segment in parts:
        if segment[:1].isupper():
            break
        path = segment if not path or segment.startswith(path + ".") else f"{path}.{segment}"
    if path:
        return path
    op = re.sub(r"_token_\d+$", "", parts[0] if parts else node_name)
    return f"(top) {op}"


def layer_label(node_name: str, op_type: str, originals: tuple[str, ...] | list[str] = ()) -> str:
    """What a layer table calls a node a back end ran: a module path, ``(top) <op type>`` or ``runtime glue``.

    Args:
        node_name: the node's name as the back end reports it (ONNX Runtime's profiler, OpenVINO's counters).
        op_type: its op type as the back end reports it.
        originals: the ONNX nodes it was made from (OpenVINO's ``originalLayersNames``), if known.

    Returns:
        The module path of the node's exporter scope (``/body/body.1/conv/Conv`` -> ``body.1.conv``; a top-level
        op ``(top) Conv``), else of the first scoped node it was fused from, else the module of a quantized weight
        (``body.5.weight_DequantizeLinear`` -> ``body.5``), else ``runtime glue`` for a back end's own data
        movement (``GLUE_OP_TYPES``), else ``(top) <op type>``.
    """
    for name in (node_name, *originals):
        if name.startswith("/"):
            parts = [p for p in name.split("/") if p]
            return module_path(name) if len(parts) != 1 else f"(top) {_TOP_SUFFIX.sub('', parts[0])}"
    match = _TENSOR_QDQ.match(node_name)
    if match and "." in match["tensor"]:  # a weight's or bias's quantization: its module
        return match["tensor"].rsplit(".", 1)[0]
    if op_type in GLUE_OP_TYPES:
        return GLUE
    return f"(top) {op_type}"


def is_shift_layer(module: str, op_type: str) -> bool:
    """Whether a layer moves pixels rather than mixing channels.

    Args:
        module: the layer's module path (``module_path``).
        op_type: its ONNX op type.

    Returns:
        True for Slice, Pad, Concat, Gather and Split nodes, and for any node under a ``shift*`` module.
    """
    return op_type in SHIFT_OP_TYPES or any(part.startswith("shift") for part in module.split("."))
