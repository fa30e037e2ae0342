"""ONNX node names back to the PyTorch module paths they came from (``/body/body.1/conv/Conv`` -> ``body.1.conv``).

The TorchScript exporter names each node after its module scope, one segment per module: either
the child's attribute name (``conv``) or its dotted path from the enclosing scope (``body.1``),
then the op (``Conv``). Back ends append their own suffixes (OpenVINO: ``/WithoutBiases``), so the
path stops at the first segment that reads as an op name (CamelCase), and a node without a module
scope reads ``(top) <op>``.
"""

from __future__ import annotations

import re

SHIFT_OP_TYPES = frozenset({"Slice", "Pad", "Concat", "Gather", "Split"})


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


def is_shift_layer(module: str, op_type: str) -> bool:
    """Whether a layer moves pixels rather than mixing channels.

    Args:
        module: the layer's module path (``module_path``).
        op_type: its ONNX op type.

    Returns:
        True for Slice, Pad, Concat, Gather and Split nodes, and for any node under a ``shift*`` module.
    """
    return op_type in SHIFT_OP_TYPES or any(part.startswith("shift") for part in module.split("."))
