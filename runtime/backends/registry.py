"""The back ends: ONNX Runtime (always installed), OpenVINO and TensorRT (extras), and a registry.

Each class overrides only ``_load`` and ``_run``. Optional packages are imported inside
``_load``; a missing one raises ``MissingExtraError`` naming the extra that installs it.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from edgeconv.errors import BackendRefusal, EdgeConvError, MissingExtraError, UsageError, first_line
from edgeconv.runtime.backends.base import Backend, BackendOptions


class OnnxRuntimeBackend(Backend):
    """ONNX Runtime: CPU provider; CUDA and TensorRT providers first when this build has them."""

    name = "onnxruntime"

    def _load(self) -> None:
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.log_severity_level = 3  # errors only: ORT's graph warnings would break one-line output
        options.intra_op_num_threads = self.options.threads
        options.inter_op_num_threads = 1
        level = str(self.options.extra.get("graph_optimization", "all"))
        opt = ort.GraphOptimizationLevel
        levels = {"none": opt.ORT_DISABLE_ALL, "basic": opt.ORT_ENABLE_BASIC,
                  "extended": opt.ORT_ENABLE_EXTENDED, "all": opt.ORT_ENABLE_ALL}
        if level not in levels:
            raise UsageError("graph_optimization", f"unknown level {level!r}", f"expected {', '.join(levels)}")
        options.graph_optimization_level = levels[level]
        available = ort.get_available_providers()
        wanted = {"CPU": ["CPUExecutionProvider"], "CUDA": ["CUDAExecutionProvider", "CPUExecutionProvider"],
                  "TENSORRT": ["TensorrtExecutionProvider", "CUDAExecutionProvider", "CPUExecutionProvider"]}
        device = self.options.device.upper()
        if device not in wanted:
            raise UsageError(f"onnxruntime device {self.options.device!r}", "is not one ONNX Runtime knows",
                             "expected CPU, CUDA or TENSORRT")
        providers = [p for p in wanted[device] if p in available]
        if wanted[device][0] not in available:
            raise UsageError(f"onnxruntime device {self.options.device}", f"{wanted[device][0]} is not in this build",
                             f"available: {', '.join(available)}")
        try:
            self.session = ort.InferenceSession(str(self.path), options, providers=providers)
        except Exception as exc:  # noqa: BLE001 - ORT raises several types for bad models
            raise EdgeConvError(str(self.path), f"ONNX Runtime cannot load it: {first_line(exc)}") from exc
        self.input_name = self.session.get_inputs()[0].name

    def _run(self, x: np.ndarray) -> np.ndarray:
        return self.session.run(None, {self.input_name: x})[0]


OPENVINO_ARM_INT8_ENV = "EDGECONV_OPENVINO_ARM_INT8"


def refuse_arm_int8(path: Path, precision: str, device: str) -> None:
    """OpenVINO 2026.4's CPU plugin on ARM computes our QDQ INT8 graphs wrong or refuses them: refuse first.

    Measured under QEMU (Cortex-A72, Cortex-A76, Neoverse-N1 alike, bit-identical): U8S8 graphs fail to
    compile (``DepthToSpaceTransformation``: a per-channel zero-point shift meets the bicubic
    DepthToSpace); symmetric S8S8 graphs compile but give 12 dB against ONNX Runtime, with NaNs after
    the first INT8 conv + PReLU - while OpenVINO's FP32 and ONNX Runtime's INT8 agree with x86 to 2e-7
    and bit for bit on the same emulator (docs/ARM.md). ``EDGECONV_OPENVINO_ARM_INT8=1`` lets it run anyway
    (the validator's gates then judge it on a real board).
    """
    import os

    from edgeconv.runtime.cpu.features import cpu_flags

    if precision != "int8" or device != "CPU" or os.environ.get(OPENVINO_ARM_INT8_ENV) == "1":
        return
    if cpu_flags()[0] == "arm64":
        raise BackendRefusal(
            str(path), "OpenVINO's ARM CPU plugin computes INT8 QDQ graphs wrong (12 dB vs ONNX Runtime under "
            "emulation, NaNs after the first INT8 conv) or refuses them",
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


BACKENDS: dict[str, type[Backend]] = {"onnxruntime": OnnxRuntimeBackend, "openvino": OpenVinoBackend}


def create_backend(name: str, model: str | Path, options: BackendOptions | None = None) -> Backend:
    """Load ``model`` in the back end called ``name`` (``onnxruntime``, ``openvino``, ``tensorrt``)."""
    if name == "tensorrt":
        from edgeconv.runtime.backends.tensorrt import TensorRtBackend

        return TensorRtBackend(model, options)
    if name not in BACKENDS:
        raise UsageError("--backend", f"unknown back end {name!r}", "expected onnxruntime, openvino or tensorrt")
    return BACKENDS[name](model, options)


def backend_status() -> list[tuple[str, bool, str]]:
    """``(back end, usable, why)`` for every back end on this machine (``edgeconv doctor``)."""
    rows = []
    import onnxruntime as ort

    rows.append(("onnxruntime", True, f"{ort.__version__}; providers: {', '.join(ort.get_available_providers())}"))
    try:
        import openvino as ov

        devices = ov.Core().available_devices
        rows.append(("openvino", bool(devices), f"{ov.__version__}; devices: {', '.join(devices) or 'none'}"))
    except ImportError:
        rows.append(("openvino", False, "not installed: pip install 'edgeconv[openvino]'"))
    from edgeconv.runtime.backends.tensorrt import tensorrt_status

    rows.append(("tensorrt", *tensorrt_status()))
    return rows
