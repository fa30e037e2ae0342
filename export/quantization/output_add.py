"""The SR output's Add placed as TensorRT places a residual Add: its inputs summed wide, rounded once.

An SR model's image is ``bicubic skip + residual``, both conv outputs. ONNX Runtime's quantizer rounds each to
8 bits and then the sum to the image grid: three roundings straight into the output, which on the shipped x2
models cost 0.03-0.05 dB PSNR-Y that no fine-tuning can win back (the skip is a fixed kernel). Here the two convs
keep their INT8 operands (quantized inputs and weights) but hand their outputs to the Add unrounded; the sum is
rounded once, on the image grid, as the saved image is anyway. That is the placement TensorRT's guide asks for
around residual Adds (an INT8 conv fused with the add that follows); OpenVINO fuses it the same way. ONNX
Runtime's CPU provider has no such fused kernel: it runs those two convs as float convs over the dequantized
8-bit operands - the same products, and there faster than its QLinearConv for these small channel counts.
"""

from __future__ import annotations

import onnx

LAYOUT_OPS = frozenset({"DepthToSpace", "Transpose", "Reshape", "Identity"})  # move values, change none
PASS_THROUGH = frozenset({"Concat"}) | LAYOUT_OPS  # ops between a conv and the Add that move values only


def fuse_output_add(model: onnx.ModelProto) -> list[str]:
    """Remove, in place, the Q/DQ pairs between the convs that feed the output's Add and that Add (through
    Concat and layout ops).

    Args:
        model: a freshly quantized QDQ model (changed in place).

    Returns:
        The tensors no longer rounded; empty (nothing changed) unless the graph output comes from a quantized
        Add (through layout ops).
    """
    graph = model.graph
    producer = {o: n for n in graph.node for o in n.output}
    add = _quantized_output_add(graph, producer)
    if add is None:
        return []
    removed: set[int] = set()
    unrounded: list[str] = []

    def unround(consumer: onnx.NodeProto) -> None:
        for k, name in enumerate(consumer.input):
            dq = producer.get(name)
            q = producer.get(dq.input[0]) if dq is not None and dq.op_type == "DequantizeLinear" else None
            if q is None or q.op_type != "QuantizeLinear":
                continue
            source = producer.get(q.input[0])
            if source is None or (source.op_type != "Conv" and source.op_type not in PASS_THROUGH):
                continue
            consumer.input[k] = q.input[0]
            removed.update((id(dq), id(q)))
            unrounded.append(q.input[0])
            if source.op_type in PASS_THROUGH:
                unround(source)

    unround(add)
    _drop_unused(graph, removed)
    return list(dict.fromkeys(unrounded))


def _quantized_output_add(graph: onnx.GraphProto, producer: dict[str, onnx.NodeProto]) -> onnx.NodeProto | None:
    """The Add whose QuantizeLinear -> DequantizeLinear pair (through layout ops) makes the graph output, or None."""
    node = producer.get(graph.output[0].name)
    while node is not None and node.op_type in LAYOUT_OPS:
        node = producer.get(node.input[0])
    if node is None or node.op_type != "DequantizeLinear":
        return None
    quantize = producer.get(node.input[0])
    add = producer.get(quantize.input[0]) if quantize is not None and quantize.op_type == "QuantizeLinear" else None
    return add if add is not None and add.op_type == "Add" else None


def _drop_unused(graph: onnx.GraphProto, removed: set[int]) -> None:
    """Drop the ``removed`` nodes (by id) that nothing reads any more, then the initializers no node reads."""
    users = {i for n in graph.node if id(n) not in removed for i in n.input}
    kept = [n for n in graph.node if id(n) not in removed or any(o in users for o in n.output)]
    del graph.node[:]
    graph.node.extend(kept)
    used = {i for n in graph.node for i in n.input}
    initializers = [t for t in graph.initializer if t.name in used]  # the removed pairs' scales and zero points
    del graph.initializer[:]
    graph.initializer.extend(initializers)
