"""``edgeconv erf MODEL...``: effective receptive fields, size and diversity, with heat maps.

A checkpoint (.pt) gets RepLKNet's gradient ERF (needs torch); an exported model (.onnx, FP32,
FP16 or INT8) gets the impulse ERF on a back end (no torch), so a deployed model can be checked
against its PyTorch original with the same measures on the same images.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from edgeconv.cli.arguments import Device, Force, Images, OneBackend, OutDir, Threads, plain, renamed
from edgeconv.runtime.choices import BackendName, ErfTarget, InferenceDevice

if TYPE_CHECKING:
    import numpy as np

    from edgeconv.runtime.erf.job import ErfReport
    from edgeconv.runtime.erf.measures import ErfResult

ErfModels = Annotated[list[Path], typer.Argument(help="Checkpoints (.pt) and/or exported models (.onnx).")]
Count = Annotated[int, typer.Option(help="How many images to average over.")]
CropSide = Annotated[int, typer.Option(
    "--crop", metavar="N", help="Side of the centre crop of each image fed to the model (input pixels).")]
ErfTargetOption = Annotated[ErfTarget, typer.Option(
    "--erf-of", help="Whose ERF: checkpoints, the last feature map's or the output's; ONNX: always the output's.")]
Delta = Annotated[float | None, typer.Option(help="Impulse step in [0,1] image units (default: 0.01; INT8 0.08).")]
Dither = Annotated[int | None, typer.Option(help="Dithered copies per slope (default: 1; INT8 16).")]
Radius = Annotated[str, typer.Option(help="Impulse: perturb pixels within this radius of the centre: auto, all or N.")]
Command = renamed({"--size": "--crop", "--target": "--erf-of"})  # old names still taken (docs/CLI_OPTIONS.md)


def erf(
    models: ErfModels,
    images: Images = None,
    count: Count = 5,
    size: CropSide = 48,
    target: ErfTargetOption = ErfTarget.OUTPUT,
    backend: OneBackend = BackendName.ONNXRUNTIME,
    delta: Delta = None,
    dither: Dither = None,
    radius: Radius = "auto",
    threads: Threads = 0,
    device: Device = InferenceDevice.CPU,
    out: OutDir = Path("out/erf"),
    force: Force = False,
) -> None:
    """Measure the ERF of each model: r(20/30/50/99 %), anisotropy, orientation, angular spread,
    effective area; write heat maps on one colour scale and a comparison grid.

    Example: edgeconv erf models/weights/jitter_sr_x2.pt out/demo/model.int8.onnx --out out/erf
    """
    from rich.console import Console

    from edgeconv.runtime.erf.job import ErfSettings, measure_erfs

    settings = ErfSettings(models=models, images=images, count=count, size=size, target=plain(target),
                           backend=plain(backend), delta=delta, dither=dither, radius=radius, threads=threads,
                           device=plain(device), out=out, force=force, gradient_erf=checkpoint_erf)
    with impulse_progress() as on_progress:
        report = measure_erfs(settings, on_progress)
    _print_table(report)
    if not report.heat_maps:
        Console(stderr=True).print("heat maps skipped: matplotlib is not installed (pip install 'edgeconv[plot]')")
    Console().print(f"wrote {report.json_path} and heat maps in {out}")


def checkpoint_erf(path: Path, images: np.ndarray, target: str) -> ErfResult:
    """A checkpoint's gradient ERF; torch is imported here, on first use, so .onnx models need none."""
    try:
        from edgeconv.models.checkpoints.erf import checkpoint_gradient_erf
    except ImportError as exc:
        if (exc.name or "torch").split(".")[0] != "torch":
            raise
        from edgeconv.errors import MissingExtraError

        raise MissingExtraError("torch", "export", "the gradient ERF of a checkpoint") from exc
    return checkpoint_gradient_erf(path, images, target)  # type: ignore[arg-type]


@contextmanager
def impulse_progress() -> Iterator[Callable[[str, int, int], None]]:
    """A transient progress bar per model (impulses done / all; a checkpoint's gradient ERF as one step) on
    stderr; where stderr is not a terminal (a pipe, a log), a plain line at most every 5 s. Yields its callback."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    console = Console(stderr=True)
    if not console.is_terminal:
        yield progress_lines(console.print)
        return
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with Progress(*columns, console=console, transient=True) as progress:
        tasks: dict[str, object] = {}

        def update(name: str, done: int, total: int) -> None:
            if name not in tasks:
                tasks[name] = progress.add_task(name, total=None)
            progress.update(tasks[name], completed=done, total=total)  # type: ignore[arg-type]

        yield update


def progress_lines(say: Callable[[str], None], every_s: float = 5.0) -> Callable[[str, int, int], None]:
    """A progress callback that says ``NAME: 1200/4800 (25%)`` at most every ``every_s`` seconds of a model's
    run, and when it is done: progress that a pipe or a log file shows (nothing at the start, so a model that
    fails to load leaves its one error line alone)."""
    import time

    started: dict[str, float] = {}

    def update(name: str, done: int, total: int) -> None:
        now = time.monotonic()
        if name not in started:
            started[name] = now
        elif done >= total or now - started[name] >= every_s:
            started[name] = now
            say(f"{name}: {done}/{total} ({100 * done // max(total, 1)}%)")

    return update


def _print_table(report: ErfReport) -> None:
    """The measures of every model, one row each."""
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"ERF on {report.count} crops of {report.size}x{report.size} from {report.images}")
    for col in ("model", "method", "r20 %", "r30 %", "r50 %", "r99 %", "aniso", "orient°", "spread", "eff. area px"):
        table.add_column(col, justify="left" if col in ("model", "method") else "right")
    for r in report.results:
        m = r.measures
        table.add_row(
            r.name, f"{r.method} ({r.target})", f"{100 * m.r20:.3f}", f"{100 * m.r30:.3f}", f"{100 * m.r50:.3f}",
            f"{100 * m.r99:.2f}", f"{m.anisotropy:.2f}", f"{m.orientation_deg:.0f}", f"{m.angular_spread:.2f}",
            f"{m.effective_area_px:.1f}",
        )
    Console(width=None if sys.stdout.isatty() else 160).print(table)
