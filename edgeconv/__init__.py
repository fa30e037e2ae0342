"""edgeconv: shift-based dynamic convolutions, rewritten to static graphs for edge runtimes.

This file stays light: importing ``edgeconv`` (and so ``edgeconv.runtime``) must not load
torch. The PyTorch ops are re-exported lazily through PEP 562 ``__getattr__``.
"""

from __future__ import annotations

import importlib
from typing import Any

from edgeconv.errors import EdgeConvError

__version__ = "0.1.0"

_LAZY_OPS = {
    "integer_shift": "edgeconv.shift",
    "ShiftBlend": "edgeconv.shift",
    "JitterConv": "edgeconv.jitter_conv",
    "ShiftwiseConv": "edgeconv.shiftwise_conv",
    "PixelMix": "edgeconv.pixel_mix",
    "DynamicModule": "edgeconv.dynamic",
    "RepConv": "edgeconv.rep_conv",
}

__all__ = ["EdgeConvError", "__version__", *_LAZY_OPS]


def __getattr__(name: str) -> Any:
    module_name = _LAZY_OPS.get(name)
    if module_name is None:
        raise AttributeError(f"module 'edgeconv' has no attribute {name!r}")
    return getattr(importlib.import_module(module_name), name)


def __dir__() -> list[str]:
    return sorted(__all__)
