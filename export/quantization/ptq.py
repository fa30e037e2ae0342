"""INT8 (static PTQ with ONNX Runtime's quantizer) and FP16 versions of an exported FP32 model.

INT8 is written in QDQ form by default: QuantizeLinear/DequantizeLinear pairs around float ops,
which ONNX Runtime fuses into integer kernels, OpenVINO turns into its own INT8 kernels and
TensorRT builds explicit-precision engines from - one artifact for all three. Weights are
per-channel; ``reduce_range`` follows this CPU (``edgeconv.runtime.cpu.int8_targets.reduce_range_needed``)
unless the scheme sets it. The image-grid snaps live in ``image_grid``, the fixed-kernel rounding in
``fixed_kernels``, the output Add in ``output_add``.
"""

from __future__ import annotations

import contextlib
import io
import logging
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Literal

import onnx

from edgeconv.errors import UsageError, first_line
from edgeconv.export.graph.activations import PRELU_DOC
from edgeconv.export.quantization.calibration import Feed, FeedReader
from edgeconv.export.quantization.fixed_kernels import quantize_fixed_kernels_sum_exact
from edgeconv.export.quantization.image_grid import snap_input_to_image_grid, snap_output_to_image_grid
from edgeconv.export.quantization.output_add import fuse_output_add
from edgeconv.runtime.cpu.int8_targets import Scheme, native_target, reduce_range_needed

CalibrationName = Literal["minmax", "entropy", "percentile"]
CALIBRATION_METHODS = ("minmax", "entropy", "percentile")
QUANT_TYPES = ("u8", "s8")


@dataclass(frozen=True)
class Int8Config:
    """The knobs of one INT8 quantization (typed, not a free dict); frozen: a changed knob is a copy (``replace``)."""

    method: CalibrationName = "minmax"
    per_channel: bool = True
    reduce_range: bool | None = None  # None: what this CPU needs (7-bit weights on x86 without VNNI)
    activation_type: Literal["u8", "s8"] = "u8"
    weight_type: Literal["u8", "s8"] = "s8"
    symmetric_activations: bool = False  # zero point 0 (TensorRT's rule)
    float_bias: bool = False  # biases stay float (TensorRT refuses an int32 bias DequantizeLinear)
    quant_format: Literal["qdq", "qoperator"] = "qdq"
    percentile: float = 99.999
    exclude: tuple[str, ...] | list[str] = ()  # FP32 node names kept in floating point
    only: tuple[str, ...] | list[str] | None = None  # quantize just these nodes (sensitivity probes); None: all
    # an SR model's output is an 8-bit image in this value range: its last Q/DQ is put on that grid
    image_output: tuple[float, float] | None = None
    fuse_output_add: bool = True  # the output Add sums its conv inputs unrounded (output_add.py); False: ORT's

    def check(self) -> None:
        """Raise ``UsageError`` for a value the quantizer would not understand."""
        if self.method not in CALIBRATION_METHODS:
            expected = ", ".join(CALIBRATION_METHODS)
            raise UsageError("--method", f"unknown calibration {self.method!r}", f"expected {expected}")
        for name, value in (("--activation-type", self.activation_type), ("--weight-type", self.weight_type)):
            if value not in QUANT_TYPES:
                raise UsageError(name, f"unknown type {value!r}", "expected u8 or s8")
        if self.quant_format not in ("qdq", "qoperator"):
            raise UsageError("--format", f"unknown format {self.quant_format!r}", "expected qdq or qoperator")

    def resolved_reduce_range(self) -> tuple[bool, str]:
        """``(reduce_range, why)``: the set value, or what this CPU's kernels need (``reduce_range_needed``)."""
        if self.reduce_range is not None:
            return self.reduce_range, "set by the scheme"
        target, why = native_target()
        return reduce_range_needed(target, self.weight_type), why

    @property
    def scheme(self) -> Scheme:
        """The scheme these settings quantize with."""
        return Scheme(self.activation_type, self.weight_type, self.resolved_reduce_range()[0], self.per_channel,
                      self.symmetric_activations)

    def with_scheme(self, scheme: Scheme) -> Int8Config:
        """A copy that quantizes with ``scheme`` (calibration, format and excluded nodes kept)."""
        return replace(self, activation_type=scheme.activations, weight_type=scheme.weights,
                       reduce_range=scheme.reduce_range, per_channel=scheme.per_channel,
                       symmetric_activations=scheme.symmetric_activations)


def constants_to_initializers(model: onnx.ModelProto) -> onnx.ModelProto:
    """Move top-level ``Constant`` tensors into initializers so the quantizer sees them as weights.

    The conv lowering of a shift exports its fixed depthwise kernel as a Constant node; as an
    initializer it is quantized per channel like any other weight.
    """
    out = onnx.ModelProto()
    out.CopyFrom(model)
    kept = []
    for node in out.graph.node:
        value = next((a for a in node.attribute if a.name == "value" and a.type == onnx.AttributeProto.TENSOR), None)
        if node.op_type == "Constant" and node.domain in ("", "ai.onnx") and value is not None:
            tensor = onnx.TensorProto()
            tensor.CopyFrom(value.t)
            tensor.name = node.output[0]
            out.graph.initializer.append(tensor)
        else:
            kept.append(node)
    del out.graph.node[:]
    out.graph.node.extend(kept)
    return out


@contextlib.contextmanager
def quiet_quantizer() -> Iterator[None]:
    """Silence ORT's quantizer: it prints histogram progress to stdout and a pre-processing hint at WARNING."""
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            yield
    finally:
        root.setLevel(level)


def _quant_type(name: str):  # noqa: ANN202 - onnxruntime enum
    from onnxruntime.quantization import QuantType

    return {"u8": QuantType.QUInt8, "s8": QuantType.QInt8}[name]


def quantize_int8(
    model: onnx.ModelProto, feeds: list[Feed], config: Int8Config, cache: Path | None = None
) -> onnx.ModelProto:
    """Static post-training INT8 of ``model`` calibrated on ``feeds``; returns the quantized proto.

    Args:
        model: an FP32 model (as ``edgeconv export`` writes it); not changed.
        feeds: calibration inputs ``{input name: float32 NCHW}``, batch 1 each.
        config: calibration method, types, format, nodes to keep in float.
        cache: an ORT calibration-range file: reused when present, written when absent, so a
            search that re-quantizes with other excluded nodes calibrates once.

    Returns:
        A new QDQ (or QOperator) model: fixed kernels sum-exact, the image edges on the 8-bit grid (SR), the
        output Add rounded once (``fuse_output_add``).
    """
    config.check()
    if not feeds:
        raise UsageError("calibration", "no calibration inputs", "give --calib a folder with images")
    prepared = constants_to_initializers(model)
    quantized = _ort_quantize_static(prepared, feeds, config, cache)
    quantize_fixed_kernels_sum_exact(quantized, prepared)
    if config.image_output is not None and not config.symmetric_activations:
        snap_input_to_image_grid(quantized, config.image_output, config.activation_type)
        snap_output_to_image_grid(quantized, config.image_output, config.activation_type)
    if config.fuse_output_add:
        fuse_output_add(quantized)
    return quantized


def _ort_options(config: Int8Config) -> dict[str, object]:
    """ONNX Runtime's ``quantize_static`` keyword arguments for ``config`` (all but paths, reader and cache)."""
    from onnxruntime.quantization import CalibrationMethod, QuantFormat

    method = {"minmax": CalibrationMethod.MinMax, "entropy": CalibrationMethod.Entropy,
              "percentile": CalibrationMethod.Percentile}[config.method]
    extra: dict[str, object] = {"CalibPercentile": config.percentile} if config.method == "percentile" else {}
    if config.symmetric_activations:
        extra["ActivationSymmetric"] = True
    if config.float_bias:
        extra["QuantizeBias"] = False
    return {
        "quant_format": QuantFormat.QDQ if config.quant_format == "qdq" else QuantFormat.QOperator,
        "per_channel": config.per_channel, "reduce_range": config.resolved_reduce_range()[0],
        "activation_type": _quant_type(config.activation_type), "weight_type": _quant_type(config.weight_type),
        "calibrate_method": method, "extra_options": extra,
    }


def _ort_quantize_static(
    prepared: onnx.ModelProto, feeds: list[Feed], config: Int8Config, cache: Path | None
) -> onnx.ModelProto:
    """ONNX Runtime's static quantizer on ``prepared`` (constants already initializers), through temporary files."""
    from onnxruntime.quantization import quantize_static

    activations = [n.name for n in prepared.graph.node if n.doc_string == PRELU_DOC]  # float, like a PRelu
    only = list(config.only) if config.only is not None else None
    with tempfile.TemporaryDirectory(prefix="edgeconv-quant-") as tmp:
        src, dst = Path(tmp) / "fp32.onnx", Path(tmp) / "int8.onnx"
        onnx.save(prepared, src)
        with quiet_quantizer(), _calibration_errors():
            quantize_static(src, dst, FeedReader(feeds), nodes_to_exclude=[*config.exclude, *activations],
                            nodes_to_quantize=only, calibration_cache_path=cache, **_ort_options(config))
        return onnx.load(dst)


@contextlib.contextmanager
def _calibration_errors() -> Iterator[None]:
    """ONNX Runtime's calibrators raise ValueError on degenerate data (a flat image: no histogram range)."""
    try:
        yield
    except ValueError as exc:
        raise UsageError("--calib", f"the calibration images give no usable ranges ({first_line(exc, 100)})",
                         "use varied photos, not flat or constant images") from exc


def convert_fp16(model: onnx.ModelProto) -> onnx.ModelProto:
    """FP16 weights and arithmetic with float32 inputs and outputs (Casts at the graph's edges)."""
    from onnxruntime.transformers.float16 import convert_float_to_float16

    return topologically_sorted(convert_float_to_float16(constants_to_initializers(model), keep_io_types=True))


def topologically_sorted(model: onnx.ModelProto) -> onnx.ModelProto:
    """Reorder top-level nodes so each comes after its inputs' producers (the FP16 converter appends
    its input Casts at the end, which ``onnx.checker`` rejects)."""
    graph = model.graph
    ready = {i.name for i in graph.input} | {t.name for t in graph.initializer} | {""}
    pending, ordered = list(graph.node), []
    while pending:
        still = [n for n in pending if not all(i in ready for i in n.input)]
        done = [n for n in pending if all(i in ready for i in n.input)]
        if not done:
            raise ValueError(f"graph has a cycle or a dangling input at node {still[0].name!r}")
        for node in done:
            ordered.append(node)
            ready.update(node.output)
        pending = still
    del graph.node[:]
    graph.node.extend(ordered)
    return model
