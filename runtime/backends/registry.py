"""The one registry of back ends: names to classes; each class owns what differs about it.

A back end answers ``status()`` (usable here, and why), loads and runs a model, and measures its
own per-layer times; the profiler and ``edgeconv doctor`` ask it and never branch on its name.
Adding a back end is one class and one line here.
"""

from __future__ import annotations

from pathlib import Path

from edgeconv.errors import UsageError
from edgeconv.runtime.backends.base import Backend, BackendOptions
from edgeconv.runtime.backends.onnxruntime import OnnxRuntimeBackend
from edgeconv.runtime.backends.openvino import OpenVinoBackend
from edgeconv.runtime.backends.tensorrt import TensorRtBackend

BACKENDS: dict[str, type[Backend]] = {
    "onnxruntime": OnnxRuntimeBackend,
    "openvino": OpenVinoBackend,
    "tensorrt": TensorRtBackend,
}


def create_backend(name: str, model: str | Path, options: BackendOptions | None = None) -> Backend:
    """Load ``model`` in the back end called ``name`` (``onnxruntime``, ``openvino``, ``tensorrt``)."""
    if name not in BACKENDS:
        raise UsageError("--backend", f"unknown back end {name!r}", f"expected {', '.join(BACKENDS)}")
    return BACKENDS[name](model, options)


def backend_status() -> list[tuple[str, bool, str]]:
    """``(back end, usable, why)`` for every back end on this machine (``edgeconv doctor``)."""
    return [(name, *cls.status()) for name, cls in BACKENDS.items()]


def usable_backends() -> list[str]:
    """The back ends that can run here (what ``--backend all`` means)."""
    return [name for name, usable, _ in backend_status() if usable]
