"""Per-layer times as every back end reports them, named by PyTorch module path.

Each back end measures its own (``Backend.layer_times``): ONNX Runtime's profiler per node inside
each ``model_run``, OpenVINO's performance counters, TensorRT's ``IProfiler``, on the model compiled as the
back end compiles it. Times are per run (mean over the profiled runs, warm-up excluded) and are checked
against the end-to-end latency of the same runs, the wall clock around each call: nodes run one after
another, so the layers add up to at most that; the rest (``outside_ms``) is time outside any layer - input
and output copies, the Python binding, the runtime's own bookkeeping between nodes.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from edgeconv.runtime.backends.layer_names import is_shift_layer, layer_label


@dataclass
class LayerTime:
    """One layer's mean time per run (ms)."""

    module: str
    op_type: str
    node: str
    ms: float


@dataclass
class LayerBreakdown:
    """Per-layer times of one model on one back end, and how well they add up."""

    backend: str
    layers: list[LayerTime]
    end_to_end_ms: float
    runs: int
    source: str
    notes: list[str] = field(default_factory=list)

    @property
    def layers_ms(self) -> float:
        return sum(layer.ms for layer in self.layers)

    @property
    def outside_ms(self) -> float:
        """End-to-end time no layer accounts for (input/output copies, the binding, the runtime between nodes)."""
        return self.end_to_end_ms - self.layers_ms

    @property
    def coverage(self) -> float:
        """Sum of layer times over end-to-end latency (1.0: every millisecond attributed)."""
        return self.layers_ms / self.end_to_end_ms if self.end_to_end_ms else float("nan")

    @property
    def shift_share(self) -> float:
        """Share of layer time in shift / slice / pad / concat layers."""
        total = self.layers_ms
        shift = sum(layer.ms for layer in self.layers if is_shift_layer(layer.module, layer.op_type))
        return shift / total if total else float("nan")

    def by_module(self) -> list[tuple[str, float]]:
        """``(module, ms)`` summed over the nodes of each module, largest first."""
        totals: dict[str, float] = defaultdict(float)
        for layer in self.layers:
            totals[layer.module] += layer.ms
        return sorted(totals.items(), key=lambda kv: -kv[1])

    def as_json(self) -> dict:
        return {"backend": self.backend, "end_to_end_ms": self.end_to_end_ms, "layers_ms": self.layers_ms,
                "outside_ms": self.outside_ms, "coverage": self.coverage, "shift_share": self.shift_share,
                "runs": self.runs, "source": self.source,
                "notes": self.notes, "by_module": [{"module": m, "ms": t} for m, t in self.by_module()],
                "layers": [layer.__dict__ for layer in self.layers]}


def aggregate(times: dict[tuple[str, str], float], runs: int,
              originals: Mapping[str, Sequence[str]] | None = None) -> list[LayerTime]:
    """Per-node totals as mean times per run, named by module path (``layer_label``: a back end's own data
    movement is ``runtime glue``, never its generated node name).

    Args:
        times: ``{(node name, op type): total ms over every profiled run}``.
        runs: how many runs the totals cover (>= 1).
        originals: ``{node name: the ONNX nodes it was fused from}`` where the back end tells (OpenVINO).

    Returns:
        One ``LayerTime`` per node, slowest first.
    """
    originals = originals or {}
    layers = [LayerTime(layer_label(node, op, originals.get(node, ())), op, node, total / runs)
              for (node, op), total in times.items()]
    return sorted(layers, key=lambda layer: -layer.ms)


