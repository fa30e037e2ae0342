"""The one interface every back end answers: ``run(x) -> y`` on NCHW float32 arrays, checked and timed.

A small base owns the shared work - loading the model's facts, checking inputs against the
model's contract, timing calls - and each back end overrides only its hooks (``_load``,
``_run``), the way Polygraphy's ``BaseRunner`` does. The validator and the profiler never ask
which back end they hold.
"""

from __future__ import annotations

import math
import time
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from edgeconv.errors import EdgeConvError, UsageError, first_line
from edgeconv.runtime.choices import (
    GraphOptimization,
    InferenceDevice,
    InferencePrecision,
    PerformanceHint,
    parse_choice,
)
from edgeconv.runtime.model_facts import ModelFacts

if TYPE_CHECKING:
    from edgeconv.runtime.backends.layers import LayerBreakdown


@dataclass(frozen=True)
class TensorRtProfile:
    """The input sizes a TensorRT engine is built for: H and W from ``min_hw`` to ``max_hw``, fastest at ``opt_hw``,
    rounded to ``multiple``, ``batch`` images a call (``tensorrt.optimization_profile`` checks and rounds them)."""

    opt_hw: tuple[int, int] = (360, 640)
    max_hw: tuple[int, int] = (1080, 1920)
    min_hw: tuple[int, int] = (8, 8)
    batch: int = 1
    multiple: int = 1


@dataclass
class BackendOptions:
    """Knobs every back end understands (each ignores what does not apply to it).

    Plain strings are accepted for the enum fields (``device="gpu"``, ``precision="fp16"``) and become members;
    an unknown one is a ``UsageError`` naming the choices.
    """

    threads: int = 0  # 0: the back end's default
    device: InferenceDevice = InferenceDevice.CPU  # OpenVINO device / ONNX Runtime provider family (CUDA = GPU)
    precision: InferencePrecision | None = None  # OpenVINO precision hint (None: f32) / TensorRT engine (None: model's)
    cache_dir: Path | None = None  # OpenVINO compiled-model cache, TensorRT engine cache
    graph_optimization: GraphOptimization = GraphOptimization.ALL  # ONNX Runtime
    performance_hint: PerformanceHint = PerformanceHint.LATENCY  # OpenVINO
    trt_profile: TensorRtProfile | None = None  # TensorRT; None: ``TensorRtProfile()``
    byte_output: bool = False  # an 8-bit output form may load (upscale's own loader, ``sr_runner.load_byte_form``)

    def __post_init__(self) -> None:
        self.device = parse_choice(InferenceDevice, self.device, "--device", ignore_case=True)
        if self.precision is not None:
            self.precision = parse_choice(InferencePrecision, self.precision, "--precision", ignore_case=True)
        self.graph_optimization = parse_choice(GraphOptimization, self.graph_optimization, "graph_optimization",
                                               ignore_case=True)
        self.performance_hint = parse_choice(PerformanceHint, self.performance_hint, "performance_hint",
                                             ignore_case=True)


class Backend(ABC):
    """A model loaded in one runtime. Subclasses implement ``_load`` and ``_run``, and set ``input_name`` to the
    model's input (it names the input in errors)."""

    name = "backend"
    input_name = "input"  # replaced by each back end's ``_load`` with the model's own input name
    load_ms = math.nan  # the file to a runnable model: its facts read, then ``_load`` (benchmark_app: read + compile)
    first_inference_ms = math.nan  # the first inference after loading (allocations, kernel choice, JIT)
    first_call_ms = math.nan  # the first call of the last ``time_runs``: cold at that input shape when it is new
    prelu_form = "prelu"  # the PReLU form it runs fastest (``forms.PRELU_FORMS``): kept, fused into the conv

    def __init__(self, model: str | Path, options: BackendOptions | None = None) -> None:
        self.path = Path(model)
        self.options = options or BackendOptions()
        if not self.path.is_file():
            raise UsageError(str(self.path), "no such model file")
        start = time.perf_counter()
        self.facts = self._read_facts()
        if not self.options.byte_output:
            from edgeconv.runtime.model_facts import refuse_byte_output_form

            refuse_byte_output_form(self.path, self.facts)
        if self.facts.precision == "int8":
            from edgeconv.runtime.cpu.int8_targets import warn_cpu_mismatch

            warn_cpu_mismatch(str(self.path), self.facts.extra.get("quantization"))
        self._load()
        self.load_ms = (time.perf_counter() - start) * 1e3
        if self.options.device == InferenceDevice.CPU:  # the forms were timed on CPUs
            from edgeconv.runtime.backends.forms import note_form

            note_form(self.path, self.name, self.facts.extra.get("prelu"), self.prelu_form)

    def _read_facts(self) -> ModelFacts:
        from edgeconv.runtime.model_facts import read_model_facts

        return read_model_facts(self.path)

    @abstractmethod
    def _load(self) -> None:
        """Compile or open the model; raise ``EdgeConvError`` with the reason if it cannot."""

    @abstractmethod
    def _run(self, x: np.ndarray) -> np.ndarray:
        """One inference on a checked (N, 3, H, W) float32 array."""

    @classmethod
    def status(cls) -> tuple[bool, str]:
        """Whether this back end can run here, for ``edgeconv doctor`` and ``--backend all``.

        Returns:
            ``(usable here, why)``; each back end answers (the base: not usable).
        """
        return False, "no status check"

    def layer_times(self, x: np.ndarray, runs: int = 20, warmup: int = 3) -> LayerBreakdown:
        """Mean per-layer time over ``runs`` calls on ``x``, named by PyTorch module path.

        Args:
            x: (N, C, H, W) float32 input, as for ``run``.
            runs: profiled calls.
            warmup: untimed calls first.

        Returns:
            ``LayerBreakdown``: per-layer ms per run and the end-to-end ms of the same runs.

        Raises:
            UsageError: this back end cannot report per-layer times.
        """
        raise UsageError(f"{self.label} layer times", "this back end cannot report per-layer times")

    @property
    def label(self) -> str:
        """``name`` plus the device when it is not the CPU (``openvino:GPU``)."""
        return self.name if self.options.device == InferenceDevice.CPU else f"{self.name}:{self.options.device}"

    def check_input(self, x: np.ndarray) -> np.ndarray:
        """Check ``x`` against the model's input contract.

        Args:
            x: (N, C, H, W) array with the model's C (3 for RGB models, 1 for a Y-plane model), N, H, W >= 1,
                any float dtype; values as the model expects (RGB or luma in [0, 1], before its own normalisation).

        Returns:
            ``x`` as C-contiguous float32.

        Raises:
            UsageError: not a numpy array, a wrong rank or channel count, an empty dimension or a non-float dtype;
                the message names the model's input.
        """
        subject, channels = f"Input tensor: {self.input_name}", self.facts.input_channels
        if not isinstance(x, np.ndarray):
            raise UsageError(subject, f"is a {type(x).__name__}, not a numpy array")
        if x.ndim != 4 or x.shape[1] != channels:
            raise UsageError(subject, f"received incompatible shape {tuple(x.shape)}",
                             f"expected (N, {channels}, H, W)")
        if min(x.shape[0], x.shape[2], x.shape[3]) < 1:
            raise UsageError(subject, f"has an empty dimension {tuple(x.shape)}", "N, H and W must be >= 1")
        if x.dtype != np.float32:
            if not np.issubdtype(x.dtype, np.floating):
                raise UsageError(subject, f"has dtype {x.dtype}", "expected float32 (image / 255, normalised)")
            x = x.astype(np.float32)
        return np.ascontiguousarray(x)

    def run(self, x: np.ndarray) -> np.ndarray:
        """Checked inference.

        Args:
            x: (N, C, H, W) float32 in [0, 1] (``check_input``).

        Returns:
            The model's first output, NCHW float32: (N, C, s * H, s * W) for an SR model of scale s, values about [0, 1]
            (not clipped).

        Raises:
            UsageError: a bad input (``check_input``).
            EdgeConvError: the runtime failed; its first line, naming the model and the input shape.
        """
        x = self.check_input(x)
        try:
            return self._call(x)
        except EdgeConvError:
            raise
        except Exception as exc:  # noqa: BLE001 - a runtime's own error becomes one line naming the model
            raise EdgeConvError(
                str(self.path), f"{self.label} failed on input {tuple(x.shape)}: {first_line(exc)}",
                "the model may expect another input (channels, size multiple) than (N, 3, H, W) RGB",
            ) from exc

    def time_runs(self, x: np.ndarray, runs: int, warmup: int = 3, duration_s: float | None = None) -> list[float]:
        """Latency samples after ``warmup`` untimed calls; the first call's time is kept in ``first_call_ms``.

        Args:
            x: (N, C, H, W) float32 input (``check_input``).
            runs: timed calls, when ``duration_s`` is None.
            warmup: untimed calls first.
            duration_s: time calls for this many seconds instead of counting them.

        Returns:
            One wall-clock latency (ms) per timed call, in call order.
        """
        x = self.check_input(x)

        def timed() -> float:
            start = time.perf_counter()
            self._call(x)
            return (time.perf_counter() - start) * 1e3

        for i in range(warmup):
            elapsed = timed()
            if i == 0:  # cold at this shape when it is new (``first_call_ms``)
                self.first_call_ms = elapsed
        samples: list[float] = []
        end = time.perf_counter() + duration_s if duration_s is not None else math.inf
        while (len(samples) < runs) if duration_s is None else (time.perf_counter() < end):
            samples.append(timed())
            if warmup == 0 and len(samples) == 1:
                self.first_call_ms = samples[0]
        return samples

    def _call(self, x: np.ndarray) -> np.ndarray:
        """``_run``, timing the first inference after loading (``first_inference_ms``)."""
        if not math.isnan(self.first_inference_ms):
            return self._run(x)
        start = time.perf_counter()
        out = self._run(x)
        self.first_inference_ms = (time.perf_counter() - start) * 1e3
        return out
