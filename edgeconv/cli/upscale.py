"""``edgeconv upscale IN [OUT] [--model M]``: super-resolve an image or a folder on the device (no torch)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from edgeconv.cli.arguments import Device, Force, InferencePrecisionHint, OneBackend, Threads, refuse_overwrite
from edgeconv.runtime.choices import BackendName, InferenceDevice

if TYPE_CHECKING:
    from edgeconv.runtime.imaging.upscale import UpscaleResult

Source = Annotated[Path, typer.Argument(help="An image file, or a folder of images.")]
Target = Annotated[Path | None, typer.Argument(
    help="Output image file, or output folder for a folder (default: NAME_x2.png / NAME_x2 beside the input).")]
Model = Annotated[str, typer.Option(
    "--model", "-m", help="A shipped model (photo: real photos; bicubic: the benchmark protocol) or an .onnx file.")]
Tile = Annotated[int, typer.Option(help="Tile side in input pixels (0: whole image at once).")]


def upscale(
    source: Source,
    target: Target = None,
    model: Model = "photo",
    backend: OneBackend = BackendName.ONNXRUNTIME,
    device: Device = InferenceDevice.CPU,
    precision: InferencePrecisionHint = None,
    threads: Threads = 0,
    tile: Tile = 256,
    force: Force = False,
) -> None:
    """Upscale an image (any mode: grey, RGBA, palette, 16-bit, EXIF-rotated) or a whole folder.

    Large images run in tiles whose overlap is the model's measured receptive field, so the
    result equals whole-image inference. A folder run that was interrupted resumes: finished
    images are kept (every file is written atomically) and only the rest are done.

    The default model, photo, is trained on aliased, blurred, JPEG and noisy downscales: it is never
    worse than a bicubic resize on them. --model bicubic is the benchmark model (PIL bicubic downscales).

    Example: edgeconv upscale photo.jpg
    Example: edgeconv upscale photos/ photos_x2/ --model out/sr.int8.onnx --backend openvino
    """
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from edgeconv.runtime.imaging.upscale import UpscaleSettings, upscale_path

    settings = UpscaleSettings(source=source, target=target, model=model, backend=backend, device=device,
                               precision=precision, threads=threads, tile=tile).resolve()
    refuse_overwrite(settings.output_file, force)
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with Progress(*columns, console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task(source.name, total=None)
        done = upscale_path(settings, lambda what, i, n: bar.update(task, description=what, completed=i, total=n))
    _print_upscaled(done, folder=source.is_dir())


def _print_upscaled(done: UpscaleResult, folder: bool) -> None:
    """One line: what was written, at which scale, on which back end."""
    if not folder:
        typer.echo(f"wrote {done.target} (x{done.scale}, {done.backend}, tile {done.tile or 'off'}, "
                   f"overlap {done.overlap})")
        return
    skipped = f", {done.already_done} already done" if done.already_done else ""
    typer.echo(f"wrote {done.written} image(s) to {done.target}{skipped} (x{done.scale}, {done.backend})")
