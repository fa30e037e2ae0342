"""The one registry of back ends: names to classes; each class owns what differs about it.

A back end answers ``status()`` (usable here, and why), loads and runs a model, and measures its
own per-layer times; the profiler and ``edgeconv doctor`` ask it and never branch on its name.
Adding a back end is one class and one line here.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from edgeconv.errors import UsageError
from edgeconv.runtime.backends.base import Backend, BackendOptions
from edgeconv.runtime.backends.onnxruntime import OnnxRuntimeBackend
from edgeconv.runtime.backends.openvino import OpenVinoBackend
from edgeconv.runtime.backends.tensorrt import TensorRtBackend
from edgeconv.runtime.choices import BackendChoice, BackendName, parse_choice

BACKENDS: dict[BackendName, type[Backend]] = {
    BackendName.ONNXRUNTIME: OnnxRuntimeBackend,
    BackendName.OPENVINO: OpenVinoBackend,
    BackendName.TENSORRT: TensorRtBackend,
}


def backend_name(name: BackendName | str) -> BackendName:
    """``name`` as a ``BackendName``.

    Args:
        name: a member or its value (``onnxruntime``, ``openvino``, ``tensorrt``).

    Returns:
        The ``BackendName`` member.

    Raises:
        UsageError: any other name, listing the back ends.
    """
    if not isinstance(name, BackendName) and str(name) not in BackendName.values():
        raise UsageError("--backend", f"unknown back end {str(name)!r}", f"expected {', '.join(BACKENDS)}")
    return BackendName(name)


def create_backend(name: BackendName | str, model: str | Path, options: BackendOptions | None = None) -> Backend:
    """Load ``model`` in the back end called ``name``.

    Args:
        name: ``onnxruntime``, ``openvino`` or ``tensorrt``.
        model: an ONNX file written by edgeconv (its metadata says how to pre- and post-process).
        options: threads, device, precision, caches; None: the defaults.

    Returns:
        A loaded ``Backend``: ``run`` takes (N, C, H, W) float32 and returns the model's NCHW float32 output.

    Raises:
        UsageError: an unknown name or a missing file.
        MissingExtraError: the back end's package is not installed.
        EdgeConvError: the back end cannot load the model (the reason in one line).
    """
    return BACKENDS[backend_name(name)](model, options)


def backend_status() -> list[tuple[BackendName, bool, str]]:
    """Whether each back end can run here, for ``edgeconv doctor``.

    Returns:
        ``(back end, usable, why)`` for every back end, in registry order.
    """
    return [(name, *cls.status()) for name, cls in BACKENDS.items()]


def usable_backends() -> list[BackendName]:
    """The back ends that can run here (what ``--backend all`` means).

    Returns:
        Their names, in registry order.
    """
    return [name for name, usable, _ in backend_status() if usable]


def resolve_backends(choices: Iterable[BackendChoice | str]) -> list[BackendName]:
    """What ``--backend`` asked for, as back end names.

    A back end named explicitly stays even when it is not usable here: loading it then says why.

    Args:
        choices: ``--backend`` values (``onnxruntime``, ``openvino``, ``tensorrt``, ``all``), repeats allowed.

    Returns:
        Each back end once, in registry order; ``all`` adds every usable one.

    Raises:
        UsageError: no choice, or an unknown one.
    """
    asked = [parse_choice(BackendChoice, choice, "--backend") for choice in choices]
    if not asked:
        raise UsageError("--backend", "names no back end", f"expected {', '.join(BackendChoice.values())}")
    wanted = {BackendName(c.value) for c in asked if c != BackendChoice.ALL}
    if BackendChoice.ALL in asked:
        wanted.update(usable_backends())
    return [name for name in BACKENDS if name in wanted]
