"""``edgeconv upscale IN [OUT] [--model M]``: super-resolve an image or a folder on the device (no torch)."""

from __future__ import annotations

from contextlib import nullcontext
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from edgeconv.cli.arguments import (
    Device,
    FastestBackend,
    Force,
    InferencePrecisionHint,
    Threads,
    refuse_overwrite,
    renamed,
)
from edgeconv.cli.ray_options import RayWorkers, ray_option
from edgeconv.errors import UsageError
from edgeconv.runtime.choices import BackendName, InferenceDevice, InferencePrecision
from edgeconv.runtime.video.encoding import PipeContainer, VideoCodec, VideoEncoding

if TYPE_CHECKING:
    from edgeconv.runtime.imaging.upscale import UpscaleResult, UpscaleSettings

Source = Annotated[str, typer.Argument(
    help="An image, a video, a folder of them, - (standard input: Y4M, NUT, Matroska) or a stream URL / device.",
    show_default=False)]
Target = Annotated[Path | None, typer.Argument(
    help="Output file, or output folder for a folder (default: NAME_x2.png / NAME_x2.mp4 / NAME_x2 beside the input;"
         " - for standard output).", show_default=False)]
Output = Annotated[Path | None, typer.Option(
    "-o", "--out", metavar="PATH", help="The output, as TARGET (- : standard output).")]
Command = renamed({"--output": "--out"})  # old names still taken (docs/CLI_OPTIONS.md)
Model = Annotated[str, typer.Option(
    "--model", "-m", help="A shipped model (photo: real photos; bicubic: the benchmark protocol) or an .onnx file.")]
Scale = Annotated[int | None, typer.Option(
    min=2, max=4, help="Upscaling factor 2, 3 or 4: the shipped model of that scale (default 2; a file's own).")]
Tile = Annotated[int, typer.Option(help="Tile side in input pixels (0: whole image at once; video frames run whole).")]
VIDEO = "Video"
Codec = Annotated[VideoCodec, typer.Option(help="Output video codec.", rich_help_panel=VIDEO)]
Crf = Annotated[int | None, typer.Option(
    help="Constant-rate factor: lower is better and larger (default: 23 for h264, 28 h265, 32 vp9, 35 av1).",
    rich_help_panel=VIDEO)]
Preset = Annotated[str, typer.Option(help="Encoder speed preset, ultrafast .. veryslow.", rich_help_panel=VIDEO)]
PixFmt = Annotated[str, typer.Option(
    help="Output pixel format (yuv420p: plays everywhere), or keep (the input's chroma and bit depth).",
    rich_help_panel=VIDEO)]
Resume = Annotated[bool, typer.Option(
    help="Continue an interrupted video from its last finished segment (same command, same output).",
    rich_help_panel=VIDEO)]
PipeFormat = Annotated[PipeContainer, typer.Option(help="Format of a - output.", rich_help_panel=VIDEO)]
Ray = Annotated[str | None, ray_option(
    "Spread a folder's files (videos too, each whole on one worker) over Ray workers; input, output and model "
    "must lie on a file system every node mounts at the same path.")]


def upscale(
    source: Source,
    target: Target = None,
    output: Output = None,
    model: Model = "photo",
    scale: Scale = None,
    backend: FastestBackend = None,
    device: Device = InferenceDevice.CPU,
    precision: InferencePrecisionHint = None,
    threads: Threads = 0,
    tile: Tile = 256,
    codec: Codec = VideoCodec.H264,
    crf: Crf = None,
    preset: Preset = "veryfast",
    pix_fmt: PixFmt = "yuv420p",
    resume: Resume = False,
    pipe_format: PipeFormat = PipeContainer.Y4M,
    force: Force = False,
    ray: Ray = None, ray_workers: RayWorkers = 0,
) -> None:
    """Upscale an image (any mode: grey, RGBA, palette, 16-bit, EXIF-rotated), a video, or a whole folder.

    Large images run in tiles whose overlap is the model's measured receptive field, so the result equals
    whole-image inference. Videos run the model on the decoder's Y plane (chroma takes its bicubic skip), keep
    the audio and subtitle packets, timestamps, rotation, colour tags and metadata, and appear only when
    complete; --resume continues an interrupted one. A folder run resumes too: finished outputs are kept.

    The default model, photo, is trained on aliased, blurred, JPEG and noisy downscales: it is never
    worse than a bicubic resize on them. --model bicubic is the benchmark model (PIL bicubic downscales).

    Example: edgeconv upscale photo.jpg
    Example: edgeconv upscale clip.mp4 --backend openvino --crf 20
    Example: ffmpeg -i in.mkv -f yuv4mpegpipe - | edgeconv upscale - -o - | ffmpeg -i - out.mp4
    Example: edgeconv upscale photos/ photos_x2/ --model out/sr.int8.onnx --backend openvino
    """
    encoding = VideoEncoding(codec=codec, crf=crf, preset=preset, pix_fmt=pix_fmt)
    settings, why = _settings(source, output or target, model, backend, device, precision, threads, tile, encoding,
                              resume, pipe_format, scale)
    refuse_overwrite(None if resume else settings.output_file, force)
    _print_upscaled(_run(settings, ray, ray_workers), folder=settings.source_is_folder, why=why)


def _settings(source: str, target: Path | None, model: str, backend: BackendName | None, device: InferenceDevice,
              precision: InferencePrecision | None, threads: int, tile: int, encoding: VideoEncoding, resume: bool,
              pipe_format: PipeContainer, scale: int | None) -> tuple[UpscaleSettings, str]:
    """The command's options as the job's settings, resolved (defaults filled, files checked; no --backend: the
    fastest here), and the line that says why that back end ("" when --backend named it)."""
    from edgeconv.runtime.imaging.upscale import UpscaleSettings, as_source

    settings = UpscaleSettings(source=as_source(source), target=target, model=model,
                               backend=backend or BackendName.ONNXRUNTIME, device=device,
                               precision=precision, threads=threads, tile=tile, encoding=encoding, resume=resume,
                               pipe_format=str(pipe_format), scale=scale).resolve()
    return (settings, "") if backend is not None else _fastest(settings)


def _fastest(settings: UpscaleSettings) -> tuple[UpscaleSettings, str]:
    """``settings`` on the back end measured fastest here for its model (once, then cached), and the line saying so
    (printed after the job, so a bad input still gets one line)."""
    from dataclasses import replace

    from rich.console import Console

    from edgeconv.runtime.backends.base import BackendOptions
    from edgeconv.runtime.backends.fastest import fastest_for_model
    from edgeconv.runtime.backends.ort_form import faster_ort_form, shipped_forms

    options = BackendOptions(threads=settings.threads, device=settings.device, precision=settings.precision)
    with Console(stderr=True).status("choosing the back end ...") as status:
        pick = fastest_for_model(settings.model, settings.scale or 2, settings.is_video, options, status.update)
        settings, line = replace(settings, backend=pick.backend), pick.line()
        forms = shipped_forms(str(settings.model), settings.scale or 2, settings.is_video)
        if pick.backend == BackendName.ONNXRUNTIME and forms is not None:  # which of its two files, measured too
            form = faster_ort_form(*forms, options, status.update)
            settings = replace(settings, onnxruntime_form="prelu" if form.file == forms[0] else "max")
            line += "\n" + form.line()
    return settings, line


def _run(settings: UpscaleSettings, ray: str | None = None, workers: int = 0) -> UpscaleResult:
    """``upscale_path`` (``upscale_on_ray`` with ``--ray``) with a progress bar on stderr (tiles, images or video
    frames, with fps and ETA; on Ray: files done across the cluster)."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, ProgressColumn, TextColumn, TimeRemainingColumn
    from rich.text import Text

    from edgeconv.runtime.backends.forms import quiet_form_notes
    from edgeconv.runtime.cluster.upscale import upscale_on_ray
    from edgeconv.runtime.imaging.upscale import upscale_path

    job = upscale_path if ray is None else partial(upscale_on_ray, address=ray, workers=workers)

    class Rate(ProgressColumn):
        def render(self, task) -> Text:  # noqa: ANN001 - rich's Task
            return Text(f"{task.speed:.1f}/s" if task.speed else "")

    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), Rate(), TimeRemainingColumn())
    # ONNX Runtime on the PReLU file because it was measured faster here: no note that the other file is faster
    quiet = quiet_form_notes() if settings.onnxruntime_form == "prelu" else nullcontext()
    with quiet, Progress(*columns, console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task(str(settings.source), total=None)
        return job(settings, progress=lambda what, i, n: bar.update(task, description=what, completed=i, total=n))


def _print_upscaled(done: UpscaleResult, folder: bool, why: str = "") -> None:
    """One line: what was written, at which scale, on which back end (after the lines saying why that one, if any,
    and that the model is another back end's form)."""
    from edgeconv.runtime.backends.forms import print_form_notes

    if not done.failed:  # a folder with failures ends in their list and one error line
        if why:
            typer.echo(why, err=True)
        print_form_notes()
    if done.frames:
        resumed = f", resumed at frame {done.resumed_at}" if done.resumed_at else ""
        fmt = f", {done.pix_fmt}" if done.pix_fmt else ""
        typer.echo(f"wrote {done.target} ({done.frames} frames, x{done.scale}{fmt}, {done.backend}{resumed})", err=True)
        return
    if not folder:
        typer.echo(f"wrote {done.target} (x{done.scale}, {done.backend}, tile {done.tile or 'off'}, "
                   f"overlap {done.overlap}; {', '.join(done.timing_lines()) or 'not timed'})")
        return
    for line in done.timing_lines():  # per image: read, upscale, write
        typer.echo(line)
    skipped = f", {done.already_done} already done" if done.already_done else ""
    typer.echo(f"wrote {done.written} file(s) to {done.target}{skipped} (x{done.scale}, {done.backend})")
    if done.failed:
        for line in done.failed:
            typer.echo(f"failed: {line}", err=True)
        raise UsageError(str(done.target), f"{len(done.failed)} file(s) could not be upscaled (listed above)",
                            "the others were written; fix or remove the listed files and run again")
