"""TensorRT (10+): an engine built from the ONNX file, cached, run with device buffers.

Engines are tied to the TensorRT version and the GPU they were built on (NVIDIA/TensorRT #292,
#2105), so the cache key is a hash of the model bytes, the TensorRT version, the GPU name, the
precision and the optimisation profile: any difference builds a new engine. INT8 comes from the
QDQ nodes in the model (explicit quantization), so no TensorRT calibrator is involved.

Needs ``pip install 'edgeconv[tensorrt]'`` (tensorrt, cuda-python) and an NVIDIA GPU. The pure
parts - cache keys and profile shapes - are plain functions, tested on any machine.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from edgeconv.errors import EdgeConvError, MissingExtraError, UsageError
from edgeconv.runtime.backends.base import Backend, TensorRtProfile
from edgeconv.runtime.backends.layers import LayerBreakdown, aggregate

TRT_PRECISIONS = ("fp32", "fp16", "int8")


@dataclass(frozen=True)
class ShapeProfile:
    """TensorRT optimisation profile for an NCHW input with dynamic H and W."""

    min_shape: tuple[int, int, int, int]
    opt_shape: tuple[int, int, int, int]
    max_shape: tuple[int, int, int, int]


def optimization_profile(
    opt_hw: tuple[int, int] = (360, 640), max_hw: tuple[int, int] = (1080, 1920), min_hw: tuple[int, int] = (8, 8),
    batch: int = 1, multiple: int = 1,
) -> ShapeProfile:
    """TensorRT profile shapes for an NCHW input with dynamic H and W.

    Args:
        opt_hw: the (H, W) the engine is tuned for.
        max_hw: the largest (H, W) it accepts.
        min_hw: the smallest (H, W) it accepts.
        batch: images per call.
        multiple: round sizes to this (min down, opt and max up).

    Returns:
        ``ShapeProfile`` of (batch, 3, H, W) shapes.

    Raises:
        UsageError: after rounding, not min <= opt <= max in both H and W.
    """

    def rounded(hw: tuple[int, int], up: bool) -> tuple[int, int]:
        step = max(1, multiple)
        return tuple(((v + step - 1) // step if up else max(1, v // step)) * step for v in hw)  # type: ignore[return-value]

    lo, opt, hi = rounded(min_hw, False), rounded(opt_hw, True), rounded(max_hw, True)
    if not (lo[0] <= opt[0] <= hi[0] and lo[1] <= opt[1] <= hi[1]):
        raise UsageError("TensorRT profile", f"needs min <= opt <= max, got {lo}, {opt}, {hi}")
    return ShapeProfile((batch, 3, *lo), (batch, 3, *opt), (batch, 3, *hi))


def engine_cache_key(model_bytes: bytes, trt_version: str, gpu_name: str, precision: str, profile: ShapeProfile) -> str:
    """A file-name-safe key that changes when the model, TensorRT, the GPU, precision or profile change.

    Args:
        model_bytes: the ONNX file's bytes.
        trt_version: ``tensorrt.__version__``.
        gpu_name: the CUDA device's name (``gpu_name``).
        precision: the engine's precision.
        profile: its shape profile.

    Returns:
        32 hex characters (a SHA-256 prefix).
    """
    digest = hashlib.sha256()
    digest.update(hashlib.sha256(model_bytes).digest())
    digest.update(json.dumps([trt_version, gpu_name, precision, profile.min_shape, profile.opt_shape,
                              profile.max_shape]).encode())
    return digest.hexdigest()[:32]


def _cudart():  # noqa: ANN202 - cuda-python module
    try:
        from cuda.bindings import runtime as cudart
    except ImportError:
        try:
            from cuda import cudart
        except ImportError as exc:
            raise MissingExtraError("cuda-python", "tensorrt", "TensorRT device buffers") from exc
    return cudart


def _check(result: tuple) -> object:  # cuda-python returns (err, *values)
    err, *values = result if isinstance(result, tuple) else (result,)
    if int(err) != 0:
        raise EdgeConvError("CUDA", f"call failed with error {err}")
    return values[0] if len(values) == 1 else values


def gpu_name() -> str:
    """Name of CUDA device 0.

    Returns:
        The device name, e.g. ``NVIDIA H200``.

    Raises:
        MissingExtraError: cuda-python is not installed.
        UsageError: no NVIDIA GPU is visible.
        EdgeConvError: a CUDA call failed.
    """
    cudart = _cudart()
    count = _check(cudart.cudaGetDeviceCount())
    if not count:
        raise UsageError("tensorrt", "no NVIDIA GPU is visible", "TensorRT needs a CUDA device")
    props = _check(cudart.cudaGetDeviceProperties(0))
    name = props.name
    return (name.decode() if isinstance(name, bytes) else str(name)).strip("\x00 ")


def tensorrt_status() -> tuple[bool, str]:
    """Whether TensorRT can run here, for ``edgeconv doctor``.

    Returns:
        ``(usable, why)``: usable when TensorRT imports and a CUDA device is visible; why names the version and GPU
        or what is missing.
    """
    try:
        import tensorrt as trt
    except ImportError:
        return False, "not installed: pip install 'edgeconv[tensorrt]' (needs an NVIDIA GPU)"
    try:
        return True, f"{trt.__version__} on {gpu_name()}"
    except EdgeConvError as exc:
        return False, f"{trt.__version__} installed, but {exc.problem}"


class TensorRtBackend(Backend):
    """TensorRT engine built (or loaded from cache) for this model, GPU and TensorRT version."""

    name = "tensorrt"

    def _load(self) -> None:
        try:
            import tensorrt as trt
        except ImportError as exc:
            raise MissingExtraError("tensorrt", "tensorrt", "the TensorRT back end") from exc
        precision = str(self.options.precision or self.facts.precision)
        if precision not in TRT_PRECISIONS:
            raise UsageError("tensorrt precision", f"unknown {precision!r}", f"expected {', '.join(TRT_PRECISIONS)}")
        self.cudart = _cudart()
        wanted = self.options.trt_profile or TensorRtProfile()
        profile = optimization_profile(wanted.opt_hw, wanted.max_hw, wanted.min_hw, wanted.batch, wanted.multiple)
        model_bytes = self.path.read_bytes()
        key = engine_cache_key(model_bytes, trt.__version__, gpu_name(), precision, profile)
        cache_dir = self.options.cache_dir or self.path.parent / ".edgeconv-trt-cache"
        engine_path = Path(cache_dir) / f"{self.path.stem}.{key}.engine"
        logger = trt.Logger(trt.Logger.WARNING)
        runtime = trt.Runtime(logger)
        serialized = engine_path.read_bytes() if engine_path.is_file() else None
        if serialized is None:
            serialized = self._build(trt, logger, model_bytes, precision, profile)
            from edgeconv.runtime.atomic_write import write_bytes_atomic

            engine_path.parent.mkdir(parents=True, exist_ok=True)
            write_bytes_atomic(engine_path, serialized)
        self.engine_path = engine_path
        self.engine = runtime.deserialize_cuda_engine(serialized)
        if self.engine is None:
            raise EdgeConvError(str(engine_path), "TensorRT could not deserialize the cached engine", "delete it")
        self.context = self.engine.create_execution_context()
        names = [self.engine.get_tensor_name(i) for i in range(self.engine.num_io_tensors)]
        self.input_name = next(n for n in names if self.engine.get_tensor_mode(n) == trt.TensorIOMode.INPUT)
        self.output_name = next(n for n in names if self.engine.get_tensor_mode(n) == trt.TensorIOMode.OUTPUT)
        self.stream = _check(self.cudart.cudaStreamCreate())
        self._bound: tuple[int, ...] | None = None  # the input shape the device buffers are sized and bound for
        self._d_in = self._d_out = None

    def _build(self, trt, logger, model_bytes: bytes, precision: str, profile: ShapeProfile) -> bytes:  # noqa: ANN001
        builder = trt.Builder(logger)
        network = builder.create_network(0)
        parser = trt.OnnxParser(network, logger)
        if not parser.parse(model_bytes):
            errors = "; ".join(str(parser.get_error(i)) for i in range(parser.num_errors))
            raise EdgeConvError(str(self.path), f"TensorRT cannot parse it: {errors[:200]}")
        config = builder.create_builder_config()
        if precision == "fp16":
            config.set_flag(trt.BuilderFlag.FP16)
        elif precision == "int8":
            config.set_flag(trt.BuilderFlag.INT8)  # scales come from the QDQ nodes
        shapes = builder.create_optimization_profile()
        shapes.set_shape(network.get_input(0).name, profile.min_shape, profile.opt_shape, profile.max_shape)
        config.add_optimization_profile(shapes)
        serialized = builder.build_serialized_network(network, config)
        if serialized is None:
            raise EdgeConvError(str(self.path), "TensorRT failed to build an engine (see its log above)")
        return bytes(serialized)

    def _bind(self, shape: tuple[int, ...]) -> tuple[int, ...]:
        """Size the device buffers for an input of ``shape`` and bind them: once per shape, outside the timed
        calls of a fixed-size sweep (a new shape frees the old buffers first). Returns the output shape."""
        if self._bound != shape:
            self._free_buffers()
            self.context.set_input_shape(self.input_name, shape)
            self._out_shape = tuple(self.context.get_tensor_shape(self.output_name))
            self._d_in = _check(self.cudart.cudaMalloc(int(np.prod(shape)) * 4))
            self._d_out = _check(self.cudart.cudaMalloc(int(np.prod(self._out_shape)) * 4))
            self.context.set_tensor_address(self.input_name, int(self._d_in))
            self.context.set_tensor_address(self.output_name, int(self._d_out))
            self._bound = shape
        return self._out_shape

    def _free_buffers(self) -> None:
        """Free the device buffers (if any) and forget the bound shape."""
        for buffer in (self._d_in, self._d_out):
            if buffer is not None:
                self.cudart.cudaFree(buffer)
        self._d_in = self._d_out = None
        self._bound = None

    def _run(self, x: np.ndarray) -> np.ndarray:
        cudart = self.cudart
        out = np.empty(self._bind(tuple(x.shape)), np.float32)  # a fresh host array: callers keep outputs
        h2d, d2h = cudart.cudaMemcpyKind.cudaMemcpyHostToDevice, cudart.cudaMemcpyKind.cudaMemcpyDeviceToHost
        _check(cudart.cudaMemcpyAsync(self._d_in, x.ctypes.data, x.nbytes, h2d, self.stream))
        if not self.context.execute_async_v3(self.stream):
            raise EdgeConvError(str(self.path), "TensorRT execution failed")
        _check(cudart.cudaMemcpyAsync(out.ctypes.data, self._d_out, out.nbytes, d2h, self.stream))
        _check(cudart.cudaStreamSynchronize(self.stream))
        return out

    def __del__(self) -> None:
        """Free the device buffers and the stream with the engine (never raises: it may run at shutdown)."""
        try:
            if getattr(self, "_bound", None) is not None:
                self._free_buffers()
            if getattr(self, "stream", None) is not None:
                self.cudart.cudaStreamDestroy(self.stream)
        except Exception:  # noqa: BLE001, S110 - cuda-python may already be torn down at interpreter exit
            pass

    @classmethod
    def status(cls) -> tuple[bool, str]:
        """``(usable, why)``: installed, and a CUDA device visible."""
        return tensorrt_status()

    def layer_times(self, x: np.ndarray, runs: int = 20, warmup: int = 3) -> LayerBreakdown:
        """TensorRT's ``IProfiler`` on a ``TensorRtBackend`` (needs a GPU; not exercised on CPU-only machines)."""
        import tensorrt as trt

        times: dict[tuple[str, str], float] = defaultdict(float)

        class Profiler(trt.IProfiler):
            def __init__(self) -> None:
                trt.IProfiler.__init__(self)

            def report_layer_time(self, layer_name: str, ms: float) -> None:
                times[(layer_name, "trt")] += ms

        for _ in range(warmup):
            self.run(x)
        self.context.profiler = Profiler()
        wall = []
        for _ in range(runs):
            start = time.perf_counter()
            self.run(x)
            wall.append((time.perf_counter() - start) * 1e3)
        return LayerBreakdown("tensorrt", aggregate(times, runs), float(np.mean(wall)), runs, "TensorRT IProfiler")


