"""Which integer dot-product instructions this CPU has, and what that means for INT8 kernels.

On x86 without VNNI, ONNX Runtime's u8s8 convolution multiplies pairs of u8 x s8 products into
int16 (``vpmaddubsw``) and saturates: a probe here on an AVX2 Zen 1 turned a QDQ SR net into a
23.7 dB image (43 dB with ``reduce_range``, which keeps weights to 7 bits so the pair sums fit).
VNNI (``avx512_vnni`` / ``avx_vnni``, or AMX) accumulates in int32 and needs nothing. ARM's
kernels (``asimddp``/``i8mm`` or the widening fallback) do not saturate either.
"""

from __future__ import annotations

import os
import platform
from pathlib import Path

CPUINFO_ENV = "EDGECONV_CPUINFO"  # read this file instead of /proc/cpuinfo (emulators)
VNNI_FLAGS = ("avx512_vnni", "avx_vnni", "amx_int8")


def cpuinfo_path() -> Path:
    """Where this CPU is described: qemu-user passes the host's file through, so an emulated CPU needs its own.

    Returns:
        ``$EDGECONV_CPUINFO`` when set, else ``/proc/cpuinfo``.
    """
    return Path(os.environ.get(CPUINFO_ENV) or "/proc/cpuinfo")


def read_cpuinfo() -> str:
    """This CPU's cpuinfo text (see ``cpuinfo_path``).

    Returns:
        The text; empty when it cannot be read.
    """
    path = cpuinfo_path()
    try:
        return path.read_text(errors="replace")
    except OSError:
        return ""


def cpu_flags(cpuinfo: str | None = None) -> tuple[str, set[str]]:
    """The architecture and ISA flags of a CPU (x86 ``flags``, ARM ``Features``).

    Args:
        cpuinfo: ``/proc/cpuinfo`` text (tests, emulators); None reads this machine's (``read_cpuinfo``).

    Returns:
        ``(arch, flags)``: ``x86_64``, ``arm64`` or ``platform.machine()``; the flag set (empty if unknown).
    """
    if cpuinfo is None:
        cpuinfo = read_cpuinfo()
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


SIGNATURE_FLAGS = ("avx2", "avx512f", "avx512_vnni", "avx_vnni", "amx_int8", "asimddp", "i8mm", "sve")


def cpu_signature(cpuinfo: str | None = None) -> str:
    """What a speed measured here is a fact about: architecture, CPU model, cores and the ISA flags that matter.

    Args:
        cpuinfo: ``/proc/cpuinfo`` text (tests, emulators); None reads this machine's (``read_cpuinfo``).

    Returns:
        ``arch/model/<cores>c/flag+flag`` (``none`` when no flag of ``SIGNATURE_FLAGS`` is set).
    """
    if cpuinfo is None:
        cpuinfo = read_cpuinfo()
    arch, flags = cpu_flags(cpuinfo)
    model = "unknown"
    for line in cpuinfo.splitlines():
        key, _, value = line.partition(":")
        if key.strip().lower() in ("model name", "cpu part", "hardware") and value.strip():
            model = value.strip()
            break
    cores = sum(1 for line in cpuinfo.splitlines() if line.split(":")[0].strip() == "processor") or os.cpu_count()
    isa = "+".join(f for f in SIGNATURE_FLAGS if f in flags) or "none"
    return f"{arch}/{model}/{cores}c/{isa}"
