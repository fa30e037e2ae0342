"""Which shift lowering to export for which back end, from measurements on whole blocks.

``benchmarks/shift_ops.py --update-table`` measures 1x1 -> shift -> 1x1 blocks and the SR model
with both lowerings per back end and writes ``lowering_table.json`` beside this file. Back ends
without a measurement (TensorRT here) use the slice lowering, the design's default.
"""

from __future__ import annotations

import json
from pathlib import Path

from edgeconv.dynamic import Lowering
from edgeconv.errors import UsageError

TABLE_PATH = Path(__file__).with_name("lowering_table.json")
BACKENDS = ("onnxruntime", "openvino", "tensorrt")
DEFAULT_LOWERING: Lowering = "slice"


def lowering_for(backend: str | None) -> Lowering:
    """The measured fastest lowering for ``backend``; ``None`` means the slice default."""
    if backend is None:
        return DEFAULT_LOWERING
    if backend not in BACKENDS:
        raise UsageError("--target-backend", f"unknown back end {backend!r}", f"expected one of {', '.join(BACKENDS)}")
    if not TABLE_PATH.is_file():
        return DEFAULT_LOWERING
    table = json.loads(TABLE_PATH.read_text())
    return table.get("lowering", {}).get(backend, DEFAULT_LOWERING)
