"""Which of a shipped model's two files ONNX Runtime runs faster on this machine: measured once, cached.

Every shipped model comes as ``NAME.onnx`` (PReLU kept) and ``NAME.ort.onnx`` (PReLU as ``Mul`` + ``Max``). The
second was made for ONNX Runtime because it ran 30 % faster on the AMD EPYC it was measured on; on an Intel Xeon
with ONNX Runtime 1.32 the PReLU file is 5-7 % faster at every scale. Which one wins is a fact about the CPU and
the runtime's version, so ``upscale`` without ``--backend``, when it is going to run on ONNX Runtime, times both
files the way the back-end pick does (``fastest.time_contestants``: a 640x360 frame, alternating rounds) and loads
the faster. The pick is cached beside the back-end pick (``backends.json``), keyed by this CPU, ONNX Runtime's
version, the options and both files' SHA-256.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

from edgeconv.runtime.backends.base import BackendOptions
from edgeconv.runtime.backends.fastest import (
    CACHE_NAME,
    CACHED,
    MEASURE_HW,
    MEASURED_NOW,
    OnStatus,
    Timings,
    measure_key,
    time_contestants,
)
from edgeconv.runtime.choices import BackendName
from edgeconv.runtime.model_info import file_sha256
from edgeconv.runtime.user_cache import read_cache_json, update_cache_json

ORT = BackendName.ONNXRUNTIME
FormTimer = Callable[[Mapping[str, tuple[BackendName, Path]], BackendOptions, OnStatus], Timings]


@dataclass(frozen=True)
class FormPick:
    """The file ONNX Runtime loads for a shipped model, and the timings that chose it."""

    file: Path
    how: str  # CACHED | MEASURED_NOW
    median_ms: dict[str, float] = field(default_factory=dict)  # file name -> ms per frame
    hw: tuple[int, int] = MEASURE_HW
    measured: str = ""
    dropped: dict[str, str] = field(default_factory=dict)  # file name -> why it did not run (nothing cached then)

    def line(self) -> str:
        """``ONNX Runtime form: NAME (faster here: 44.6 ms vs OTHER 47.9 ms per 640x360 frame, ...)``."""
        if self.dropped and not self.median_ms:
            why = "; ".join(f"{name}: {reason}" for name, reason in self.dropped.items())
            return f"ONNX Runtime form: {self.file.name} (the default: neither file ran in the measurement: {why})"
        mine = self.median_ms.get(self.file.name)
        others = ", ".join(f"{name} {ms:.1f} ms" for name, ms in self.median_ms.items() if name != self.file.name)
        when = f"measured {self.measured}, cached" if self.how == CACHED else "measured now, cached"
        h, w = self.hw
        timing = f"faster here: {mine:.1f} ms vs {others or 'nothing else'} per {w}x{h} frame, {when}" \
            if mine is not None else when
        return f"ONNX Runtime form: {self.file.name} ({timing})"


def form_key(prelu: Path, mul_max: Path, options: BackendOptions) -> str:
    """The cache entry of one pair of files: this CPU, ONNX Runtime's version, the options, both files' bytes."""
    return measure_key(f"ort-form:{file_sha256(prelu)},{file_sha256(mul_max)}", [ORT], options)


def cached_ort_form(prelu: Path, mul_max: Path, options: BackendOptions, key: str | None = None) -> FormPick | None:
    """The cached pick for these two files and options (``key``: their ``form_key``, when the caller has it), or
    None when they were not measured here yet."""
    entry = read_cache_json(CACHE_NAME).get(key or form_key(prelu, mul_max, options))
    by_name = {prelu.name: prelu, mul_max.name: mul_max}
    try:
        h, w = (int(v) for v in entry["input"].split("x"))
        return FormPick(by_name[entry["file"]], CACHED, {str(k): float(v) for k, v in entry["median_ms"].items()},
                        (h, w), str(entry["measured"]))
    except (TypeError, KeyError, ValueError, AttributeError):  # no entry, or one this version cannot read
        return None


def faster_ort_form(prelu: Path, mul_max: Path, options: BackendOptions | None = None,
                    on_status: OnStatus | None = None, timer: FormTimer | None = None) -> FormPick:
    """The faster of two forms of one model on ONNX Runtime here: cached, else timed now and cached.

    Args:
        prelu: ``NAME.onnx`` (or its 8-bit / Y-plane sibling), PReLU kept.
        mul_max: ``NAME.ort.onnx`` (the same sibling), PReLU as Mul + Max.
        options: threads, device, precision (part of the key).
        on_status: hears progress while timing.
        timer: replaces ``time_contestants`` (tests inject timings keyed by file name).

    Returns:
        The ``FormPick``; ``mul_max`` (the shipped default for ONNX Runtime) when neither file ran.
    """
    options = options or BackendOptions()
    key = form_key(prelu, mul_max, options)  # both files hashed once: read and write use it
    cached = cached_ort_form(prelu, mul_max, options, key)
    if cached is not None:
        return cached
    by_name = {prelu.name: prelu, mul_max.name: mul_max}
    timing = replace(options, byte_output=True)  # our own loader: the 8-bit forms may load (as upscale's do)
    found = (timer or time_contestants)({prelu.name: (ORT, prelu), mul_max.name: (ORT, mul_max)}, timing,
                                        on_status or (lambda _line: None))
    if not found.median_ms:
        return FormPick(mul_max, MEASURED_NOW, dropped=found.dropped)
    order = [mul_max.name, prelu.name]  # a tie keeps the shipped default
    chosen = min(found.median_ms, key=lambda name: (found.median_ms[name], order.index(name)))
    median_ms, today = {name: round(ms, 2) for name, ms in found.median_ms.items()}, time.strftime("%Y-%m-%d")
    update_cache_json(CACHE_NAME, key, {"file": chosen, "median_ms": median_ms,
                                        "input": f"{found.hw[0]}x{found.hw[1]}", "measured": today})
    return FormPick(by_name[chosen], MEASURED_NOW, median_ms, found.hw, today)


def shipped_forms(name: str, scale: int, video: bool) -> tuple[Path, Path] | None:
    """The two files of a shipped model that ``upscale`` would run on ONNX Runtime - ``(prelu, mul_max)``: the
    8-bit output forms for images (``NAME.u8.onnx``, ``NAME.u8.ort.onnx``), the Y-plane forms for video - or None
    when ``name`` is not shipped or a file is missing."""
    from edgeconv.runtime.shipped_models import (
        SHIPPED_MODELS,
        byte_output_form,
        for_onnxruntime,
        luma_plane_form,
        shipped_path,
    )

    if name not in SHIPPED_MODELS:
        return None
    generic = shipped_path(name, scale)
    prelu = luma_plane_form(generic) if video else byte_output_form(generic)
    mul_max = for_onnxruntime(prelu) if video else byte_output_form(for_onnxruntime(generic))
    return (prelu, mul_max) if prelu.is_file() and mul_max.is_file() else None
