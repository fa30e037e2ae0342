"""``edgeconv pipeline [CKPT]``: the main job, from checkpoint to a validated INT8 model in one command.

checkpoint -> deploy rewrite -> ONNX (checked vs PyTorch) -> INT8 within a PSNR budget -> the
shared validator on every usable back end against Set5 (reference: PyTorch) -> Markdown report
with plots + an upscaled sample image; the validator's table is printed last.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from edgeconv.cli.arguments import Force, OutDir, Runs, Threads, renamed

if TYPE_CHECKING:
    from edgeconv.export.pipeline import PipelineResult

SrCheckpoint = Annotated[Path | None, typer.Argument(help="An SR checkpoint (default: the shipped x2 model).")]
Calib = Annotated[Path | None, typer.Option(
    metavar="DIR", help="Calibration images (default: T91, else scikit-image photos).")]
Val = Annotated[Path | None, typer.Option(
    "--images", metavar="DIR", help="HR images validated on (default: Set5, else scikit-image photos).")]
Budget = Annotated[float, typer.Option(help="INT8 budget in dB of PSNR-Y.")]
Command = renamed({"--val": "--images"})  # old names still taken (docs/CLI_OPTIONS.md)


def pipeline(
    checkpoint: SrCheckpoint = None,
    out: OutDir = Path("out/pipeline"),
    calib: Calib = None,
    val: Val = None,
    max_psnr_drop: Budget = 0.1,
    threads: Threads = 0,
    runs: Runs = 20,
    force: Force = False,
) -> None:
    """Export, quantize, validate on every back end, report and upscale a sample - in one go.

    Example: edgeconv pipeline -o out/demo
    """
    from edgeconv.export.pipeline import PipelineSettings, run_pipeline

    _print_result(run_pipeline(PipelineSettings(checkpoint=checkpoint, out=out, calib=calib, val=val,
                                                max_psnr_drop=max_psnr_drop, threads=threads, runs=runs, force=force)))


def _print_result(done: PipelineResult) -> None:
    """The validator's table last (wide even in pipes), then the first failed gate as the error."""
    from rich.console import Console

    from edgeconv.runtime.validation.report import rich_table

    Console(width=max(150, Console().width)).print(rich_table(done.validation))  # a 13-column table
    done.validation.raise_for_failures(f"see {done.report}")
