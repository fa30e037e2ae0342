"""One call from a trained model to a clean ONNX file: rewrite, export, simplify, audit.

The lowering is the one measured fastest for the target back end (``edgeconv.export.deploy.lowering``)
unless given explicitly; a graph that fails the audit is never written.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import onnx
import torch
from torch import nn

from edgeconv.dynamic import Lowering
from edgeconv.errors import EdgeConvError
from edgeconv.export.deploy.lowering import LoweringChoice, choose_lowering
from edgeconv.export.deploy.rewrite import to_deploy
from edgeconv.export.graph.activations import prelu_as_max
from edgeconv.export.graph.audit import GraphAudit, audit_graph
from edgeconv.export.graph.simplify import simplify_onnx
from edgeconv.export.graph.trace import DEFAULT_OPSET, export_onnx
from edgeconv.runtime.atomic_write import write_bytes_atomic


@dataclass
class ExportResult:
    """What ``export_deployed`` produced and how."""

    model: onnx.ModelProto
    lowering: Lowering
    simplifier: str
    audit: GraphAudit
    lowering_source: str = "given"
    prelu: str = "prelu"  # "max": PReLU written as Mul + Max (the ONNX Runtime export; activations.py)


def export_deployed(
    model: nn.Module,
    example: torch.Tensor,
    path: str | Path | None = None,
    target_backend: str | None = None,
    lowering: Lowering | None = None,
    simplify: bool = True,
    opset: int = DEFAULT_OPSET,
    model_name: str | None = None,
) -> ExportResult:
    """Rewrite ``model`` to its deploy form and export it; write ``path`` only if the audit passes.

    Args:
        model: a model built from edgeconv ops (left untouched).
        example: an NCHW float input; batch, H and W stay dynamic in the graph.
        path: where to write the ``.onnx`` file (atomically), or None.
        target_backend: ``onnxruntime``, ``openvino`` or ``tensorrt``: picks the lowering (and, for
            ONNX Runtime, PReLU as ``Mul`` + ``Max``).
        lowering: overrides the back end's choice.
        model_name: the registry name, to find this CPU's measured choice (``edgeconv tune``).
    """
    choice = LoweringChoice(lowering, "given") if lowering else choose_lowering(target_backend, model_name)
    chosen = choice.lowering
    proto = export_onnx(to_deploy(model, chosen), example, opset=opset)
    tool = "none"
    if simplify:
        proto, tool = simplify_onnx(proto)
    prelu = "prelu"
    if target_backend == "onnxruntime":
        proto, rewritten = prelu_as_max(proto)
        prelu = "max" if rewritten else prelu
    audit = audit_graph(proto)
    if not audit:
        raise EdgeConvError(
            str(path or "exported graph"),
            f"graph audit failed: {audit.violations[0]}",
            "a dynamic op was exported as a banned op; give it a static twin",
        )
    if path is not None:
        write_bytes_atomic(Path(path), proto.SerializeToString())
    return ExportResult(proto, chosen, tool, audit, choice.source, prelu)
