"""``edgeconv export`` as a function: checkpoint -> deploy rewrite -> ONNX -> simplify -> audit -> check.

The graph is checked against the PyTorch model on real images in ONNX Runtime before anything is
written; the file carries the model's facts in ``metadata_props`` (``edgeconv.runtime.model_facts``)
and is written atomically, so a failed export leaves no file behind.
"""

from __future__ import annotations

import json
import math
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import get_args

import numpy as np
import onnx
import torch

from edgeconv import __version__
from edgeconv.dynamic import Lowering
from edgeconv.errors import EdgeConvError, UsageError
from edgeconv.export.graph.from_module import ExportResult, export_deployed
from edgeconv.export.graph.trace import DEFAULT_OPSET
from edgeconv.models.checkpoints.format import Checkpoint, load_checkpoint, numpy_runner
from edgeconv.runtime.atomic_write import write_bytes_atomic
from edgeconv.runtime.imaging.images import center_crop, image_files, read_image, resize_center_crop
from edgeconv.runtime.model_facts import ModelFacts
from edgeconv.runtime.model_info import file_sha256
from edgeconv.runtime.validation.sr_eval import default_images
from edgeconv.runtime.validation.validator import output_psnr

EXPORT_ATOL = 1e-4
LOWERINGS: tuple[str, ...] = get_args(Lowering)


@dataclass
class CheckpointExport:
    """What ``export_checkpoint`` wrote and how well the graph matched PyTorch."""

    path: Path | None
    facts: ModelFacts
    export: ExportResult
    max_abs_error: float
    output_psnr_db: float
    checked_on: str
    images: int


@dataclass
class ExportSettings:
    """One ``edgeconv export`` request, named as the command's options."""

    checkpoint: Path
    output: Path | None = None
    target_backend: str = "onnxruntime"
    lowering: str | None = None  # None: the measured (or tabled) fastest for ``target_backend``
    opset: int = DEFAULT_OPSET
    check_images: Path | None = None  # None: ``default_images`` (Set5, else scikit-image photos)
    simplify: bool = True

    def check(self) -> None:
        """Raise ``UsageError`` for a lowering the exporter does not know, and a checkpoint that is not a file."""
        if self.lowering not in (None, *LOWERINGS):
            raise UsageError("--lowering", f"unknown lowering {self.lowering!r}", "expected slice or conv")
        if not self.checkpoint.is_file():
            raise UsageError(str(self.checkpoint), "no such file" if not self.checkpoint.exists() else "is not a file")

    @property
    def output_path(self) -> Path:
        """``output``, else the checkpoint's path with ``.onnx``."""
        return self.output or self.checkpoint.with_suffix(".onnx")


def checkpoint_facts(ckpt: Checkpoint, source: Path, lowering: Lowering, opset: int,
                     prelu: str = "prelu", trainable: list[str] | None = None) -> ModelFacts:
    """The facts ``metadata_props`` carries for a model exported from ``ckpt``.

    Args:
        ckpt: the loaded checkpoint (task, scale, normalisation, config, training protocol).
        source: its file (name and SHA-256 recorded).
        lowering: the shift lowering of the graph.
        opset: the ONNX opset.
        prelu: how PReLU is written (``prelu`` or ``max``).
        trainable: the graph's weights that are the model's own parameters (what quantization-aware training
            may change); None leaves them out.

    Returns:
        ``ModelFacts``: FP32, NCHW RGB input in [0, 1] normalised by the checkpoint's mean/std.
    """
    extra = {
        "config": json.dumps(ckpt.config, sort_keys=True),
        "source_checkpoint": source.name,
        "source_checkpoint_sha256": file_sha256(source),
        "edgeconv_version": __version__,
        "lowering": lowering,
        "prelu": prelu,
        "opset": str(opset),
        "train_degradation": str(ckpt.train_args.get("degradation", "bicubic")),
    }
    if trainable is not None:
        extra["trainable"] = json.dumps(trainable)
    if ckpt.task == "cls":
        extra["input_size"] = str(int(ckpt.train_args.get("image_size", 32)))
    return ModelFacts(
        task=ckpt.task,
        scale=ckpt.scale,
        mean=tuple(ckpt.normalization["mean"]),
        std=tuple(ckpt.normalization["std"]),
        model=ckpt.model_name,
        precision="fp32",
        extra=extra,
    )


def set_metadata(model: onnx.ModelProto, props: dict[str, str]) -> None:
    """Replace the ``metadata_props`` entries named in ``props``; keep every other entry.

    Args:
        model: changed in place.
        props: ``{key: value}``, all strings.
    """
    kept = [(p.key, p.value) for p in model.metadata_props if p.key not in props]
    del model.metadata_props[:]
    for key, value in [*kept, *props.items()]:
        entry = model.metadata_props.add()
        entry.key, entry.value = key, value


def check_images(facts: ModelFacts, folder: Path | None, max_side: int) -> tuple[list[np.ndarray], str]:
    """uint8 RGB inputs for the PyTorch-vs-ONNX check, and where they came from.

    Args:
        facts: the model's facts (classification models get ``input_size`` centre crops).
        folder: real images; None: the default images (``default_images``: Set5, else scikit-image's
            photos, written to a temporary folder that is gone when this returns - the pixels stay in memory).
        max_side: SR images are centre-cropped to at most this side.

    Returns:
        ``(images, source)``: uint8 (H, W, 3) arrays and a note naming the folder.

    Raises:
        UsageError: no images there (or no default images).
    """
    with tempfile.TemporaryDirectory(prefix="edgeconv-check-") as tmp:
        if folder is None:
            folder, source = default_images("--images", "Set5", photos_into=Path(tmp))
        else:
            source = str(folder)
        images = [read_image(p) for p in image_files(folder)]
    if facts.task == "cls":
        size = int(facts.extra.get("input_size", 32))
        return [resize_center_crop(img, size) for img in images], source
    return [center_crop(img, max_side) for img in images], source


def export_checkpoint(
    checkpoint: str | Path,
    output: str | Path | None,
    target_backend: str | None = "onnxruntime",
    lowering: Lowering | None = None,
    simplify: bool = True,
    opset: int = DEFAULT_OPSET,
    check_folder: str | Path | None = None,
    max_side: int = 256,
    atol: float = EXPORT_ATOL,
) -> CheckpointExport:
    """Export ``checkpoint`` to ONNX and check it against PyTorch on real images.

    The graph is the deploy form (no dynamic ops), simplified and audited, with dynamic H x W and the model's
    facts in its metadata: NCHW float32 RGB in [0, 1] (normalised as trained) in, the model's output out.

    Args:
        checkpoint: an edgeconv checkpoint (.pt, loaded without unpickling code).
        output: where to write the ONNX file; None: write nothing (check only).
        target_backend: the back end whose fastest shift lowering is used (``lowering_for``).
        lowering: ``slice`` or ``conv`` to force one; None: the target back end's.
        simplify: run onnxsim.
        opset: the ONNX opset.
        check_folder: images for the check; None: ``check_images``' defaults.
        max_side: SR check images are centre-cropped to at most this side.
        atol: the largest max-abs difference from PyTorch allowed.

    Returns:
        ``CheckpointExport``: the path written (None when ``output`` is None), the facts, the graph, and the worst
        max-abs error and output PSNR against PyTorch.

    Raises:
        CheckpointError: the checkpoint cannot be loaded safely or does not fit its model.
        EdgeConvError: the graph fails the audit or differs from PyTorch by more than ``atol`` (nothing written).
    """
    import onnxruntime as ort

    source = Path(checkpoint)
    ckpt = load_checkpoint(source)
    model = ckpt.build_model(source)
    probe = checkpoint_facts(ckpt, source, "slice", opset)
    images, checked_on = check_images(probe, Path(check_folder) if check_folder else None, max_side)
    example = torch.from_numpy(probe.to_input(images[0]))
    result = export_deployed(model, example, None, target_backend=target_backend, lowering=lowering,
                             simplify=simplify, opset=opset, model_name=ckpt.model_name)
    parameters = {name for name, _ in model.named_parameters()}
    trainable = [t.name for t in result.model.graph.initializer if t.name in parameters]
    facts = checkpoint_facts(ckpt, source, result.lowering, opset, result.prelu, trainable)
    set_metadata(result.model, facts.to_props())
    serialized = result.model.SerializeToString()

    session = ort.InferenceSession(serialized, providers=["CPUExecutionProvider"])
    worst, worst_psnr, run_torch = 0.0, math.inf, numpy_runner(model)
    for image in images:
        x = facts.to_input(image)
        reference = run_torch(x)
        got = session.run(None, {session.get_inputs()[0].name: x})[0]
        worst = max(worst, float(np.abs(got - reference).max()))
        worst_psnr = min(worst_psnr, output_psnr(reference, got))
    if worst > atol:
        raise EdgeConvError(
            str(output or source), f"the ONNX graph differs from PyTorch by {worst:.2e} (limit {atol:.0e})",
            "nothing was written; report this with the checkpoint",
        )
    path = Path(output) if output is not None else None
    if path is not None:
        write_bytes_atomic(path, serialized)
    return CheckpointExport(path, facts, result, worst, worst_psnr, checked_on, len(images))


def run_export(settings: ExportSettings) -> CheckpointExport:
    """``edgeconv export`` as one call: check ``settings``, export, check against PyTorch, write ``output_path``.

    Args:
        settings: the command's options.

    Returns:
        ``CheckpointExport``, as ``export_checkpoint``.

    Raises:
        UsageError: an unknown lowering.
        CheckpointError: as ``export_checkpoint``.
        EdgeConvError: as ``export_checkpoint``.
    """
    settings.check()
    return export_checkpoint(settings.checkpoint, settings.output_path, settings.target_backend,
                             settings.lowering, settings.simplify, settings.opset, settings.check_images)
