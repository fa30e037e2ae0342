"""``edgeconv erf MODEL...``: effective receptive fields, size and diversity, with heat maps.

A checkpoint (.pt) gets RepLKNet's gradient ERF (needs torch); an exported model (.onnx, FP32,
FP16 or INT8) gets the impulse ERF on a back end (no torch), so a deployed model can be checked
against its PyTorch original with the same measures on the same images.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer


def erf(
    models: Annotated[list[Path], typer.Argument(help="Checkpoints (.pt) and/or exported models (.onnx).")],
    images: Annotated[
        Path | None, typer.Option(help="Folder of real images (default: Set5 from shared/data/sr).")
    ] = None,
    count: Annotated[int, typer.Option(help="How many images to average over.")] = 5,
    size: Annotated[int, typer.Option(help="Side of the centre crop fed to the model (input pixels).")] = 48,
    target: Annotated[
        str, typer.Option(help="Checkpoints: 'features' (last feature map) or 'output'. ONNX: always output.")
    ] = "output",
    backend: Annotated[str, typer.Option(help="Back end for .onnx models.")] = "onnxruntime",
    delta: Annotated[
        float | None, typer.Option(help="Impulse step in [0,1] image units (default: 0.01; INT8 0.08).")
    ] = None,
    dither: Annotated[int | None, typer.Option(help="Dithered copies per slope (default: 1; INT8 16).")] = None,
    radius: Annotated[
        str, typer.Option(help="Impulse: perturb pixels within this radius of the centre: auto, all or N.")
    ] = "auto",
    threads: Annotated[int, typer.Option(help="Back-end threads (0: its default).")] = 0,
    out: Annotated[Path, typer.Option(help="Folder for erf.json, one PNG per model and grid.png.")] = Path("out/erf"),
    force: Annotated[bool, typer.Option(help="Overwrite an existing erf.json in --out.")] = False,
) -> None:
    """Measure the ERF of each model: r(20/30/50/99 %), anisotropy, orientation, angular spread,
    effective area; write heat maps on one colour scale and a comparison grid.

    Example: edgeconv erf models/weights/default_sr_x2.pt out/demo/model.int8.onnx --out out/erf
    """
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from edgeconv.cli.arguments import refuse_overwrite
    from edgeconv.errors import UsageError
    from edgeconv.runtime.atomic_write import write_bytes_atomic
    from edgeconv.runtime.erf.impulse import erf_images, onnx_impulse_erf
    from edgeconv.runtime.validation.sr_eval import shared_sr_data

    if count < 1:
        raise UsageError("--count", f"is {count}", "average over at least one image")
    if target not in ("features", "output"):
        raise UsageError("--target", f"is {target!r}", "use features or output")
    radius_value: int | None | str
    if radius in ("auto", "all"):
        radius_value = None if radius == "all" else "auto"
    else:
        try:
            radius_value = int(radius)
        except ValueError as exc:
            raise UsageError("--radius", f"{radius!r} is not auto, all or a number") from exc
    for model in models:
        if not model.is_file():
            raise UsageError(str(model), "does not exist")
        if model.suffix not in (".pt", ".onnx"):
            raise UsageError(str(model), "is neither a checkpoint (.pt) nor an ONNX model (.onnx)")
    report = out / "erf.json"
    if report.exists() and not force:
        refuse_overwrite(report, force)
    if images is None:
        shared = shared_sr_data()
        if shared is None:
            raise UsageError("--images", "not given and no shared/data/sr/Set5 beside the checkout",
                             "pass a folder of real images")
        images = shared / "Set5"
    batch = erf_images(images, size, count)
    out.mkdir(parents=True, exist_ok=True)
    console = Console(stderr=True)
    results = []
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    for model in models:
        if model.suffix == ".pt":
            from edgeconv.models.checkpoint_erf import checkpoint_gradient_erf

            results.append(checkpoint_gradient_erf(model, batch, target))  # type: ignore[arg-type]
            continue
        with Progress(*columns, console=console, transient=True) as progress:
            task = progress.add_task(f"{model.name} impulses", total=None)
            results.append(onnx_impulse_erf(
                model, batch, backend, delta, dither, radius_value, threads,
                on_progress=lambda done, total, t=task: progress.update(t, completed=done, total=total),
            ))
    _print_table(results, images, batch.shape[0], size)
    _write_heat_maps(results, out)
    write_bytes_atomic(report, json.dumps(
        {"images": str(images), "count": int(batch.shape[0]), "size": size,
         "models": [r.to_dict() for r in results]}, indent=1).encode())
    Console().print(f"wrote {report} and heat maps in {out}")


def _print_table(results: list, images: Path, count: int, size: int) -> None:  # noqa: ANN001
    """The measures of every model, one row each."""
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"ERF on {count} crops of {size}x{size} from {images}")
    for col in ("model", "method", "r20 %", "r30 %", "r50 %", "r99 %", "aniso", "orient°", "spread", "eff. area px"):
        table.add_column(col, justify="left" if col in ("model", "method") else "right")
    for r in results:
        m = r.measures
        table.add_row(
            r.name, f"{r.method} ({r.target})", f"{100 * m.r20:.3f}", f"{100 * m.r30:.3f}", f"{100 * m.r50:.3f}",
            f"{100 * m.r99:.2f}", f"{m.anisotropy:.2f}", f"{m.orientation_deg:.0f}", f"{m.angular_spread:.2f}",
            f"{m.effective_area_px:.1f}",
        )
    Console(width=None if sys.stdout.isatty() else 160).print(table)


def _write_heat_maps(results: list, out: Path) -> None:  # noqa: ANN001
    """One PNG per model and grid.png, one colour scale; skipped with a note without matplotlib."""
    from rich.console import Console

    from edgeconv.errors import MissingExtraError

    try:
        from edgeconv.runtime.erf.plot import plot_erf_grid, plot_erf_map

        for r in results:
            plot_erf_map(r.name, r.contributions, r.measures, out / f"{Path(r.name).stem}.{r.method}.png")
        plot_erf_grid({f"{r.name} ({r.method})": (r.contributions, r.measures) for r in results}, out / "grid.png")
    except MissingExtraError:
        Console(stderr=True).print("heat maps skipped: matplotlib is not installed (pip install 'edgeconv[plot]')")
