"""INT8 targets, the quantization schemes whose integer kernels compute them exactly there, and this CPU's target.

A scheme is *safe* on a target when its integer kernels cannot saturate on it:

- x86 without VNNI (AVX2 / AVX-512F): ONNX Runtime's u8 x s8 kernels add pairs of products in int16
  (``vpmaddubsw``) and saturate; s8 activations are shifted to u8 and meet the same kernel. U8U8
  (widened to int16 before ``vpmaddwd``) and 7-bit weights (``reduce_range``) are exact. Measured on
  an AVX2-only EPYC, default x2 model: U8S8 full range 22.4 dB against FP32 (collapsed), U8U8 -0.29 dB,
  7-bit -1.60 dB on Set5.
- x86 with VNNI (``avx512_vnni`` / ``avx_vnni`` / AMX) and ARM (``sdot``/``udot`` or widening NEON):
  int32 accumulation, every 8-bit scheme is exact.
- TensorRT: symmetric s8 activations and weights only (its explicit-quantization rules: zero points 0).

The planner (``plan_int8``) turns a requested target and this CPU's facts into the schemes a quantization
job tries; every rule it applies is written here once (``reduce_range_needed``: 7-bit weights on x86 without
VNNI; ``float_bias_needed``: TensorRT's float biases; ``OPENVINO_TARGETS``). The runtime reads a quantized
artifact's target and scheme from its metadata and warns when this CPU cannot compute the scheme exactly.
No torch, no onnx: this module runs on the device.
"""

from __future__ import annotations

import json
import sys
from dataclasses import asdict, dataclass

from edgeconv.runtime.cpu.features import VNNI_FLAGS, cpu_flags

TARGETS = ("x86-vnni", "x86-avx2", "arm", "tensorrt")


@dataclass(frozen=True)
class Scheme:
    """One INT8 scheme: 8-bit types of activations and weights, weight range and granularity."""

    activations: str = "u8"  # "u8" | "s8"
    weights: str = "s8"  # "u8" | "s8"
    reduce_range: bool = False  # 7-bit weights
    per_channel: bool = True
    symmetric_activations: bool = False  # zero point 0 (TensorRT; OpenVINO's ARM passes)

    @property
    def name(self) -> str:
        """``U8S8``, ``U8S8-7bit``, ``U8U8``, ``S8S8-sym`` ... with ``/tensor`` for per-tensor weights."""
        base = f"{self.activations}{self.weights}".upper()
        base += "-7bit" if self.reduce_range else ""
        base += "-sym" if self.symmetric_activations else ""
        return base + ("" if self.per_channel else "/tensor")

    def as_dict(self) -> dict[str, object]:
        """Plain data (stored in the artifact's metadata)."""
        return asdict(self)


def _both_granularities(*schemes: Scheme) -> list[Scheme]:
    return [s for scheme in schemes for s in (scheme, Scheme(**{**scheme.as_dict(), "per_channel": False}))]


U8S8, S8S8, U8U8 = Scheme("u8", "s8"), Scheme("s8", "s8"), Scheme("u8", "u8")
U8S8_7BIT = Scheme("u8", "s8", reduce_range=True)
S8S8_SYM = Scheme("s8", "s8", symmetric_activations=True)

SAFE_SCHEMES: dict[str, list[Scheme]] = {
    "x86-vnni": _both_granularities(U8S8, S8S8, U8U8),
    "x86-avx2": _both_granularities(U8U8, U8S8_7BIT),
    "arm": _both_granularities(U8S8, S8S8_SYM, U8U8),
    "tensorrt": _both_granularities(S8S8_SYM),
}
TARGET_WHY = {
    "x86-vnni": "x86 with VNNI: int32 dot products, every 8-bit scheme is exact",
    "x86-avx2": "x86 without VNNI: u8 x s8 kernels saturate in int16, so only U8U8 or 7-bit weights",
    "arm": "ARM: int32 dot products (or widening NEON), every 8-bit scheme is exact",
    "tensorrt": "TensorRT: symmetric s8 activations and weights (zero points 0)",
}


def native_target(cpuinfo: str | None = None) -> tuple[str, str]:
    """The INT8 target of the CPU this runs on (x86 with unreadable flags counts as x86-avx2: the safe side).

    Args:
        cpuinfo: ``/proc/cpuinfo`` text (tests, emulators); None reads this machine's (``read_cpuinfo``).

    Returns:
        ``(target, why)``: ``arm``, ``x86-vnni`` or ``x86-avx2``, and one line saying why.
    """
    arch, flags = cpu_flags(cpuinfo)
    if arch == "arm64":
        return "arm", TARGET_WHY["arm"]
    vnni = [f for f in VNNI_FLAGS if f in flags]
    if vnni:
        return "x86-vnni", f"this CPU has {vnni[0]}: {TARGET_WHY['x86-vnni'].split(': ', 1)[1]}"
    return "x86-avx2", TARGET_WHY["x86-avx2"] if flags else "CPU flags unreadable: assuming x86 without VNNI"


def reduce_range_needed(target: str, weight_type: str) -> bool:
    """Whether ``target`` needs 7-bit weights: the one place this rule is written.

    Args:
        target: an INT8 target (``TARGETS``).
        weight_type: ``u8`` or ``s8``.

    Returns:
        True on x86 without VNNI with s8 weights (its u8 x s8 kernels saturate in int16), else False.
    """
    return target == "x86-avx2" and weight_type == "s8"


def float_bias_needed(target: str) -> bool:
    """Whether biases must stay float on ``target``.

    Args:
        target: an INT8 target (``TARGETS``).

    Returns:
        True for TensorRT, which refuses an int32 bias DequantizeLinear.
    """
    return target == "tensorrt"


OPENVINO_TARGETS = ("x86-vnni", "x86-avx2")  # OpenVINO runs x86 artifacts (it refuses INT8 on ARM)


@dataclass(frozen=True)
class Int8Plan:
    """What a quantization job tries for one target: the schemes in order of preference, and why.

    ``schemes`` holds every scheme exact on the target when ``chosen_by`` is ``measured`` (the job keeps the
    most accurate; ties go to the first), or the one scheme the user pinned (``set by the user``).
    """

    target: str
    target_why: str
    schemes: tuple[Scheme, ...]
    chosen_by: str = "measured"
    float_bias: bool = False  # biases stay float (``float_bias_needed``)
    openvino_runs_it: bool = False  # OpenVINO is a runtime of the target: a scheme it refuses falls back

    @property
    def measured(self) -> bool:
        """True when the scheme is chosen by measurement, False when the user pinned it."""
        return self.chosen_by == "measured"


def plan_int8(
    target: str | None = None, activations: str | None = None, weights: str | None = None,
    reduce_range: bool | None = None, per_channel: bool | None = None, cpuinfo: str | None = None,
) -> Int8Plan:
    """The INT8 schemes to try for ``target`` on this CPU; pure (reads ``/proc/cpuinfo`` only for ``None``).

    Args:
        target: a target in ``TARGETS``, or None for this CPU's (``native_target``).
        activations: pinned activation type (``u8``/``s8``); None leaves it to the plan.
        weights: pinned weight type; None leaves it to the plan.
        reduce_range: pinned 7-bit weights; None: ``reduce_range_needed`` for the target.
        per_channel: pinned weight granularity; None leaves it to the plan.
        cpuinfo: ``/proc/cpuinfo`` text to read this CPU from (tests); None reads this machine's.

    Returns:
        Every scheme exact on the target (``SAFE_SCHEMES``) when nothing is pinned; else the one scheme the
        pins describe (unpinned fields at ``Scheme``'s defaults).
    """
    name = check_target(target) if target is not None else native_target(cpuinfo)[0]
    common = {"target": name, "target_why": TARGET_WHY[name], "float_bias": float_bias_needed(name),
              "openvino_runs_it": name in OPENVINO_TARGETS}
    if activations is None and weights is None and reduce_range is None and per_channel is None:
        return Int8Plan(schemes=tuple(SAFE_SCHEMES[name]), **common)
    default = Scheme()
    activations, weights = str(activations or default.activations), str(weights or default.weights)
    if reduce_range is None:
        reduce_range = reduce_range_needed(name, weights)
    scheme = Scheme(activations, weights, reduce_range, default.per_channel if per_channel is None else per_channel)
    return Int8Plan(schemes=(scheme,), chosen_by="set by the user", **common)


def check_target(name: str) -> str:
    """Refuse an unknown INT8 target.

    Args:
        name: the ``--target`` value.

    Returns:
        ``name``, unchanged.

    Raises:
        UsageError: not one of ``TARGETS``, listing them.
    """
    from edgeconv.errors import UsageError

    if name not in TARGETS:
        raise UsageError("--target", f"unknown target {name!r}", f"expected auto or one of {', '.join(TARGETS)}")
    return name


def scheme_from_metadata(quantization: str | None) -> Scheme | None:
    """The scheme recorded in an artifact's metadata.

    Args:
        quantization: the ``edgeconv.quantization`` JSON text; None or empty for FP models.

    Returns:
        The ``Scheme`` (rebuilt from the type fields for artifacts older than targets), or None when there is
        none or it cannot be read.
    """
    if not quantization:
        return None
    try:
        data = json.loads(quantization)
        scheme = data.get("scheme")
        if isinstance(scheme, dict):
            return Scheme(**{k: scheme[k] for k in Scheme.__dataclass_fields__ if k in scheme})
        # artifacts written before targets existed: rebuild from the type fields
        return Scheme(data.get("activation_type", "u8"), data.get("weight_type", "s8"),
                      bool(data.get("reduce_range", False)), bool(data.get("per_channel", True)))
    except (ValueError, TypeError, AttributeError):
        return None


def cpu_mismatch(quantization: str | None, cpuinfo: str | None = None) -> str | None:
    """Why this CPU cannot compute an INT8 artifact's scheme exactly; only x86 without VNNI can get it wrong.

    Args:
        quantization: the artifact's ``edgeconv.quantization`` JSON text.
        cpuinfo: ``/proc/cpuinfo`` text (tests, emulators); None reads this machine's (``read_cpuinfo``).

    Returns:
        One line naming the saturation and the fix (re-quantize for ``x86-avx2``), or None when the CPU computes
        the scheme exactly.
    """
    scheme = scheme_from_metadata(quantization)
    if scheme is None:
        return None
    here, _ = native_target(cpuinfo)
    safe = {(s.activations, s.weights, s.reduce_range) for s in SAFE_SCHEMES[here]}
    if here != "x86-avx2" or (scheme.activations, scheme.weights, scheme.reduce_range) in safe:
        return None
    try:
        target = json.loads(quantization or "{}").get("target", "another CPU")
    except ValueError:
        target = "another CPU"
    return (f"quantized for {target} ({scheme.name}), but this CPU has no VNNI: its u8 x s8 kernels saturate "
            "(wrong pixels, no error). Re-quantize here: edgeconv quantize MODEL.onnx --calib DIR --target x86-avx2")


_WARNED: set[str] = set()


def warn_cpu_mismatch(path: str, quantization: str | None) -> None:
    """Print the mismatch (once per model file) as one line on stderr.

    Args:
        path: the model file (named in the line; a second call for it prints nothing).
        quantization: its ``edgeconv.quantization`` JSON text.
    """
    reason = cpu_mismatch(quantization)
    if reason and path not in _WARNED:
        _WARNED.add(path)
        print(f"warning: {path} | {reason}", file=sys.stderr)
