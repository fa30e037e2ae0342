"""Shrink a quantized artifact without touching what it computes or how its layers are named.

ONNX Runtime's quantizer names every new tensor after its producer
(``/body/body.1/conv/Conv_output_0_DequantizeLinear_Output``), and the Q/DQ pairs double the
tensor count: on a 3k-parameter SR net those names weigh more than the 8-bit weights, so the
INT8 file came out larger than FP32 (104 %). Here internal tensors get short names, shape
annotations (re-derived by every runtime) go, and onnxsim's bookkeeping metadata, which
describes the FP32 graph's simplification and not this file, is dropped. Node names keep the
PyTorch module paths that reports use; graph inputs and outputs keep their names.
"""

from __future__ import annotations

import onnx

STALE_METADATA_PREFIXES = ("onnxsim.",)


def compact_artifact(model: onnx.ModelProto) -> onnx.ModelProto:
    """Short tensor names, no value_info, no stale simplifier metadata; returns a new model."""
    out = onnx.ModelProto()
    out.CopyFrom(model)
    graph = out.graph
    public = {v.name for v in graph.input} | {v.name for v in graph.output}
    renamed: dict[str, str] = {}

    def short(name: str) -> str:
        if not name or name in public:
            return name
        return renamed.setdefault(name, f"t{len(renamed)}")

    for tensor in graph.initializer:
        tensor.name = short(tensor.name)
    for node in graph.node:
        node.input[:] = [short(n) for n in node.input]
        node.output[:] = [short(n) for n in node.output]
        node.doc_string = ""
    del graph.value_info[:]
    kept = [p for p in out.metadata_props if not p.key.startswith(STALE_METADATA_PREFIXES)]
    del out.metadata_props[:]
    out.metadata_props.extend(kept)
    return out
