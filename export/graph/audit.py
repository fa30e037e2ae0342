"""Graph audit: what ops an exported model uses, and whether any is banned on edge back ends.

Banned: GridSample (opset >= 16 only, slow on CPUs, 4-D only in OpenVINO), ScatterND (from
in-place slice writes; unsupported in older TensorRT), ATen fallbacks and any op outside the
default ONNX domain (custom ops no back end here can run).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import onnx

BANNED_OPS = frozenset({"GridSample", "ScatterND", "ScatterElements", "ATen"})


@dataclass
class GraphAudit:
    """Op histogram of a graph and the nodes that break the edge contract."""

    histogram: Counter = field(default_factory=Counter)
    violations: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return not self.violations


def audit_graph(model: onnx.ModelProto) -> GraphAudit:
    """Count ops (subgraphs included) and list banned or custom-domain nodes by name."""
    audit = GraphAudit()

    def visit(graph: onnx.GraphProto) -> None:
        for node in graph.node:
            audit.histogram[node.op_type] += 1
            if node.domain not in ("", "ai.onnx"):
                audit.violations.append(f"{node.name or node.op_type}: custom op {node.domain}::{node.op_type}")
            elif node.op_type in BANNED_OPS:
                audit.violations.append(f"{node.name or node.op_type}: banned op {node.op_type}")
            for attr in node.attribute:
                if attr.type == onnx.AttributeProto.GRAPH:
                    visit(attr.g)
                for sub in attr.graphs:
                    visit(sub)

    visit(model.graph)
    return audit
