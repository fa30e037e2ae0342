"""Which integer dot-product instructions this CPU has, and what that means for INT8 kernels.

On x86 without VNNI, ONNX Runtime's u8s8 convolution multiplies pairs of u8 x s8 products into
int16 (``vpmaddubsw``) and saturates: a probe here on an AVX2 Zen 1 turned a QDQ SR net into a
23.7 dB image (43 dB with ``reduce_range``, which keeps weights to 7 bits so the pair sums fit).
VNNI (``avx512_vnni`` / ``avx_vnni``, or AMX) accumulates in int32 and needs nothing. ARM's
kernels (``asimddp``/``i8mm`` or the widening fallback) do not saturate either.
"""

from __future__ import annotations

import platform
from dataclasses import dataclass
from pathlib import Path

VNNI_FLAGS = ("avx512_vnni", "avx_vnni", "amx_int8")
ARM_DOT_FLAGS = ("asimddp", "i8mm")


@dataclass(frozen=True)
class Int8Advice:
    """Whether INT8 weights must use ``reduce_range`` on a CPU, and the reason in words."""

    reduce_range: bool
    reason: str


def cpu_flags(cpuinfo: str | None = None) -> tuple[str, set[str]]:
    """``(arch, flags)`` from ``/proc/cpuinfo`` (x86 ``flags``, ARM ``Features``); empty set if unknown."""
    if cpuinfo is None:
        path = Path("/proc/cpuinfo")
        cpuinfo = path.read_text(errors="replace") if path.is_file() else ""
    flags: set[str] = set()
    for line in cpuinfo.splitlines():
        key, _, value = line.partition(":")
        if key.strip().lower() in ("flags", "features"):
            flags.update(value.split())
    machine = platform.machine().lower()
    if {"sse2", "avx2", "avx"} & flags:
        arch = "x86_64"
    elif {"asimd", "neon", "fp"} & flags:
        arch = "arm64"
    else:
        arch = {"amd64": "x86_64", "aarch64": "arm64"}.get(machine, machine or "unknown")
    return arch, flags


def int8_advice(cpuinfo: str | None = None) -> Int8Advice:
    """``reduce_range`` is needed on x86 without VNNI (and when the CPU cannot be read: the safe side)."""
    arch, flags = cpu_flags(cpuinfo)
    if arch == "x86_64":
        vnni = [f for f in VNNI_FLAGS if f in flags]
        if vnni:
            return Int8Advice(False, f"x86 CPU with {vnni[0]}: int32 dot products, no u8s8 saturation")
        if flags:
            return Int8Advice(True, "x86 CPU without VNNI: u8s8 kernels saturate int16, so weights use 7 bits")
    elif arch == "arm64":
        dot = [f for f in ARM_DOT_FLAGS if f in flags]
        return Int8Advice(False, f"ARM CPU ({dot[0] if dot else 'no dot-product, widening kernels'}): no saturation")
    return Int8Advice(True, "CPU features unknown: reduce_range is the safe choice")
