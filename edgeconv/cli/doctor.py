"""``edgeconv doctor``: what runs here - back ends, torch, this machine and its INT8 target."""

from __future__ import annotations


def doctor() -> None:
    """List the back ends and devices usable here, and why the others are not; the default back end.

    Example: edgeconv doctor
    """
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    from edgeconv.runtime.backends.registry import backend_status
    from edgeconv.runtime.cpu.int8_targets import native_target
    from edgeconv.runtime.profiling.device_facts import describe_machine

    table = Table(title="edgeconv doctor")
    for col in ("back end", "usable", "details"):
        table.add_column(col)
    for name, usable, why in backend_status():
        table.add_row(name, "yes" if usable else "no", escape(why))
    try:
        import torch

        table.add_row("torch (export, train)", "yes", torch.__version__)
    except ImportError:
        table.add_row("torch (export, train)", "no",
                      escape("runtime-only install; pip install 'edgeconv[export]' to export"))
    machine = describe_machine()
    table.add_row("machine", machine.arch, escape(machine.summary))
    target, why = native_target()
    table.add_row("CPU INT8", target, escape(f"{why}; quantize picks its scheme for this target by default"))
    table.add_row(*_default_backend())
    Console().print(table)


def _default_backend() -> tuple[str, str, str]:
    """The row for the back end upscale and export use without --backend: the default model's cached pick."""
    from rich.markup import escape

    from edgeconv.runtime.backends.base import BackendOptions
    from edgeconv.runtime.backends.fastest import PENDING, fastest_for_model
    from edgeconv.runtime.backends.ort_form import cached_ort_form, shipped_forms
    from edgeconv.runtime.choices import BackendName
    from edgeconv.runtime.shipped_models import DEFAULT_MODEL

    pick = fastest_for_model(DEFAULT_MODEL, measure=False)
    chosen = "not yet" if pick.how == PENDING else str(pick.backend)
    why = f"{DEFAULT_MODEL} model: {pick.reason()}"
    if pick.backend == BackendName.ONNXRUNTIME and pick.how != PENDING:
        form = cached_ort_form(*shipped_forms(DEFAULT_MODEL, 2, video=False), BackendOptions())
        why += f"; {form.line()}" if form is not None else \
            "; which of its two files ONNX Runtime runs: measured by the first upscale (about 2 s)"
    return "default back end", chosen, escape(why)
