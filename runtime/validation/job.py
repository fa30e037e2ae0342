"""The validation job: load models on back ends, pick the images and the reference, validate, write reports.

One path from settings to a ``ValidationResult`` for ``edgeconv validate`` (and any other caller). It is
torch-free: a PyTorch reference comes in as a callable (``ValidationSettings.load_reference``), so the job
runs on a device that only has the runtime installed.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from edgeconv.errors import BackendRefusal, UsageError
from edgeconv.runtime.backends.base import Backend, BackendOptions
from edgeconv.runtime.backends.registry import create_backend, resolve_backends
from edgeconv.runtime.choices import BackendChoice, BackendName, DegradationProtocol, InferenceDevice, parse_choice
from edgeconv.runtime.csv_files import refuse_csv_overwrite
from edgeconv.runtime.validation.report import write_json, write_markdown
from edgeconv.runtime.validation.sr_eval import default_images
from edgeconv.runtime.validation.validator import (
    Gates,
    Run,
    ValidationResult,
    ValidationRow,
    validate,
    validation_inputs,
)

Note = Callable[[str], None]


@dataclass
class ValidationSettings:
    """Everything one validation run needs, as the user asked for it."""

    models: list[Path]
    backends: list[BackendChoice] = field(default_factory=lambda: [BackendChoice.ALL])  # all: every usable one
    device: InferenceDevice = InferenceDevice.CPU  # where the validated back ends run (the reference: ORT on CPU)
    images: Path | None = None  # None: Set5 beside the checkout (``default_images``)
    checkpoint: Path | None = None  # the PyTorch reference, loaded by ``load_reference``
    load_reference: Callable[[Path], Run | None] | None = None  # returns None where torch is not installed
    reference: Path | None = None  # FP32 ONNX reference; None: the first FP32 model
    threads: int = 0  # the back end's own choice (every core), as the CLI
    runs: int = 30
    warmup: int = 5
    latency_hw: tuple[int, int] = (360, 640)
    gates: Gates = field(default_factory=Gates)
    json_out: Path | None = None  # the JSON report; a CSV of its rows goes beside it (``csv_beside``)
    report: Path | None = None  # folder for report.md and its plots
    force: bool = False
    degradation: DegradationProtocol = DegradationProtocol.BICUBIC  # how SR inputs are made from the HR images
    crop: int | None = None  # SR: score a centre crop of this side of each HR image; None: whole images (standard)

    def __post_init__(self) -> None:
        """Plain strings (library callers) become members; an unknown one is a ``UsageError`` naming the choices."""
        self.backends = [parse_choice(BackendChoice, b, "--backend") for b in self.backends]
        self.degradation = parse_choice(DegradationProtocol, self.degradation, "--degradation")


def run_validation(settings: ValidationSettings, on_note: Note | None = None,
                   on_row: Callable[[ValidationRow], None] | None = None) -> ValidationResult:
    """Validate every model on every back end against one reference; write the JSON (a CSV of its rows beside it)
    and the report if asked.

    Args:
        settings: the models, back ends, images, reference, gates, latency size and outputs.
        on_note: hears what the user should know on the way (a back end skipped, the reference replaced).
        on_row: hears each row as it is done (progress: ``row_line`` says it in one line).

    Returns:
        ``ValidationResult``: one row per (model, back end); falsy when a gate failed (``raise_for_failures``
        turns that into the error to show).

    Raises:
        UsageError: impossible counts, a report (or the CSV beside the JSON) that exists without ``force``, no back
            end that runs the models, no images, or no FP32 reference.
        BackendRefusal: a back end named explicitly refuses a model.
    """
    note = on_note or (lambda _line: None)
    _check(settings)
    runners = _load_runners(settings, note)
    images = settings.images or default_images("--images", "Set5")[0]
    data = validation_inputs(images, runners[0].facts, degradation=str(settings.degradation), crop=settings.crop)
    reference, reference_name = _reference(settings, runners, note)
    result = validate(runners, data, reference, reference_name, settings.gates, settings.latency_hw,
                      settings.runs, settings.warmup, on_row=on_row)
    if settings.json_out is not None:
        write_json(result, settings.json_out)
    if settings.report is not None:
        result.report_path = write_markdown(result, settings.report)
    return result


def _check(settings: ValidationSettings) -> None:
    """Refuse impossible counts and a report that would be overwritten, before any model loads."""
    if settings.runs < 1 or settings.warmup < 0:
        raise UsageError("--runs", "runs must be >= 1 and warm-up >= 0")
    report = settings.report / "report.md" if settings.report is not None else None
    if report is not None and report.exists() and not settings.force:
        raise UsageError(str(report), "already exists", "pass --force to overwrite it")
    refuse_csv_overwrite(settings.json_out, settings.force)


def row_line(row: ValidationRow) -> str:
    """The progress line of one finished row (a validation of several models and back ends takes a while)."""
    quality = "" if math.isnan(row.psnr_y_db) else f"PSNR-Y {row.psnr_y_db:.3f} dB, "
    return (f"done: {row.model} on {row.backend}: {quality}load {row.load_ms:.0f} ms, first inference "
            f"{row.first_inference_ms:.1f} ms, p50 {row.latency.p50:.1f} ms")


def _load_runners(settings: ValidationSettings, note: Note) -> list[Backend]:
    """Every (model, back end) pair; with ``all``, a back end that refuses a model is skipped with a note."""
    every = BackendChoice.ALL in settings.backends
    names = resolve_backends(settings.backends)
    options = BackendOptions(threads=settings.threads, device=settings.device)
    runners = []
    for model in settings.models:
        for name in names:
            try:
                runners.append(create_backend(name, model, options))
            except BackendRefusal as exc:
                if not every:
                    raise
                note(f"skipped: {exc.one_line()}")
    if not runners:
        raise UsageError("--backend", "no back end here runs these models", "see the skipped lines above")
    return runners


def _reference(settings: ValidationSettings, runners: list[Backend], note: Note) -> tuple[Run, str]:
    """The PyTorch checkpoint when given and torch is here, else the FP32 ONNX model on ONNX Runtime."""
    if settings.checkpoint is not None:
        run = settings.load_reference(settings.checkpoint) if settings.load_reference is not None else None
        if run is not None:
            return run, f"PyTorch {settings.checkpoint.name}"
        note("torch is not installed here: using the FP32 ONNX model as the reference")
    path = settings.reference or next((r.path for r in runners if r.facts.precision == "fp32"), None)
    if path is None:
        raise UsageError("reference", "none of the models is FP32", "pass --reference model.onnx or --checkpoint")
    runner = create_backend(BackendName.ONNXRUNTIME, path, BackendOptions(threads=settings.threads))
    return runner.run, f"{path.name} (FP32, onnxruntime)"
