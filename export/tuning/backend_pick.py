"""``edgeconv export`` without ``--backend``: the form of the back end that runs this checkpoint fastest here.

Each installed back end's form (its lowering, PReLU kept or as Mul + Max) is exported to a temporary file with the
model's facts and timed by ``edgeconv.runtime.backends.fastest`` - the same measurement and cache that ``upscale``
uses, keyed here by the checkpoint's SHA-256 (and the lowering and opset asked for), so a second export of the
same checkpoint on this machine measures nothing.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import torch

from edgeconv.export.graph.from_checkpoint import ExportSettings, checkpoint_facts, file_sha256, set_metadata
from edgeconv.export.graph.from_module import export_deployed
from edgeconv.models.checkpoints.format import load_checkpoint
from edgeconv.runtime.atomic_write import write_bytes_atomic
from edgeconv.runtime.backends.base import BackendOptions
from edgeconv.runtime.backends.fastest import (
    BackendPick,
    OnStatus,
    Timer,
    cached_pick,
    installed_backends,
    measure_pick,
)


def checkpoint_identity(settings: ExportSettings) -> str:
    """The cache identity of an export: the checkpoint's SHA-256, the lowering and the opset asked for."""
    lowering = settings.lowering or "auto"
    return f"checkpoint={file_sha256(settings.checkpoint)},lowering={lowering},opset={settings.opset}"


def fastest_export_target(settings: ExportSettings, on_status: OnStatus | None = None,
                          timer: Timer | None = None) -> BackendPick:
    """The back end whose form ``edgeconv export`` writes when no target is given: cached, else measured now.

    Args:
        settings: the export request (checkpoint, lowering, opset, simplify); its ``target_backend`` is ignored.
        on_status: hears progress (a status line).
        timer: replaces the timing (tests inject timings).

    Returns:
        The ``BackendPick`` (``only`` with one back end installed: nothing exported or timed).

    Raises:
        CheckpointError: the checkpoint cannot be loaded safely.
        EdgeConvError: a form fails the graph audit.
    """
    options, candidates = BackendOptions(), installed_backends()
    identity = checkpoint_identity(settings)
    found = cached_pick(identity, candidates, options)
    if found is not None:
        return found
    ckpt = load_checkpoint(settings.checkpoint)
    model = ckpt.build_model(settings.checkpoint)
    probe = checkpoint_facts(ckpt, settings.checkpoint, "slice", settings.opset)
    side = int(probe.extra.get("input_size", 64))
    example = torch.rand(1, 3, side, side)
    with tempfile.TemporaryDirectory(prefix="edgeconv-forms-") as tmp:
        files = {}
        for name in candidates:
            if on_status is not None:
                on_status(f"measuring the fastest back end: exporting the {name} form ...")
            result = export_deployed(model, example, None, target_backend=str(name), lowering=settings.lowering,
                                     simplify=settings.simplify, opset=settings.opset, model_name=ckpt.model_name)
            facts = checkpoint_facts(ckpt, settings.checkpoint, result.lowering, settings.opset, result.prelu)
            set_metadata(result.model, facts.to_props())
            files[name] = Path(tmp) / f"{name}.onnx"
            write_bytes_atomic(files[name], result.model.SerializeToString())
        return measure_pick(identity, files, options, on_status, timer)
