"""Which shift lowering to export for which back end: measured on this CPU when it can be, else the table.

The fastest lowering of a shift (Pad/Slice/Concat or a fixed depthwise conv) depends on the CPU and
the back end (REFERENCES.md: OpenVINO's depthwise shift is 12x slower alone, slightly faster inside a
block; ONNX Runtime's is 30 % faster in a block). ``edgeconv tune`` (``edgeconv.export.tuning.lowering_tune``)
times both lowerings of a model on this CPU and back end and caches the choice under this CPU's
signature. ``lowering_for`` reads, in order: that cache, the committed table
(``benchmarks/shift_ops.py --update-table``: one machine's measurement, the fallback), the slice
lowering (the design's default; TensorRT here).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from edgeconv.dynamic import Lowering
from edgeconv.errors import UsageError
from edgeconv.runtime.cpu.features import cpu_signature
from edgeconv.runtime.user_cache import cache_dir, read_cache_json

TABLE_PATH = Path(__file__).with_name("lowering_table.json")
BACKENDS = ("onnxruntime", "openvino", "tensorrt")
DEFAULT_LOWERING: Lowering = "slice"
CACHE_NAME = "lowering.json"


@dataclass(frozen=True)
class LoweringChoice:
    """A lowering and where it came from (``measured here``, ``committed table``, ``default``)."""

    lowering: Lowering
    source: str


def cache_path() -> Path:
    """``lowering.json`` in the user cache (``edgeconv.runtime.user_cache``: ``$EDGECONV_CACHE_DIR``, else
    ``$XDG_CACHE_HOME/edgeconv`` or ``~/.cache/edgeconv``)."""
    return cache_dir() / CACHE_NAME


def cache_key(backend: str, model: str) -> str:
    """The cache entry of one model on one back end on this CPU."""
    return f"{cpu_signature()}|{backend}|{model}"


def read_cache() -> dict[str, dict]:
    """The cached measurements; an unreadable cache is treated as empty (it is only a cache)."""
    return read_cache_json(CACHE_NAME)


def _check_backend(backend: str) -> None:
    if backend not in BACKENDS:
        raise UsageError("--backend", f"unknown back end {backend!r}", f"expected one of {', '.join(BACKENDS)}")


def choose_lowering(backend: str | None, model: str | None = None) -> LoweringChoice:
    """The lowering to export ``model`` (a registry name) with for ``backend``, and its source."""
    if backend is None:
        return LoweringChoice(DEFAULT_LOWERING, "default (no target back end)")
    _check_backend(backend)
    if model is not None:
        entry = read_cache().get(cache_key(backend, model))
        if entry and entry.get("lowering") in ("slice", "conv"):
            times = ", ".join(f"{k} {v:.2f} ms" for k, v in entry.get("median_ms", {}).items())
            return LoweringChoice(entry["lowering"], f"measured on this CPU by edgeconv tune ({times})")
    if TABLE_PATH.is_file():
        table = json.loads(TABLE_PATH.read_text())
        if backend in table.get("lowering", {}):
            cpu = table.get("machine", {}).get("cpu", "another CPU")
            return LoweringChoice(table["lowering"][backend],
                                  f"committed table, measured on {cpu} (run edgeconv tune to measure here)")
    return LoweringChoice(DEFAULT_LOWERING, f"default: not measured for {backend}")


def lowering_for(backend: str | None, model: str | None = None) -> Lowering:
    """The lowering of ``choose_lowering`` without its source."""
    return choose_lowering(backend, model).lowering
