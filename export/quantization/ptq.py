"""INT8 (static PTQ with ONNX Runtime's quantizer) and FP16 versions of an exported FP32 model.

INT8 is written in QDQ form by default: QuantizeLinear/DequantizeLinear pairs around float ops,
which ONNX Runtime fuses into integer kernels, OpenVINO turns into its own INT8 kernels and
TensorRT builds explicit-precision engines from - one artifact for all three. Weights are
per-channel; ``reduce_range`` follows the CPU (``edgeconv.runtime.cpu.features``) unless forced.
"""

from __future__ import annotations

import contextlib
import io
import logging
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal

import numpy as np
import onnx

from edgeconv.errors import UsageError, first_line
from edgeconv.export.graph.activations import PRELU_DOC
from edgeconv.export.quantization.calibration import Feed, FeedReader
from edgeconv.export.quantization.fixed_kernels import quantize_fixed_kernels_sum_exact
from edgeconv.export.quantization.output_add import LAYOUT_OPS, fuse_output_add
from edgeconv.runtime.cpu.int8_targets import Scheme, native_target

CalibrationName = Literal["minmax", "entropy", "percentile"]
CALIBRATION_METHODS = ("minmax", "entropy", "percentile")
QUANT_TYPES = ("u8", "s8")


@dataclass
class Int8Config:
    """The knobs of one INT8 quantization (typed, not a free dict)."""

    method: CalibrationName = "minmax"
    per_channel: bool = True
    reduce_range: bool | None = None  # None: what this CPU needs (7-bit weights on x86 without VNNI)
    activation_type: Literal["u8", "s8"] = "u8"
    weight_type: Literal["u8", "s8"] = "s8"
    symmetric_activations: bool = False  # zero point 0 (TensorRT's rule)
    float_bias: bool = False  # biases stay float (TensorRT refuses an int32 bias DequantizeLinear)
    quant_format: Literal["qdq", "qoperator"] = "qdq"
    percentile: float = 99.999
    exclude: list[str] = field(default_factory=list)  # FP32 node names kept in floating point
    only: list[str] | None = None  # quantize just these nodes (sensitivity probes); None: all
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
        """``(reduce_range, why)``: the set value, or what this CPU's kernels need for u8 x s8."""
        if self.reduce_range is not None:
            return self.reduce_range, "set by the scheme"
        target, why = native_target()
        return target == "x86-avx2" and self.weight_type == "s8", why

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
        model: an FP32 model (as ``edgeconv export`` writes it).
        feeds: calibration inputs ``{input name: float32 NCHW}``, batch 1 each.
        config: calibration method, types, format, nodes to keep in float.
        cache: an ORT calibration-range file: reused when present, written when absent, so a
            search that re-quantizes with other excluded nodes calibrates once.
    """
    from onnxruntime.quantization import CalibrationMethod, QuantFormat, quantize_static

    config.check()
    if not feeds:
        raise UsageError("calibration", "no calibration inputs", "give --calib a folder with images")
    reduce_range, _ = config.resolved_reduce_range()
    method = {"minmax": CalibrationMethod.MinMax, "entropy": CalibrationMethod.Entropy,
              "percentile": CalibrationMethod.Percentile}[config.method]
    extra: dict[str, object] = {"CalibPercentile": config.percentile} if config.method == "percentile" else {}
    if config.symmetric_activations:
        extra["ActivationSymmetric"] = True
    if config.float_bias:
        extra["QuantizeBias"] = False
    prepared = constants_to_initializers(model)
    activations = [n.name for n in prepared.graph.node if n.doc_string == PRELU_DOC]  # float, like a PRelu
    with tempfile.TemporaryDirectory(prefix="edgeconv-quant-") as tmp:
        src, dst = Path(tmp) / "fp32.onnx", Path(tmp) / "int8.onnx"
        onnx.save(prepared, src)
        with quiet_quantizer(), _calibration_errors():
            quantize_static(
                src, dst, FeedReader(feeds),
                quant_format=QuantFormat.QDQ if config.quant_format == "qdq" else QuantFormat.QOperator,
                per_channel=config.per_channel, reduce_range=reduce_range,
                activation_type=_quant_type(config.activation_type), weight_type=_quant_type(config.weight_type),
                nodes_to_exclude=[*config.exclude, *activations], nodes_to_quantize=config.only,
                calibrate_method=method, extra_options=extra,
                calibration_cache_path=cache,
            )
        quantized = onnx.load(dst)
    quantize_fixed_kernels_sum_exact(quantized, prepared)
    if config.image_output is not None and not config.symmetric_activations:
        snap_input_to_image_grid(quantized, config.image_output, config.activation_type)
        snap_output_to_image_grid(quantized, config.image_output, config.activation_type)
    if config.fuse_output_add:
        fuse_output_add(quantized)
    return quantized


def _image_grid(value_range: tuple[float, float], activation_type: str) -> tuple[np.ndarray, np.ndarray]:
    """(scale, zero point) of the 8-bit image grid over ``value_range`` in ``u8`` or ``s8`` activations."""
    lo, hi = value_range
    scale = np.float32((hi - lo) / 255.0)
    zero = np.array(round(-lo / float(scale)) + (0 if activation_type == "u8" else -128),
                    np.uint8 if activation_type == "u8" else np.int8)
    return np.array(scale), zero


def _set_pair(model: onnx.ModelProto, names: set[str], scale: np.ndarray, zero: np.ndarray) -> None:
    from onnx import numpy_helper

    for tensor in model.graph.initializer:
        if tensor.name in names:
            value = scale if tensor.data_type == onnx.TensorProto.FLOAT else zero
            tensor.CopyFrom(numpy_helper.from_array(value, tensor.name))


def snap_input_to_image_grid(model: onnx.ModelProto, value_range: tuple[float, float], activation_type: str) -> bool:
    """The input of an image model comes from 8-bit pixels: quantizing it on their grid loses nothing, where a
    range calibrated on crops that miss pure black or white would round every pixel. True when changed."""
    graph_input = model.graph.input[0].name
    quantize = next((n for n in model.graph.node if n.op_type == "QuantizeLinear" and n.input[0] == graph_input), None)
    if quantize is None:
        return False
    _set_pair(model, {quantize.input[1], quantize.input[2]}, *_image_grid(value_range, activation_type))
    return True


def snap_output_to_image_grid(model: onnx.ModelProto, value_range: tuple[float, float], activation_type: str) -> bool:
    """Give the Q/DQ pair that makes the graph output the 8-bit image grid: scale (hi - lo) / 255 and the zero
    point at ``lo`` (``u8``: 0, ``s8``: -128). The image is clipped and rounded to that grid when saved, so the
    pair then costs nothing, where a calibrated range (e.g. [-0.24, 1.20]) rounds a second, coarser time.
    True when the pair was found (through layout ops such as DepthToSpace) and changed in place."""
    producer = {o: n for n in model.graph.node for o in n.output}
    node = producer.get(model.graph.output[0].name)
    while node is not None and node.op_type in LAYOUT_OPS:
        node = producer.get(node.input[0])
    if node is None or node.op_type != "DequantizeLinear" or producer.get(node.input[0]) is None:
        return False
    quantize = producer[node.input[0]]
    names = {quantize.input[1], quantize.input[2], node.input[1], node.input[2]}
    users = [n for n in model.graph.node if names & set(n.input[1:])]
    if len(users) != 2:  # the scale is shared with another pair: changing it would move that one too
        return False
    _set_pair(model, names, *_image_grid(value_range, activation_type))
    return True


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
