"""Graph simplification: onnxsim, else onnxslim, else the graph as exported (and say which).

onnxsim folds the shape arithmetic the TorchScript exporter emits around Pad and Slice into
constants, keeping the batch, height and width axes dynamic. When it folds a constant Mul into the
conv before it (the luma residual's gain into the tail conv), the new weights come out as anonymous
``Constant`` nodes; ``name_conv_weights`` makes them initializers named after the conv's module again,
so quantization reports, sensitivity and ``kept FP32`` lists still say ``body.3.weight``.
"""

from __future__ import annotations

import onnx

from edgeconv.runtime.backends.layer_names import module_path


def simplify_onnx(model: onnx.ModelProto) -> tuple[onnx.ModelProto, str]:
    """Return ``(simplified model, tool)`` where tool is ``onnxsim``, ``onnxslim`` or ``none``."""
    try:
        import onnxsim

        simplified, ok = onnxsim.simplify(model)
        if ok:
            return name_conv_weights(simplified), "onnxsim"
    except Exception:  # noqa: BLE001 - any onnxsim failure falls through to the next tool
        pass
    try:
        import onnxslim

        return onnxslim.slim(model), "onnxslim"
    except Exception:  # noqa: BLE001
        return model, "none"


def name_conv_weights(model: onnx.ModelProto) -> onnx.ModelProto:
    """Conv weights and biases held in ``Constant`` nodes become initializers named ``<module>.weight|bias``."""
    out = onnx.ModelProto()
    out.CopyFrom(model)
    graph = out.graph
    producers = {n.output[0]: n for n in graph.node if n.op_type == "Constant" and len(n.output) == 1}
    users: dict[str, int] = {}
    for node in graph.node:
        for name in node.input:
            users[name] = users.get(name, 0) + 1
    taken = {t.name for t in graph.initializer}
    moved: set[int] = set()
    for node in graph.node:
        module = module_path(node.name)
        if node.op_type != "Conv" or module.startswith("(top)"):
            continue
        for slot, role in ((1, "weight"), (2, "bias")):
            source = producers.get(node.input[slot]) if len(node.input) > slot else None
            value = next((a.t for a in source.attribute if a.name == "value"), None) if source else None
            name = f"{module}.{role}"
            if value is None or users.get(node.input[slot]) != 1 or name in taken:
                continue
            tensor = onnx.TensorProto()
            tensor.CopyFrom(value)
            tensor.name = name
            graph.initializer.append(tensor)
            node.input[slot] = name
            taken.add(name)
            moved.add(id(source))
    kept = [n for n in graph.node if id(n) not in moved]
    del graph.node[:]
    graph.node.extend(kept)
    return out
