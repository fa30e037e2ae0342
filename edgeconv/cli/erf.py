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

from edgeconv.cli.arguments import Force, Images, OneBackend, OutDir, Threads, plain
from edgeconv.runtime.choices import BackendName, ErfTarget

if TYPE_CHECKING:
    import numpy as np

    from edgeconv.runtime.erf.job import ErfReport
    from edgeconv.runtime.erf.measures import ErfResult

ErfModels = Annotated[list[Path], typer.Argument(help="Checkpoints (.pt) and/or exported models (.onnx).")]
Count = Annotated[int, typer.Option(help="How many images to average over.")]
CropSide = Annotated[int, typer.Option(help="Side of the centre crop fed to the model (input pixels).")]
ErfTargetOption = Annotated[
    ErfTarget, typer.Option(help="Checkpoints: the last feature map or the output. ONNX: always the output.")
]
Delta = Annotated[float | None, typer.Option(help="Impulse step in [0,1] image units (default: 0.01; INT8 0.08).")]
Dither = Annotated[int | None, typer.Option(help="Dithered copies per slope (default: 1; INT8 16).")]
Radius = Annotated[str, typer.Option(help="Impulse: perturb pixels within this radius of the centre: auto, all or N.")]


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
                           backend=plain(backend), delta=delta, dither=dither, radius=radius, threads=threads, out=out,
                           force=force, gradient_erf=checkpoint_erf)
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
    """A transient progress bar per exported model (impulses done / all) on stderr; yields its callback."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with Progress(*columns, console=Console(stderr=True), transient=True) as progress:
        tasks: dict[str, object] = {}

        def update(name: str, done: int, total: int) -> None:
            if name not in tasks:
                tasks[name] = progress.add_task(f"{name} impulses", total=None)
            progress.update(tasks[name], completed=done, total=total)  # type: ignore[arg-type]

        yield update


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
