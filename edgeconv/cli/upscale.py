"""``edgeconv upscale IN [OUT] [--model M]``: super-resolve an image or a folder on the device (no torch)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from edgeconv.cli.arguments import Device, Force, InferencePrecisionHint, OneBackend, Threads, refuse_overwrite
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
Output = Annotated[Path | None, typer.Option("-o", "--output", help="The output, as TARGET (- : standard output).")]
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


def upscale(
    source: Source,
    target: Target = None,
    output: Output = None,
    model: Model = "photo",
    scale: Scale = None,
    backend: OneBackend = BackendName.ONNXRUNTIME,
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
    settings = _settings(source, output or target, model, backend, device, precision, threads, tile, encoding,
                         resume, pipe_format, scale)
    refuse_overwrite(None if resume else settings.output_file, force)
    _print_upscaled(_run(settings), folder=settings.source_is_folder)


def _settings(source: str, target: Path | None, model: str, backend: BackendName, device: InferenceDevice,
              precision: InferencePrecision | None, threads: int, tile: int, encoding: VideoEncoding, resume: bool,
              pipe_format: PipeContainer, scale: int | None) -> UpscaleSettings:
    """The command's options as the job's settings, resolved (defaults filled, files checked)."""
    from edgeconv.runtime.imaging.upscale import UpscaleSettings, as_source

    return UpscaleSettings(source=as_source(source), target=target, model=model, backend=backend, device=device,
                           precision=precision, threads=threads, tile=tile, encoding=encoding, resume=resume,
                           pipe_format=str(pipe_format), scale=scale).resolve()


def _run(settings: UpscaleSettings) -> UpscaleResult:
    """``upscale_path`` with a progress bar on stderr (tiles, images or video frames, with fps and ETA)."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, ProgressColumn, TextColumn, TimeRemainingColumn
    from rich.text import Text

    from edgeconv.runtime.imaging.upscale import upscale_path

    class Rate(ProgressColumn):
        def render(self, task) -> Text:  # noqa: ANN001 - rich's Task
            return Text(f"{task.speed:.1f}/s" if task.speed else "")

    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), Rate(), TimeRemainingColumn())
    with Progress(*columns, console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task(str(settings.source), total=None)
        return upscale_path(settings, lambda what, i, n: bar.update(task, description=what, completed=i, total=n))


def _print_upscaled(done: UpscaleResult, folder: bool) -> None:
    """One line: what was written, at which scale, on which back end."""
    if done.frames:
        resumed = f", resumed at frame {done.resumed_at}" if done.resumed_at else ""
        fmt = f", {done.pix_fmt}" if done.pix_fmt else ""
        typer.echo(f"wrote {done.target} ({done.frames} frames, x{done.scale}{fmt}, {done.backend}{resumed})", err=True)
        return
    if not folder:
        typer.echo(f"wrote {done.target} (x{done.scale}, {done.backend}, tile {done.tile or 'off'}, "
                   f"overlap {done.overlap})")
        return
    skipped = f", {done.already_done} already done" if done.already_done else ""
    typer.echo(f"wrote {done.written} file(s) to {done.target}{skipped} (x{done.scale}, {done.backend})")
    if done.failed:
        for line in done.failed:
            typer.echo(f"failed: {line}", err=True)
        raise UsageError(str(done.target), f"{len(done.failed)} file(s) could not be upscaled (listed above)",
                            "the others were written; fix or remove the listed files and run again")
