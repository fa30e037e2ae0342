"""OpenVINO (the ``openvino`` extra): CPU (GPU, NPU, AUTO passed through); threads, hints, model cache."""

from __future__ import annotations

import time
from collections import defaultdict
from pathlib import Path

import numpy as np

from edgeconv.errors import BackendRefusal, EdgeConvError, MissingExtraError, UsageError, first_line
from edgeconv.runtime.backends.base import Backend
from edgeconv.runtime.backends.layers import LayerBreakdown, aggregate

OPENVINO_ARM_INT8_ENV = "EDGECONV_OPENVINO_ARM_INT8"


def refuse_arm_int8(path: Path, precision: str, device: str) -> None:
    """OpenVINO 2026.4's CPU plugin on ARM computes our QDQ INT8 graphs wrong or refuses them: refuse first.

    Measured under QEMU (Cortex-A72, Cortex-A76, Neoverse-N1 alike, bit-identical): U8S8 graphs fail to
    compile (``DepthToSpaceTransformation``: a per-channel zero-point shift meets the bicubic
    DepthToSpace); symmetric S8S8 graphs compile but give 12 dB against ONNX Runtime, with NaNs after
    the first INT8 conv + PReLU; the current graph (one DepthToSpace, PReLU as Mul + Max) compiles and
    gives 5 dB - while OpenVINO's FP32 and ONNX Runtime's INT8 agree with x86 to 2e-7 and bit for bit
    on the same emulator (docs/ARM.md). ``EDGECONV_OPENVINO_ARM_INT8=1`` lets it run anyway
    (the validator's gates then judge it on a real board).
    """
    import os

    from edgeconv.runtime.cpu.features import cpu_flags

    if precision != "int8" or device != "CPU" or os.environ.get(OPENVINO_ARM_INT8_ENV) == "1":
        return
    if cpu_flags()[0] == "arm64":
        raise BackendRefusal(
            str(path), "OpenVINO's ARM CPU plugin computes INT8 QDQ graphs wrong (5-12 dB vs ONNX Runtime under "
            "emulation) or refuses them",
            f"use --backend onnxruntime on ARM (exact); {OPENVINO_ARM_INT8_ENV}=1 runs it anyway",
        )


class OpenVinoBackend(Backend):
    """OpenVINO: CPU (GPU, NPU, AUTO passed through); threads, performance hint, model cache."""

    name = "openvino"

    def _load(self) -> None:
        try:
            import openvino as ov
        except ImportError as exc:
            raise MissingExtraError("openvino", "openvino", "the OpenVINO back end") from exc
        core = ov.Core()
        device = self.options.device.upper()
        refuse_arm_int8(self.path, self.facts.precision, device)
        known = core.available_devices
        if device != "AUTO" and device not in known and device.split(".")[0] not in known:
            raise UsageError(f"openvino device {self.options.device}", "is not available here",
                             f"available: {', '.join(core.available_devices) or 'none'}")
        config: dict[str, object] = {"PERFORMANCE_HINT": str(self.options.extra.get("performance_hint", "LATENCY"))}
        if self.options.threads and device == "CPU":
            config["INFERENCE_NUM_THREADS"] = self.options.threads
        if device == "CPU":
            # OpenVINO computes in bf16 by default on CPUs with AVX-512 BF16 / AMX (this one: 1e-2 off
            # PyTorch on the default model); f32 unless the user asks for bf16 / f16.
            config["INFERENCE_PRECISION_HINT"] = self.options.precision or "f32"
        if self.options.cache_dir is not None:
            config["CACHE_DIR"] = str(self.options.cache_dir)
        try:
            self.compiled = core.compile_model(core.read_model(str(self.path)), device, config)
        except Exception as exc:  # noqa: BLE001
            raise EdgeConvError(str(self.path), f"OpenVINO cannot compile it for {device}: {first_line(exc)}") from exc
        self.request = self.compiled.create_infer_request()
        self.output = self.compiled.output(0)

    def _run(self, x: np.ndarray) -> np.ndarray:
        return np.asarray(self.request.infer({0: x})[self.output], dtype=np.float32)

    @classmethod
    def status(cls) -> tuple[bool, str]:
        """Usable when installed and it sees a device; its version and devices."""
        try:
            import openvino as ov
        except ImportError:
            return False, "not installed: pip install 'edgeconv[openvino]'"
        devices = ov.Core().available_devices
        return bool(devices), f"{ov.__version__}; devices: {', '.join(devices) or 'none'}"

    def layer_times(self, x: np.ndarray, runs: int = 20, warmup: int = 3) -> LayerBreakdown:
        """OpenVINO's performance counters per executed node, end to end timed around the same calls."""
        import openvino as ov

        core = ov.Core()
        config: dict[str, object] = {"PERF_COUNT": True, "INFERENCE_PRECISION_HINT": "f32"}
        if self.options.threads:
            config["INFERENCE_NUM_THREADS"] = self.options.threads
        request = core.compile_model(core.read_model(str(self.path)), "CPU", config).create_infer_request()
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
        return LayerBreakdown("openvino", aggregate(times, runs), float(np.mean(wall)), runs,
                              "OpenVINO PERF_COUNT (real time per executed node, wall clock around infer())")


