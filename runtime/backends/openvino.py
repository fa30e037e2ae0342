"""OpenVINO (the ``openvino`` extra): CPU (GPU, NPU, AUTO passed through); threads, hints, model cache."""

from __future__ import annotations

import time
from collections import defaultdict
from pathlib import Path

import numpy as np

from edgeconv.errors import BackendRefusal, EdgeConvError, MissingExtraError, UsageError, first_line
from edgeconv.runtime.backends.base import Backend
from edgeconv.runtime.backends.layers import LayerBreakdown, aggregate
from edgeconv.runtime.choices import InferencePrecision

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

    Args:
        path: the model (named in the error).
        precision: the model's precision (``ModelFacts.precision``); only ``int8`` is refused.
        device: the OpenVINO device; only ``CPU`` is refused.

    Raises:
        BackendRefusal: an INT8 model on OpenVINO's CPU plugin on an arm64 CPU, unless the variable is set.
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


def openvino_precision(precision: InferencePrecision | None) -> str:
    """OpenVINO's ``INFERENCE_PRECISION_HINT`` for a requested precision.

    INT8 is not a hint: it comes from the model's QDQ nodes.

    Args:
        precision: fp32, fp16, bf16, or None (f32).

    Returns:
        ``"f32"``, ``"f16"`` or ``"bf16"``.

    Raises:
        UsageError: any other precision (int8).
    """
    hints = {None: "f32", InferencePrecision.FP32: "f32", InferencePrecision.FP16: "f16",
             InferencePrecision.BF16: "bf16"}
    if precision not in hints:
        raise UsageError(f"openvino precision {precision}", "is not an inference precision OpenVINO computes in",
                         "expected fp32, fp16 or bf16; INT8 comes from a quantized model")
    return hints[precision]


class OpenVinoBackend(Backend):
    """OpenVINO: CPU (GPU, NPU, AUTO passed through); threads, performance hint, model cache."""

    name = "openvino"

    def _load(self) -> None:
        try:
            import openvino as ov
        except ImportError as exc:
            raise MissingExtraError("openvino", "openvino", "the OpenVINO back end") from exc
        core = ov.Core()
        device = str(self.options.device)
        refuse_arm_int8(self.path, self.facts.precision, device)
        known = core.available_devices
        if device != "AUTO" and device not in {name.split(".")[0] for name in known}:  # GPU.0, GPU.1 are GPUs
            raise UsageError(f"openvino device {device}", "is not available here",
                             f"available: {', '.join(core.available_devices) or 'none'}")
        config = self._config()  # a precision OpenVINO does not compute in is the user's error, not a compile one
        try:
            self.compiled = core.compile_model(core.read_model(str(self.path)), device, config)
        except Exception as exc:  # noqa: BLE001
            raise EdgeConvError(str(self.path), f"OpenVINO cannot compile it for {device}: {first_line(exc)}") from exc
        self.request = self.compiled.create_infer_request()
        self.output = self.compiled.output(0)
        self.input_name = min(self.compiled.input(0).get_names(), default=self.input_name)  # the ONNX input's name

    def _config(self) -> dict[str, object]:
        """The compile configuration of this back end's options (``layer_times`` adds ``PERF_COUNT`` to it)."""
        device = str(self.options.device)
        config: dict[str, object] = {"PERFORMANCE_HINT": str(self.options.performance_hint)}
        if self.options.threads and device == "CPU":
            config["INFERENCE_NUM_THREADS"] = self.options.threads
        if device == "CPU":
            # OpenVINO computes in bf16 by default on CPUs with AVX-512 BF16 / AMX (this one: 1e-2 off
            # PyTorch on the default model); f32 unless the user asks for bf16 / f16.
            config["INFERENCE_PRECISION_HINT"] = openvino_precision(self.options.precision)
        if self.options.cache_dir is not None:
            config["CACHE_DIR"] = str(self.options.cache_dir)
        return config

    def _run(self, x: np.ndarray) -> np.ndarray:
        y = np.asarray(self.request.infer({0: x})[self.output])
        return y if y.dtype in (np.float32, np.uint8) else y.astype(np.float32)  # uint8: an 8-bit output form

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
        """OpenVINO's performance counters per executed node, end to end timed around the same calls.

        The model is compiled as this back end compiles it (device, threads, hint, precision) plus
        ``PERF_COUNT``. OpenVINO's CPU counters are running means since compile (``PerfCount::avg``: total /
        count, whole microseconds), first inference included: they are read after the warm-up and after the
        timed runs, and each node's time per timed run is the difference of the totals.
        """
        import openvino as ov

        core = ov.Core()
        compiled = core.compile_model(core.read_model(str(self.path)), str(self.options.device),
                                      {**self._config(), "PERF_COUNT": True})
        request = compiled.create_infer_request()
        for _ in range(warmup):
            request.infer({0: x})
        before = _node_means_ms(request)
        wall = []
        for _ in range(runs):
            start = time.perf_counter()
            request.infer({0: x})
            wall.append((time.perf_counter() - start) * 1e3)
        after = _node_means_ms(request)
        totals = {node: mean * (warmup + runs) - before.get(node, 0.0) * warmup for node, mean in after.items()}
        layers = aggregate(totals, runs, _original_names(compiled))
        return LayerBreakdown("openvino", layers, float(np.mean(wall)), runs,
                              "OpenVINO PERF_COUNT (real time per executed node over the timed runs, "
                              "wall clock around infer())")


def _original_names(compiled: object) -> dict[str, list[str]]:
    """``{executed node: the ONNX nodes it was fused from}`` (the runtime model's ``originalLayersNames``), so a
    node OpenVINO made (``Subtract_34172``, a dequantization folded into a PReLU) is named by its module; empty
    where the plugin does not tell."""
    try:
        ops = compiled.get_runtime_model().get_ordered_ops()  # type: ignore[attr-defined]
    except (AttributeError, RuntimeError):
        return {}
    names = {}
    for op in ops:
        info = op.get_rt_info()
        if "originalLayersNames" in info:
            names[op.get_friendly_name()] = [n for n in str(info["originalLayersNames"].astype(str)).split(",") if n]
    return names


def _node_means_ms(request: object) -> dict[tuple[str, str], float]:
    """``{(node, type): mean ms per inference since compile}`` of the executed nodes (OpenVINO's counters)."""
    means: dict[tuple[str, str], float] = defaultdict(float)
    for info in request.get_profiling_info():  # type: ignore[attr-defined]
        if str(info.status).endswith("EXECUTED") and not str(info.status).endswith("NOT_RUN"):
            means[(info.node_name, info.node_type)] += info.real_time.total_seconds() * 1e3
    return means


# --- the compile probe the quantizer runs on each candidate artifact (edgeconv.export.quantization) ---

_COMPILE_AND_RUN_ONCE = """
import sys, numpy as np, openvino as ov
core = ov.Core()
compiled = core.compile_model(core.read_model(sys.argv[1]), "CPU", {"INFERENCE_PRECISION_HINT": "f32"})
compiled(np.random.default_rng(0).random((1, 3, 64, 64), dtype=np.float32))
"""


def openvino_installed() -> bool:
    """Whether the ``openvino`` extra is importable here (found without importing it).

    Returns:
        True when ``import openvino`` would find the package.
    """
    import importlib.util

    return importlib.util.find_spec("openvino") is not None


def compile_refusal(model: bytes, timeout_s: float = 300) -> str | None:
    """Why OpenVINO (CPU plugin, f32 hint) cannot compile and run a serialized ONNX model, or None when it can.

    Compiled and run once, in a child process: on some QDQ graphs OpenVINO 2026.4 raises "No suitable
    implementations" on AVX-512, *crashes* (SIGSEGV) when compiling with oneDNN capped at AVX2, or compiles
    and then fails on the first inference ("GroupConvolution ... not initialized"). A caller that needs the
    answer twice keeps it: each call compiles again.

    Args:
        model: the ONNX model's bytes (``ModelProto.SerializeToString()``), NCHW float32 input.
        timeout_s: give up (and say so) after this long.

    Returns:
        None when it compiles and runs a 64 x 64 input (or OpenVINO is not installed), else one short line.
    """
    import subprocess
    import sys
    import tempfile

    if not openvino_installed():
        return None
    with tempfile.TemporaryDirectory(prefix="edgeconv-ov-") as tmp:
        path = Path(tmp) / "model.onnx"
        path.write_bytes(model)
        try:
            done = subprocess.run([sys.executable, "-c", _COMPILE_AND_RUN_ONCE, str(path)], capture_output=True,
                                  text=True, timeout=timeout_s)
        except subprocess.TimeoutExpired:
            return f"compile did not finish in {timeout_s:g} s"
    if done.returncode == 0:
        return None
    if done.returncode < 0:
        return f"it crashed (signal {-done.returncode})"
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    return lines[-1][:120] if lines else f"exit code {done.returncode}"
