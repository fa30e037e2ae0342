"""``edgeconv upscale MODEL IN OUT``: super-resolve an image or a folder on the device (no torch)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from edgeconv.cli.arguments import refuse_overwrite
from edgeconv.errors import UsageError


def upscale(
    model: Annotated[Path, typer.Argument(help="An SR model exported by edgeconv (.onnx).")],
    source: Annotated[Path, typer.Argument(help="An image file, or a folder of images.")],
    target: Annotated[Path, typer.Argument(help="Output image file, or output folder for a folder.")],
    backend: Annotated[str, typer.Option(help="onnxruntime, openvino or tensorrt.")] = "onnxruntime",
    device: Annotated[str, typer.Option(help="Back-end device (CPU; GPU/NPU for OpenVINO; CUDA for ORT).")] = "CPU",
    threads: Annotated[int, typer.Option(help="Inference threads (0: the back end's default).")] = 0,
    tile: Annotated[int, typer.Option(help="Tile side in input pixels (0: whole image at once).")] = 256,
    force: Annotated[bool, typer.Option(help="Overwrite an existing output file (single-image mode).")] = False,
) -> None:
    """Upscale an image (any mode: grey, RGBA, palette, 16-bit, EXIF-rotated) or a whole folder.

    Large images run in tiles whose overlap is the model's measured receptive field, so the
    result equals whole-image inference. A folder run that was interrupted resumes: finished
    images are kept (every file is written atomically) and only the rest are done.

    Example: edgeconv upscale out/sr.onnx photos/ photos_x2/ --backend openvino
    """
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from edgeconv.runtime.backends.base import BackendOptions
    from edgeconv.runtime.backends.registry import create_backend
    from edgeconv.runtime.imaging.tiling import receptive_radius
    from edgeconv.runtime.imaging.upscale import folder_jobs, upscale_file

    if tile < 0:
        raise UsageError("--tile", f"must be >= 0, got {tile}")
    if not source.exists():
        raise UsageError(str(source), "does not exist")
    if source.is_dir():
        if target.exists() and not target.is_dir():
            raise UsageError(str(target), "is a file, but the input is a folder", "give an output folder")
        if not target.parent.is_dir():
            raise UsageError(str(target), f"its parent folder {target.parent} does not exist")
    else:
        if target.is_dir():
            target = target / f"{source.stem}.png"
        refuse_overwrite(target, force)
    runner = create_backend(backend, model, BackendOptions(threads=threads, device=device))
    facts = runner.facts
    if facts.task != "sr" or not facts.scale:
        raise UsageError(str(model), f"is not a super-resolution model (task {facts.task!r})",
                         "export an SR checkpoint with edgeconv export")
    overlap = receptive_radius(runner.run, facts.scale) + 1 if tile else 0
    console = Console(stderr=True)
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    if source.is_file():
        with Progress(*columns, console=console, transient=True) as progress:
            task = progress.add_task(f"{source.name} tiles", total=None)
            upscale_file(runner.run, facts, source, target, tile, overlap,
                         lambda done, total: progress.update(task, completed=done, total=total))
        typer.echo(f"wrote {target} (x{facts.scale}, {runner.label}, tile {tile or 'off'}, overlap {overlap})")
        return
    target.mkdir(exist_ok=True)
    jobs, finished = folder_jobs(source, target)
    with Progress(*columns, console=console, transient=True) as progress:
        task = progress.add_task("images", total=len(jobs) + finished, completed=finished)
        for src, dst in jobs:
            progress.update(task, description=src.name)
            upscale_file(runner.run, facts, src, dst, tile, overlap)
            progress.advance(task)
    skipped = f", {finished} already done" if finished else ""
    typer.echo(f"wrote {len(jobs)} image(s) to {target}{skipped} (x{facts.scale}, {runner.label})")
