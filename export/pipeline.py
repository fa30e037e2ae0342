"""``edgeconv pipeline`` as one job: from a checkpoint to a validated INT8 model, a report and a sample.

checkpoint -> deploy rewrite -> ONNX (checked vs PyTorch) -> INT8 within a PSNR budget (``quantize_file``,
the one writer of quantized artifacts, with the settings ``edgeconv quantize --method percentile
--max-psnr-drop`` uses) -> the shared validator on every usable back end (reference: PyTorch) -> Markdown
report with plots + an upscaled sample image. Each step is the library job of its own command, and reports
one line on a stderr console.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from rich.console import Console

from edgeconv.errors import EdgeConvError, UsageError
from edgeconv.export.graph.from_checkpoint import CheckpointExport, ExportSettings, run_export
from edgeconv.export.quantization.job import quantize_file
from edgeconv.export.quantization.outcome import QuantizeResult
from edgeconv.export.quantization.settings import QuantizeSettings
from edgeconv.models.checkpoints.format import checkpoint_runner
from edgeconv.models.checkpoints.shipped import DEFAULT_CHECKPOINT
from edgeconv.runtime.backends.registry import usable_backends
from edgeconv.runtime.imaging.images import image_files
from edgeconv.runtime.imaging.upscale import UpscaleResult, UpscaleSettings, upscale_path
from edgeconv.runtime.validation.job import ValidationSettings, run_validation
from edgeconv.runtime.validation.sr_eval import default_images, selection_split, shared_sr_data
from edgeconv.runtime.validation.validator import Gates, ValidationResult

SAMPLE_TILE = 128


@dataclass
class PipelineSettings:
    """One pipeline run: the checkpoint (None: the shipped x2 model), the output folder, images, budget, timing."""

    checkpoint: Path | None = None
    out: Path = Path("out/pipeline")
    calib: Path | None = None  # None: T91 beside the checkout, else scikit-image photos (``default_images``)
    val: Path | None = None  # None: Set5 beside the checkout, else scikit-image photos
    max_psnr_drop: float = 0.1
    threads: int = 0  # the back end's own choice (every core), as the CLI
    runs: int = 20
    force: bool = False

    @property
    def fp32_path(self) -> Path:
        """The checked FP32 ONNX file the pipeline writes."""
        return self.out / "model.fp32.onnx"

    @property
    def int8_path(self) -> Path:
        """The INT8 artifact, written by ``quantize_file``."""
        return self.out / "model.int8.onnx"

    def check(self) -> None:
        """Raise ``UsageError`` before any work: a missing checkpoint, an earlier run's files (no ``force``), a bad
        folder or budget."""
        if self.checkpoint is not None and not self.checkpoint.is_file():
            raise UsageError(str(self.checkpoint), "no such file" if not self.checkpoint.exists() else "is not a file")
        existing = [p for p in (self.fp32_path, self.int8_path, self.out / "report.md") if p.exists()]
        if existing and not self.force:
            raise UsageError(str(existing[0]), "already exists", "pass --force to overwrite the earlier run")
        if self.val is not None and not self.val.is_dir():
            raise UsageError(str(self.val), "is not a folder of HR images")
        if math.isnan(self.max_psnr_drop) or self.max_psnr_drop < 0:
            raise UsageError("--max-psnr-drop", f"must be >= 0 dB, got {self.max_psnr_drop}")


@dataclass
class PipelineResult:
    """Every artifact the pipeline wrote, and the validation table (truthy when every gate passed)."""

    exported: CheckpointExport
    quantized: QuantizeResult
    validation: ValidationResult
    report: Path
    sample: Path
    sample_backend: str

    def __bool__(self) -> bool:
        """True when every validation gate passed."""
        return bool(self.validation)


def run_pipeline(settings: PipelineSettings, console: Console | None = None) -> PipelineResult:
    """Export, quantize within the budget, validate on every usable back end, report and upscale a sample.

    Each step is the library job its own command runs (``run_export``, ``quantize_file``, ``run_validation``,
    ``upscale_path``); a failed validation gate is in the result, not raised.

    Args:
        settings: the checkpoint (default: the shipped ``photo`` model), output folder, image folders (default:
            Set5 / T91, else scikit-image photos), PSNR-Y budget, threads, runs.
        console: where progress goes (default: stderr).

    Returns:
        ``PipelineResult``: the FP32 and INT8 ONNX files (NCHW RGB in [0, 1] in and out), the validation table
        (truthy when every gate passed), the report and the upscaled sample image.

    Raises:
        UsageError: bad settings, earlier files without ``force``, or a checkpoint that is not an SR model.
        EdgeConvError: the export fails its checks, or INT8 misses the budget (no INT8 file is written).
    """
    settings.check()
    console = console or Console(stderr=True)
    checkpoint = settings.checkpoint or DEFAULT_CHECKPOINT
    settings.out.mkdir(parents=True, exist_ok=True)
    calib, val = _image_folders(settings, console)
    with console.status("1/4 export: rewrite, ONNX, onnxsim, audit, check vs PyTorch ..."):
        exported = run_export(ExportSettings(checkpoint, settings.fp32_path, check_images=val))
    console.print(f"1/4 exported {settings.fp32_path}: max abs error vs PyTorch {exported.max_abs_error:.1e} "
                  f"({exported.export.simplifier}, lowering {exported.export.lowering})")
    if exported.facts.task != "sr":
        raise UsageError(str(checkpoint), f"is a {exported.facts.task!r} model; the pipeline validates SR models")
    quantized = _quantize(settings, calib, _budget_images(settings, val, console), console)
    with console.status(f"3/4 validating FP32 and INT8 on {', '.join(usable_backends())} ..."):
        validation = run_validation(ValidationSettings(
            [settings.fp32_path, settings.int8_path], images=val, checkpoint=checkpoint, load_reference=_torch_model,
            threads=settings.threads, runs=settings.runs, gates=Gates(max_psnr_drop=settings.max_psnr_drop),
            json_out=settings.out / "validation.json", report=settings.out, force=settings.force,
        ), on_note=lambda line: console.print(line, highlight=False, markup=False))
    console.print(f"3/4 validated {len(validation.rows)} model x back-end pairs: {'pass' if validation else 'FAIL'}")
    sample = _sample(settings, validation, val, exported.facts.scale or 1)
    console.print(f"4/4 report {validation.report_path}, sample {sample.target} ({sample.backend})")
    return PipelineResult(exported, quantized, validation, validation.report_path or settings.out / "report.md",
                          sample.target, sample.backend)


def _torch_model(checkpoint: Path) -> Callable[[np.ndarray], np.ndarray]:
    """The checkpoint's PyTorch model as a numpy function: the validation reference."""
    return checkpoint_runner(checkpoint)


def _image_folders(settings: PipelineSettings, console: Console) -> tuple[Path, Path]:
    """``(calibration, validation)`` folders: the given ones, else ``default_images`` (photos into ``out/photos``)."""
    photos = settings.out / "photos"
    val, calib = settings.val, settings.calib
    if val is None:
        val, note = default_images("--images", "Set5", photos_into=photos)
        console.print(f"validation images: {note}", highlight=False)
    if calib is None:
        calib, note = default_images("--calib", "T91", photos_into=photos)
        demo = " (the validation images: a demo, not a measurement)" if calib == val else ""
        console.print(f"calibration images: {note}{demo}", highlight=False)
    return calib, val


def _budget_images(settings: PipelineSettings, val: Path, console: Console) -> Path:
    """The images that choose which layers stay FP32: the fixed BSD200 split (``selection_split``), never the
    images the report scores; without BSD200 here, the validation images, and the console says so."""
    shared = shared_sr_data()
    if settings.val is not None or shared is None or not (shared / "BSD200").is_dir():
        console.print("budget images: the validation images (no BSD200 split here: a demo, not a measurement)",
                      highlight=False)
        return val
    folder = settings.out / "budget_images"
    folder.mkdir(exist_ok=True)
    for image in selection_split(shared):
        link = folder / image.name
        if not link.is_symlink():
            link.symlink_to(image.resolve())
    console.print(f"budget images: {len(selection_split(shared))} BSD200 images (every 10th), not {val.name}",
                  highlight=False)
    return folder


def _quantize(settings: PipelineSettings, calib: Path, val: Path, console: Console) -> QuantizeResult:
    """INT8 through the one writer, with ``edgeconv quantize --method percentile --max-psnr-drop``'s settings."""
    done = quantize_file(QuantizeSettings(settings.fp32_path, calib, val, settings.int8_path, method="percentile",
                                          max_psnr_drop=settings.max_psnr_drop, threads=settings.threads))
    outcome = done.outcome
    kept = ", ".join(k.module for k in outcome.budget.kept_float) if outcome.budget else "none"
    drop = outcome.fp32_psnr_db - outcome.chosen.psnr_db
    console.print(f"2/4 INT8 ({outcome.scheme.why if outcome.scheme else 'scheme as set'}): PSNR-Y drop "
                  f"{drop:.3f} dB (budget {settings.max_psnr_drop}), FP32 kept: {kept or 'none'}", highlight=False)
    if not done.ok:
        raise EdgeConvError(str(settings.int8_path), outcome.failure, "nothing was written")
    return done


def _sample(settings: PipelineSettings, validation: ValidationResult, val: Path, scale: int) -> UpscaleResult:
    """Upscale the first validation image with the FP32 model on the back end that ran it fastest."""
    fastest = min((r for r in validation.rows if r.precision == "fp32"), key=lambda r: r.latency.p50)
    source = image_files(val)[0]
    return upscale_path(UpscaleSettings(source, settings.out / f"{source.stem}_x{scale}.png", settings.fp32_path,
                                        backend=fastest.backend, threads=settings.threads, tile=SAMPLE_TILE))
