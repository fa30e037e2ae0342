"""The closed sets of words the commands take, as enums: ``--help`` lists them and a typo is refused with them.

Each is a ``str`` enum, so a member compares equal to its value (``Precision.INT8 == "int8"``) and formats
as it (``f"{Precision.INT8}"`` is ``int8``): settings, JSON reports and metadata keep their plain strings.
Torch-free (the CLI's runtime commands and the device import it).
"""

from __future__ import annotations

from enum import Enum


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
