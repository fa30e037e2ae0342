"""The closed sets of words the commands take, as enums: ``--help`` lists them and a typo is refused with them.

Each is a ``str`` enum, so a member compares equal to its value (``Precision.INT8 == "int8"``) and formats
as it (``f"{Precision.INT8}"`` is ``int8``): settings, JSON reports and metadata keep their plain strings.
Torch-free (the CLI's runtime commands and the device import it).
"""

from __future__ import annotations

from enum import Enum
from typing import TypeVar

from edgeconv.errors import UsageError


class Choice(str, Enum):
    """A ``str`` enum whose ``str()`` and format are its value (Python 3.10 has no ``StrEnum``)."""

    def __str__(self) -> str:
        return str(self.value)

    def __format__(self, spec: str) -> str:
        return format(str(self.value), spec)

    @classmethod
    def values(cls) -> tuple[str, ...]:
        """Every value, in definition order (for messages and loops)."""
        return tuple(str(m.value) for m in cls)


class BackendName(Choice):
    """A runtime back end."""

    ONNXRUNTIME = "onnxruntime"
    OPENVINO = "openvino"
    TENSORRT = "tensorrt"


class BackendChoice(Choice):
    """A back end, or ``all``: every back end usable here (resolved once, by the registry)."""

    ONNXRUNTIME = "onnxruntime"
    OPENVINO = "openvino"
    TENSORRT = "tensorrt"
    ALL = "all"


class Precision(Choice):
    """What ``quantize`` writes: INT8 (QDQ), FP16, or ``auto`` (measure both, keep the fastest in budget)."""

    INT8 = "int8"
    FP16 = "fp16"
    AUTO = "auto"


class Int8Target(Choice):
    """Where an INT8 artifact will run (``auto``: this CPU)."""

    AUTO = "auto"
    X86_VNNI = "x86-vnni"
    X86_AVX2 = "x86-avx2"
    ARM = "arm"
    TENSORRT = "tensorrt"


class CalibrationMethod(Choice):
    """How calibration ranges are chosen (ONNX Runtime's calibrators)."""

    MINMAX = "minmax"
    ENTROPY = "entropy"
    PERCENTILE = "percentile"


class Switch(Choice):
    """A setting measured by default (``auto``) or pinned ``on`` / ``off``."""

    AUTO = "auto"
    ON = "on"
    OFF = "off"


class QuantType(Choice):
    """An 8-bit integer type."""

    U8 = "u8"
    S8 = "s8"


class QuantFormat(Choice):
    """The INT8 graph form: QDQ (one artifact for every back end) or QOperator."""

    QDQ = "qdq"
    QOPERATOR = "qoperator"


class InferenceDevice(Choice):
    """The device a back end runs on (OpenVINO's device names; ONNX Runtime and TensorRT take CPU / GPU)."""

    CPU = "CPU"
    GPU = "GPU"
    NPU = "NPU"
    AUTO = "AUTO"
    CUDA = "CUDA"  # ONNX Runtime's CUDA provider (as GPU)
    TENSORRT = "TENSORRT"  # ONNX Runtime's TensorRT provider (not the tensorrt back end, which always runs on GPU)


# --- added with issue 25 (typed settings): what back ends and the other commands take -------------------------

# A ``Choice`` subclass, for ``parse_choice``'s signature.
C = TypeVar("C", bound=Choice)


def parse_choice(kind: type[C], value: object, subject: str, ignore_case: bool = False) -> C:
    """``value`` as a member of ``kind`` (a member passes as it is); anything else is a ``UsageError`` naming
    ``subject`` and every choice. For library callers that pass plain strings (the CLI's typer refuses typos first)."""
    if isinstance(value, kind):
        return value
    text = str(value)
    for member in kind:
        if member.value == text or (ignore_case and str(member.value).lower() == text.lower()):
            return member
    raise UsageError(subject, f"unknown value {text!r}", f"expected one of {', '.join(kind.values())}")


class InferencePrecision(Choice):
    """The precision a back end computes in: OpenVINO's inference precision hint (f32 by default; no int8),
    TensorRT's engine (the model's own by default; no bf16). ONNX Runtime runs the graph as it is."""

    FP32 = "fp32"
    FP16 = "fp16"
    BF16 = "bf16"
    INT8 = "int8"


class GraphOptimization(Choice):
    """ONNX Runtime's graph optimisation level."""

    NONE = "none"
    BASIC = "basic"
    EXTENDED = "extended"
    ALL = "all"


class PerformanceHint(Choice):
    """OpenVINO's performance hint: one request as fast as possible, or many in flight."""

    LATENCY = "LATENCY"
    THROUGHPUT = "THROUGHPUT"
    CUMULATIVE_THROUGHPUT = "CUMULATIVE_THROUGHPUT"


class DegradationProtocol(Choice):
    """How an LR image is made from an HR one for scoring (``runtime.imaging.degradations.PROTOCOLS``; a test
    keeps the two equal). Training also takes ``mixed[:PROTOCOL=WEIGHT,...]``, an open set."""

    BICUBIC = "bicubic"
    CUBIC_ALIASED = "cubic-aliased"
    BILINEAR = "bilinear"
    AREA = "area"
    JPEG = "jpeg"
    BLUR = "blur"
    NOISE = "noise"


class Lowering(Choice):
    """How ``export`` writes a shift: slices, or fixed depthwise convs."""

    SLICE = "slice"
    CONV = "conv"


class ErfTarget(Choice):
    """Where a checkpoint's gradient ERF is taken: the last feature map or the output."""

    FEATURES = "features"
    OUTPUT = "output"


class LossOn(Choice):
    """What SR training's L1 loss compares: BT.601 luma (what PSNR-Y scores) or RGB."""

    Y = "y"
    RGB = "rgb"


class SrSelection(Choice):
    """Which SR training step is kept: best PSNR-Y on bicubic LR, or the smallest gain over bicubic upscaling on
    every protocol (for photo models)."""

    PSNR = "psnr"
    WORST_GAIN = "worst-gain"


class ClsDataset(Choice):
    """A classification data set layout: CIFAR-100's python files, or image folders (root/<class>/<image>)."""

    CIFAR100 = "cifar100"
    FOLDER = "folder"


class ConvVariant(Choice):
    """The 3x3 conv of the classification ResNet (``edgeconv.models.nets.resnet_cifar.CONV_VARIANTS``).

    A test keeps the two equal.
    """

    PLAIN = "plain"
    JITTER_RANDOM = "jitter-random"
    JITTER_CHANNEL = "jitter-channel"
    JITTER_SUBPIXEL = "jitter-subpixel"
    JITTER_LEARNABLE = "jitter-learnable"
    SHIFTWISE = "shiftwise"
    SHIFTWISE_DIAGONAL = "shiftwise-diagonal"
    SHIFTWISE_ROTATIONAL = "shiftwise-rotational"
    LARGE_KERNEL = "large-kernel"
