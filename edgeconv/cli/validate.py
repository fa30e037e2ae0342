"""``edgeconv validate`` and ``edgeconv doctor``: accuracy + latency on every back end; what runs here."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from edgeconv.cli.arguments import (
    Backends,
    Device,
    Force,
    Images,
    JsonOut,
    Runs,
    Threads,
    parse_hw,
    refuse_overwrite,
    renamed,
    size_option,
)
from edgeconv.runtime.choices import BackendChoice, DegradationProtocol, InferenceDevice

if TYPE_CHECKING:
    import numpy as np

    from edgeconv.runtime.validation.job import ValidationSettings
    from edgeconv.runtime.validation.validator import ValidationResult

Models = Annotated[list[Path], typer.Argument(help="ONNX models to validate (FP32, FP16, INT8 ...).")]
ReferenceCheckpoint = Annotated[
    Path | None, typer.Option("--checkpoint", help="PyTorch checkpoint as the reference (needs torch).")
]
ReferenceModel = Annotated[Path | None, typer.Option(help="FP32 ONNX reference (default: the first FP32 model).")]
Warmup = Annotated[int, typer.Option(help="Untimed warm-up runs.")]
LatencySize = Annotated[str, size_option("Input of the latency runs")]
Atol = Annotated[float | None, typer.Option(help="Gate: max abs error vs the reference.")]
MaxPsnrDrop = Annotated[float | None, typer.Option(help="Gate: dB of PSNR-Y below the reference.")]
MaxLatencyMs = Annotated[float | None, typer.Option(help="Gate: p50 latency in ms.")]
ReportDir = Annotated[Path | None, typer.Option(metavar="DIR", help="Folder for a Markdown report with PNG plots.")]
Degradation = Annotated[DegradationProtocol, typer.Option(help="How SR inputs are made (bicubic: the benchmarks).")]
Crop = Annotated[int | None, typer.Option(
    help="Score a centre N-px crop of each HR image (the table says so); default: whole images, the standard.")]
Command = renamed({"--latency-size": "--size"})  # old names still taken (docs/CLI_OPTIONS.md)


def torch_reference(checkpoint: Path) -> Callable[[np.ndarray], np.ndarray] | None:
    """The PyTorch checkpoint as a numpy function (NCHW float32 in and out), or None when torch is not here.

    Lives on the CLI side so the validation job stays torch-free: it receives this as a callable.
    """
    try:
        import torch  # noqa: F401 - only asks whether torch is here
    except ImportError:
        return None
    from edgeconv.models.checkpoints.format import checkpoint_runner

    return checkpoint_runner(checkpoint)


def validate(
    models: Models,
    backend: Backends = [BackendChoice.ALL],  # noqa: B006
    device: Device = InferenceDevice.CPU,
    images: Images = None,
    checkpoint: ReferenceCheckpoint = None,
    reference: ReferenceModel = None,
    threads: Threads = 0,
    runs: Runs = 30,
    warmup: Warmup = 5,
    size: LatencySize = "360x640",
    atol: Atol = None,
    max_psnr_drop: MaxPsnrDrop = None,
    max_latency_ms: MaxLatencyMs = None,
    json_out: JsonOut = None,
    report: ReportDir = None,
    degradation: Degradation = DegradationProtocol.BICUBIC,
    crop: Crop = None,
    force: Force = False,
) -> None:
    """Run models on back ends with the same inputs; compare with one reference; time; apply gates.

    Exit code 1 when a gate fails. Catches the INT8 model that runs but is broken: its PSNR-Y
    against the HR images drops.

    Example: edgeconv validate out/sr.onnx out/sr.int8.onnx --images ../shared/data/sr/Set5 --report out/val
    """
    from edgeconv.runtime.validation.job import Gates, ValidationSettings

    latency_hw = parse_hw(size, "--size")  # arguments first, before any model loads
    refuse_overwrite(json_out, force)
    result = _run(ValidationSettings(
        models=models, backends=backend, device=device, images=images, checkpoint=checkpoint,
        load_reference=torch_reference, reference=reference, threads=threads, runs=runs, warmup=warmup,
        latency_hw=latency_hw, gates=Gates(atol=atol, max_psnr_drop=max_psnr_drop, max_latency_ms=max_latency_ms),
        json_out=json_out, report=report, force=force, degradation=degradation, crop=crop))
    _print_result(result)
    result.raise_for_failures()


def _run(settings: ValidationSettings) -> ValidationResult:
    """The validation job under a spinner on stderr, printing its notes (a back end skipped ...) and each finished
    row (progress that a pipe shows too) as they come."""
    from rich.console import Console
    from rich.markup import escape

    from edgeconv.runtime.validation.job import row_line, run_validation

    err = Console(stderr=True)

    def say(line: str) -> None:
        err.print(escape(line), highlight=False)

    with err.status("validating ..."):
        return run_validation(settings, on_note=say, on_row=lambda row: say(row_line(row)))


def _print_result(result: ValidationResult) -> None:
    """The validation table (wide even in pipes: 13 columns), where the report went, and one line per model that a
    back end ran in another back end's form (slower: ``forms``)."""
    from rich.console import Console

    from edgeconv.runtime.backends.forms import print_form_notes
    from edgeconv.runtime.validation.report import rich_table

    print_form_notes()

    console = Console(width=max(150, Console().width))
    console.print(rich_table(result))
    if result.report_path is not None:
        console.print(f"report: {result.report_path}")
