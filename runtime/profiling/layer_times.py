"""Per-layer time on each back end, named by PyTorch module path.

ONNX Runtime: its profiler's per-node kernel times, inside each ``model_run`` window. OpenVINO:
the infer request's performance counters (``PERF_COUNT``), executed nodes only. TensorRT: an
``IProfiler`` receiving each layer's time. Times are per run (mean over the profiled runs) and
are checked against the end-to-end latency measured in the same runs: what the layers do not
account for is reported as ``unattributed``.
"""

from __future__ import annotations

import json
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from edgeconv.runtime.backends.base import Backend
from edgeconv.runtime.profiling.layer_names import is_shift_layer, module_path


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
                "coverage": self.coverage, "shift_share": self.shift_share, "runs": self.runs, "source": self.source,
                "notes": self.notes, "by_module": [{"module": m, "ms": t} for m, t in self.by_module()],
                "layers": [layer.__dict__ for layer in self.layers]}


def _aggregate(times: dict[tuple[str, str], float], runs: int) -> list[LayerTime]:
    layers = [LayerTime(module_path(node), op, node, total / runs) for (node, op), total in times.items()]
    return sorted(layers, key=lambda layer: -layer.ms)


def ort_layer_times(
    model: str | Path, x: np.ndarray, threads: int = 0, runs: int = 20, warmup: int = 3
) -> LayerBreakdown:
    """ONNX Runtime's profiler: kernel time per node within each of the last ``runs`` ``model_run`` events."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    with tempfile.TemporaryDirectory(prefix="edgeconv-ortprof-") as tmp:
        options.enable_profiling = True
        options.profile_file_prefix = str(Path(tmp) / "ort")
        session = ort.InferenceSession(str(model), options, providers=["CPUExecutionProvider"])
        feed = {session.get_inputs()[0].name: x}
        for _ in range(warmup + runs):
            session.run(None, feed)
        events = json.loads(Path(session.end_profiling()).read_text())
    run_events = [e for e in events if e.get("cat") == "Session" and e.get("name") == "model_run"][-runs:]
    windows = [(e["ts"], e["ts"] + e["dur"]) for e in run_events]
    times: dict[tuple[str, str], float] = defaultdict(float)
    for e in events:
        if e.get("cat") != "Node" or not e.get("name", "").endswith("_kernel_time"):
            continue
        if any(lo <= e["ts"] <= hi for lo, hi in windows):
            times[(e["name"].removesuffix("_kernel_time"), e["args"].get("op_name", "?"))] += e["dur"] / 1e3
    end_to_end = float(np.mean([e["dur"] for e in run_events])) / 1e3
    return LayerBreakdown("onnxruntime", _aggregate(times, len(run_events)), end_to_end, len(run_events),
                          "ONNX Runtime profiler (kernel time per node, model_run as end to end)")


def openvino_layer_times(model: str | Path, x: np.ndarray, threads: int = 0, runs: int = 20,
                         warmup: int = 3) -> LayerBreakdown:
    """OpenVINO's performance counters per executed node, end to end timed around the same calls."""
    import openvino as ov

    core = ov.Core()
    config: dict[str, object] = {"PERF_COUNT": True, "INFERENCE_PRECISION_HINT": "f32"}
    if threads:
        config["INFERENCE_NUM_THREADS"] = threads
    request = core.compile_model(core.read_model(str(model)), "CPU", config).create_infer_request()
    for _ in range(warmup):
        request.infer({0: x})
    times: dict[tuple[str, str], float] = defaultdict(float)
    wall = []
    for _ in range(runs):
        start = time.perf_counter()
        request.infer({0: x})
        wall.append((time.perf_counter() - start) * 1e3)
        for info in request.get_profiling_info():
            if str(info.status).endswith("EXECUTED") and not str(info.status).endswith("NOT_RUN"):
                times[(info.node_name, info.node_type)] += info.real_time.total_seconds() * 1e3
    return LayerBreakdown("openvino", _aggregate(times, runs), float(np.mean(wall)), runs,
                          "OpenVINO PERF_COUNT (real time per executed node, wall clock around infer())")


def tensorrt_layer_times(runner: Backend, x: np.ndarray, runs: int = 20, warmup: int = 3) -> LayerBreakdown:
    """TensorRT's ``IProfiler`` on a ``TensorRtBackend`` (needs a GPU; not exercised on CPU-only machines)."""
    import tensorrt as trt

    times: dict[tuple[str, str], float] = defaultdict(float)

    class Profiler(trt.IProfiler):
        def __init__(self) -> None:
            trt.IProfiler.__init__(self)

        def report_layer_time(self, layer_name: str, ms: float) -> None:
            times[(layer_name, "trt")] += ms

    for _ in range(warmup):
        runner.run(x)
    runner.context.profiler = Profiler()  # type: ignore[attr-defined]
    wall = []
    for _ in range(runs):
        start = time.perf_counter()
        runner.run(x)
        wall.append((time.perf_counter() - start) * 1e3)
    return LayerBreakdown("tensorrt", _aggregate(times, runs), float(np.mean(wall)), runs, "TensorRT IProfiler")


def layer_times(backend: str, model: str | Path, x: np.ndarray, threads: int = 0, runs: int = 20) -> LayerBreakdown:
    """Per-layer breakdown on ``backend`` (``onnxruntime``, ``openvino``)."""
    if backend == "onnxruntime":
        return ort_layer_times(model, x, threads, runs)
    if backend == "openvino":
        return openvino_layer_times(model, x, threads, runs)
    raise ValueError(f"no per-layer breakdown for {backend!r} here")
