"""ONNX Runtime (always installed): CPU provider; CUDA and TensorRT providers first when this build has them."""

from __future__ import annotations

import json
import tempfile
from collections import defaultdict
from pathlib import Path

import numpy as np

from edgeconv.errors import UsageError, first_line
from edgeconv.runtime.backends.base import Backend
from edgeconv.runtime.backends.layers import LayerBreakdown, aggregate
from edgeconv.runtime.choices import GraphOptimization, InferenceDevice


class OnnxRuntimeBackend(Backend):
    """ONNX Runtime: CPU provider; CUDA and TensorRT providers first when this build has them."""

    name = "onnxruntime"
    prelu_form = "max"  # no fused PReLU kernel: Mul + Max runs faster (``forms``)

    def _load(self) -> None:
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.log_severity_level = 3  # errors only: ORT's graph warnings would break one-line output
        options.intra_op_num_threads = self.options.threads
        options.inter_op_num_threads = 1
        opt, level = ort.GraphOptimizationLevel, GraphOptimization
        levels = {level.NONE: opt.ORT_DISABLE_ALL, level.BASIC: opt.ORT_ENABLE_BASIC,
                  level.EXTENDED: opt.ORT_ENABLE_EXTENDED, level.ALL: opt.ORT_ENABLE_ALL}
        options.graph_optimization_level = levels[self.options.graph_optimization]
        available = ort.get_available_providers()
        cuda = ["CUDAExecutionProvider", "CPUExecutionProvider"]
        wanted = {InferenceDevice.CPU: ["CPUExecutionProvider"], InferenceDevice.GPU: cuda, InferenceDevice.CUDA: cuda,
                  InferenceDevice.TENSORRT: ["TensorrtExecutionProvider", *cuda]}
        device = self.options.device
        if device not in wanted:
            raise UsageError(f"onnxruntime device {str(device)!r}", "is not one ONNX Runtime knows",
                             "expected CPU, GPU (= CUDA) or TENSORRT")
        providers = [p for p in wanted[device] if p in available]
        if wanted[device][0] not in available:
            raise UsageError(f"onnxruntime device {self.options.device}", f"{wanted[device][0]} is not in this build",
                             f"available: {', '.join(available)}")
        try:
            self.session = ort.InferenceSession(str(self.path), options, providers=providers)
        except Exception as exc:  # noqa: BLE001 - ORT raises several types for bad models
            raise UsageError(str(self.path), f"ONNX Runtime cannot load it: {first_line(exc)}") from exc
        self.input_name = self.session.get_inputs()[0].name

    def _run(self, x: np.ndarray) -> np.ndarray:
        return self.session.run(None, {self.input_name: x})[0]

    @classmethod
    def status(cls) -> tuple[bool, str]:
        """Always usable (a base dependency); its version and execution providers."""
        import onnxruntime as ort

        return True, f"{ort.__version__}; providers: {', '.join(ort.get_available_providers())}"

    def layer_times(self, x: np.ndarray, runs: int = 20, warmup: int = 3) -> LayerBreakdown:
        """ONNX Runtime's profiler: kernel time per node within each of the last ``runs`` ``model_run`` events;
        end to end is the wall clock around the same ``session.run`` calls (what the latency table times)."""
        import time

        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = self.options.threads
        options.inter_op_num_threads = 1
        options.graph_optimization_level = self.session.get_session_options().graph_optimization_level
        with tempfile.TemporaryDirectory(prefix="edgeconv-ortprof-") as tmp:
            options.enable_profiling = True
            options.profile_file_prefix = str(Path(tmp) / "ort")
            session = ort.InferenceSession(str(self.path), options, providers=["CPUExecutionProvider"])
            feed = {session.get_inputs()[0].name: x}
            wall = []
            for i in range(warmup + runs):
                start = time.perf_counter()
                session.run(None, feed)
                if i >= warmup:
                    wall.append((time.perf_counter() - start) * 1e3)
            events = json.loads(Path(session.end_profiling()).read_text())
        run_events = [e for e in events if e.get("cat") == "Session" and e.get("name") == "model_run"][-runs:]
        windows = [(e["ts"], e["ts"] + e["dur"]) for e in run_events]
        times: dict[tuple[str, str], float] = defaultdict(float)
        for e in events:
            if e.get("cat") != "Node" or not e.get("name", "").endswith("_kernel_time"):
                continue
            if any(lo <= e["ts"] <= hi for lo, hi in windows):
                times[(e["name"].removesuffix("_kernel_time"), e["args"].get("op_name", "?"))] += e["dur"] / 1e3
        model_run = float(np.mean([e["dur"] for e in run_events])) / 1e3
        return LayerBreakdown("onnxruntime", aggregate(times, len(run_events)), float(np.mean(wall)), len(run_events),
                              "ONNX Runtime profiler (kernel time per node), wall clock around session.run()",
                              notes=[f"ONNX Runtime's own model_run: {model_run:.2f} ms per run"])
