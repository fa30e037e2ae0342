"""On-device super-resolution of image files: any mode in, the same mode out, tiled, written atomically.

Modes: RGB as is; grey (L, 1, I, I;16, F) is fed as three equal channels and saved back as grey
(16-bit stays 16-bit, fed with 16-bit precision); palette becomes RGB (RGBA if it has
transparency); CMYK becomes RGB; an alpha channel is upscaled on its own with bicubic - the
model was trained on colour, not masks - and re-attached. EXIF orientation is applied first, so
the output is upright. Pillow's decompression-bomb limit stays on.

``upscale_path(settings)`` is ``edgeconv upscale`` as one call: an image or a folder (resumable: finished
outputs are kept), tiled with an overlap from the model's measured receptive field.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

import numpy as np
from PIL import Image, ImageOps

from edgeconv.errors import EdgeConvError, UsageError, first_line
from edgeconv.runtime.atomic_write import write_atomic
from edgeconv.runtime.choices import BackendName, InferenceDevice, InferencePrecision, parse_choice
from edgeconv.runtime.imaging.images import IMAGE_SUFFIXES
from edgeconv.runtime.imaging.sr_runner import LoadedModel, load_model
from edgeconv.runtime.imaging.tiling import Run, run_tiles
from edgeconv.runtime.model_facts import ModelFacts, read_model_facts
from edgeconv.runtime.shipped_models import (
    DEFAULT_MODEL,
    SHIPPED_MODELS,
    for_onnxruntime,
    luma_plane_form,
    resolve_model,
    shipped_path,
)
from edgeconv.runtime.video.encoding import VideoEncoding
from edgeconv.runtime.video.job import is_video, video_output_name, video_suffix

if TYPE_CHECKING:
    from edgeconv.runtime.backends.base import BackendOptions

WRITABLE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp")
GREY_MODES = ("L", "1", "I", "I;16", "I;16B", "I;16L", "F")
OnProgress = Callable[[str, int, int | None], None]  # (what, done, total or None when not known yet)


@dataclass
class DecodedImage:
    """Pixels as read - (H, W) grey or (H, W, 3) RGB, uint8 or uint16 - and how to restore the mode."""

    pixels: np.ndarray
    alpha: Image.Image | None
    mode: str  # output mode: "RGB", "L" or "I;16"

    @property
    def peak(self) -> float:
        return 65535.0 if self.pixels.dtype == np.uint16 else 255.0


def decode(path: Path) -> DecodedImage:
    """Read ``path``; one ``UsageError`` for anything unreadable or too large."""
    try:
        with Image.open(path) as opened:
            img = ImageOps.exif_transpose(opened)
            img.load()
    except Image.DecompressionBombError as exc:
        raise UsageError(
            str(path), f"is too large to decode safely: {first_line(exc)}", "Pillow's decompression-bomb limit stays on"
        ) from exc
    except (OSError, ValueError, SyntaxError) as exc:
        raise UsageError(str(path), f"cannot be read as an image: {first_line(exc)}") from exc
    alpha = None
    if img.mode == "P":
        img = img.convert("RGBA" if "transparency" in img.info else "RGB")
    if img.mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        alpha = img.getchannel("A")
        img = img.convert("L" if img.mode.startswith("L") else "RGB")
    if img.mode.startswith("I;16") or img.mode == "I":
        return DecodedImage(np.clip(np.asarray(img), 0, 65535).astype(np.uint16), alpha, "I;16")
    if img.mode in GREY_MODES:
        return DecodedImage(np.asarray(img.convert("L")), alpha, "L")
    return DecodedImage(np.asarray(img.convert("RGB")), alpha, "RGB")


def upscale_image(run: Run, facts: ModelFacts, image: DecodedImage, tile: int, overlap: int,
                  on_tile: Callable[[int, int], None] | None = None, run_bytes: Run | None = None) -> Image.Image:
    """The upscaled image in ``image.mode`` (RGB, L or I;16), before the alpha channel is re-attached.

    Tiles are converted to the model's input and back one at a time, so a 3840x2160 image needs
    its uint8 input and output plus a few float tiles, never a float copy of the whole image. ``run_bytes``
    (the model's 8-bit output form) takes 8-bit images: the same pixels, converted inside the graph.
    """
    if run_bytes is not None and image.peak == 255.0:
        run = run_bytes
    lo, hi = facts.value_range
    mean, std = np.asarray(facts.mean, np.float32)[:, None, None], np.asarray(facts.std, np.float32)[:, None, None]
    pix, peak, scale = image.pixels, image.peak, facts.scale or 1
    h, w = pix.shape[:2]
    canvas: list[Image.Image] = []  # tiles are pasted in: no second full-size copy (one tile: the output itself)
    grey = pix.ndim == 2
    # input: ((p / peak) * (hi - lo) + lo - mean) / std as one multiply-add per pixel, in place
    gain, offset = (hi - lo) / (peak * std), (lo - mean) / std
    identity_out = (lo, hi) == (0.0, 1.0)

    def read(y0: int, y1: int, x0: int, x1: int) -> np.ndarray:
        window = pix[y0:y1, x0:x1]
        chw = (np.repeat(window[None], 3, axis=0) if grey else window.transpose(2, 0, 1)).astype(np.float32)
        chw *= gain
        chw += offset
        return chw[None]

    def pixels(core: np.ndarray) -> np.ndarray:
        """(C, h, w) output planes in the image's dtype; grey: (h, w)."""
        if core.dtype == np.uint8:  # the 8-bit form: converted inside the graph, grey's channels are equal
            return np.array(core[0, 0]) if grey else core[0]  # a copy: the back end reuses its output buffer
        rgb = core[0] if identity_out else (core[0] - lo) / (hi - lo)
        # a new array (the back end's output buffer stays untouched), then in place: x4 outputs are 44 MB
        values = np.multiply(rgb.mean(axis=0) if grey else rgb, np.float32(peak))
        np.clip(values, 0.0, peak, out=values)
        np.rint(values, out=values)
        return values.astype(pix.dtype)

    def write(y0: int, y1: int, x0: int, x1: int, core: np.ndarray) -> None:
        planes = pixels(core)
        # Pillow interleaves the planes (a strided numpy transpose of the whole output costs as much again)
        piece = Image.fromarray(planes) if grey else Image.merge("RGB", [Image.fromarray(c) for c in planes])
        if piece.size == (w * scale, h * scale) and piece.mode == image.mode:
            canvas.append(piece)
            return
        if not canvas:
            canvas.append(Image.new(image.mode, (w * scale, h * scale)))
        canvas[0].paste(piece, (x0, y0))

    run_tiles(run, h, w, scale, tile if tile > 0 else max(h, w), overlap, read, write, on_tile)
    return canvas[0]


def encoder(image: DecodedImage, upscaled: Image.Image, suffix: str) -> Callable[[BinaryIO], None]:
    """A function writing the upscaled pixels as an image file in the input's mode (alpha re-attached)."""
    fmt = {".jpg": "JPEG", ".jpeg": "JPEG", ".png": "PNG", ".bmp": "BMP", ".tif": "TIFF", ".tiff": "TIFF",
           ".webp": "WEBP"}.get(suffix.lower())
    if fmt is None:
        raise UsageError(f"output {suffix or '(no suffix)'}", "is not an image format edgeconv writes",
                         "use .png, .jpg, .tif or .webp")

    def write(f: BinaryIO) -> None:
        out = upscaled
        if image.alpha is not None:
            alpha = image.alpha.resize((out.width, out.height), Image.BICUBIC)
            if out.mode == "I;16":
                out = out.convert("I")
            out = out.convert("RGBA" if out.mode == "RGB" else "LA")
            out.putalpha(alpha)
        if fmt == "JPEG" and out.mode not in ("RGB", "L"):
            out = out.convert("RGB")
        out.save(f, fmt, **({"quality": 95} if fmt == "JPEG" else {}))

    return write


def upscale_file(model: LoadedModel, src: Path, dst: Path, tile: int,
                 on_tile: Callable[[int, int], None] | None = None) -> None:
    """Upscale one image file into ``dst`` (atomic: a complete file or none)."""
    image = decode(src)
    upscaled = upscale_image(model.run, model.facts, image, tile, model.overlap, on_tile, model.run_bytes)
    write = encoder(image, upscaled, dst.suffix)
    write_atomic(dst, write)


def folder_output_name(src: Path, stem_shared: bool) -> str:
    """A folder run's output name: ``NAME.png`` for an image (lossless), ``NAME.mp4``-style for a video; inputs
    that share a stem (``a.jpg``, ``a.png``) keep their extension in it (``a_jpg.png``, ``a_png.png``)."""
    stem = f"{src.stem}_{src.suffix[1:].lower()}" if stem_shared else src.stem
    return f"{stem}{video_suffix(src) if is_video(src) else '.png'}"


def default_image_output(src: Path, scale: int) -> Path:
    """``photo.png`` -> ``photo_x2.png``; other formats keep theirs (``photo.jpg`` -> ``photo_x2.jpg``), so two inputs
    that differ only in their extension never map to one output."""
    suffix = src.suffix.lower() if src.suffix.lower() in WRITABLE_SUFFIXES else ".png"
    return src.with_name(f"{src.stem}_x{scale}{suffix}")


def folder_jobs(src: Path, dst: Path) -> tuple[list[tuple[Path, Path]], int]:
    """``([(input, output) still to do], finished count)``: outputs already present are complete (atomic writes)."""
    files = sorted(p for p in src.iterdir() if p.is_file() and (p.suffix.lower() in IMAGE_SUFFIXES or is_video(p)))
    if not files:
        raise UsageError(str(src), "holds no images or videos",
                         f"expected files ending in {', '.join(sorted(IMAGE_SUFFIXES))} or a video suffix")
    stems = [p.stem for p in files]
    todo = [(p, dst / folder_output_name(p, stems.count(p.stem) > 1)) for p in files]
    remaining = [(a, b) for a, b in todo if not b.exists()]
    return remaining, len(todo) - len(remaining)


def shipped_file(model: str | Path, backend: BackendName, scale: int = 2, onnxruntime_form: str = "max") -> Path:
    """The file ``backend`` loads for ``model``: a shipped name's form for it and ``scale`` (ONNX Runtime's
    ``NAME.ort.onnx``, or ``NAME.onnx`` when ``onnxruntime_form`` is ``prelu``: measured faster here,
    ``backends.ort_form``), else the path as given. Touches no file (``resolve_model`` checks that it exists)."""
    if str(model) not in SHIPPED_MODELS:
        return Path(model)
    path = shipped_path(str(model), scale)
    return for_onnxruntime(path) if backend == BackendName.ONNXRUNTIME and onnxruntime_form == "max" else path


def as_source(text: str) -> Path | str:
    """A command-line source: ``-``, a URL (``rtsp://``...) or a capture device (``/dev/video0``) stays a stream
    (str); anything else is a path."""
    if not text.strip():
        raise UsageError("SOURCE", "is empty", "give an image, a video, a folder, or - for standard input")
    if text == "-" or "://" in text or text.startswith("/dev/video"):
        return text
    return Path(text)


@dataclass
class UpscaleSettings:
    """One ``edgeconv upscale`` request: the SR model and where it runs, the input, the output, the tiling.

    ``model`` is a shipped model's name (``photo``, the default; ``bicubic``) or an .onnx path; ``target``
    None writes ``NAME_xS.png`` beside an image, or the folder ``NAME_xS`` beside a folder, S being the
    model's scale. Building settings touches no file: ``resolve()`` (which the job calls) checks the files
    and reads the model's scale for a default target.
    """

    source: Path | str  # an image or video file, a folder of them; a str: a stream ("-" = stdin, a URL, a device)
    target: Path | None = None  # an image file (or a folder to put it in), or the output folder for a folder
    model: str | Path = DEFAULT_MODEL
    backend: BackendName = BackendName.ONNXRUNTIME
    device: InferenceDevice = InferenceDevice.CPU
    threads: int = 0
    tile: int = 256  # tile side in input pixels; 0: the whole image at once
    precision: InferencePrecision | None = None  # None: the back end's default (OpenVINO f32, TensorRT the model's)
    encoding: VideoEncoding = field(default_factory=VideoEncoding)  # videos: codec, CRF, preset, pixel format
    resume: bool = False  # videos: continue from the last finished segment of an interrupted run
    pipe_format: str = "y4m"  # a "-" output: y4m, nut or mkv
    scale: int | None = None  # which shipped model (x2 when None); a model file's own scale must match when given
    onnxruntime_form: str = "max"  # a shipped model on ONNX Runtime: "max" (NAME.ort.onnx) or "prelu" (NAME.onnx)

    def __post_init__(self) -> None:
        """Plain strings (library callers) become members; an unknown one is a ``UsageError`` naming the choices."""
        self.backend = parse_choice(BackendName, self.backend, "--backend")
        self.device = parse_choice(InferenceDevice, self.device, "--device", ignore_case=True)
        if self.precision is not None:
            self.precision = parse_choice(InferencePrecision, self.precision, "--precision", ignore_case=True)
        if self.onnxruntime_form not in ("max", "prelu"):
            raise UsageError("onnxruntime_form", f"must be max or prelu, got {self.onnxruntime_form!r}")

    @property
    def model_file(self) -> Path:
        """The file ``backend`` loads: a shipped model's form for it, or the path as given (not checked here)."""
        return shipped_file(self.model, self.backend, self.scale or 2, self.onnxruntime_form)

    @property
    def video_model(self) -> str | Path:
        """What video loads: the model as given, or the Y-plane file of the PReLU form when ONNX Runtime was
        measured faster on it (``onnxruntime_form``; a shipped name alone would get ``NAME.y.ort.onnx``)."""
        if self.onnxruntime_form != "prelu" or str(self.model) not in SHIPPED_MODELS:
            return self.model
        plane = luma_plane_form(shipped_path(str(self.model), self.scale or 2))
        return plane if plane.is_file() else self.model_file

    @property
    def backend_options(self) -> BackendOptions:
        """What the back end is asked for: threads, device, precision."""
        from edgeconv.runtime.backends.base import BackendOptions

        return BackendOptions(threads=self.threads, device=self.device, precision=self.precision)

    @property
    def source_is_folder(self) -> bool:
        """The source is a folder of images and videos."""
        return not self.is_stream and self.source.is_dir()

    @property
    def is_stream(self) -> bool:
        """The source is a stream (standard input, a URL, a capture device), not a file or folder."""
        return isinstance(self.source, str)

    @property
    def is_video(self) -> bool:
        """The source is one video (a video file or a stream)."""
        return self.is_stream or (not self.source.is_dir() and is_video(self.source))

    def check(self) -> None:
        """Raise ``UsageError`` for a model, tiling, input or output that cannot work (before the model loads)."""
        if self.scale not in (None, 2, 3, 4):
            raise UsageError("--scale", f"must be 2, 3 or 4, got {self.scale}")
        resolve_model(self.model, self.backend, self.scale or 2)  # a shipped name, or an existing file
        if self.tile < 0:
            raise UsageError("--tile", f"must be >= 0, got {self.tile}")
        if self.is_video:
            self.encoding.check()
        if self.is_stream:
            if self.source != "-" and self.target is None:
                raise UsageError(self.source, "is a stream: give an output file (or - for standard output)")
            return
        if not self.source.exists():
            raise UsageError(str(self.source), "does not exist")
        if self.source.is_dir() and self.target is not None:
            if self.target.exists() and not self.target.is_dir():
                raise UsageError(str(self.target), "is a file, but the input is a folder", "give an output folder")
            if not self.target.parent.is_dir():
                raise UsageError(str(self.target), f"its parent folder {self.target.parent} does not exist")

    def resolve(self) -> UpscaleSettings:
        """These settings checked (``check``), with the default target filled in from the model's scale."""
        self.check()
        scale = read_model_facts(self.model_file).scale or 0
        if self.scale is not None and scale != self.scale:
            raise UsageError(str(self.model), f"is an x{scale} model, not x{self.scale}",
                             f"drop --scale or give an x{self.scale} model")
        if self.target is not None:
            return self
        if self.is_stream:
            return replace(self, target=Path("-"))
        if self.is_video:
            return replace(self, target=video_output_name(self.source, scale))
        target = self.source.with_name(f"{self.source.stem}_x{scale}") if self.source.is_dir() else \
            default_image_output(self.source, scale)
        resolved = replace(self, target=target)
        resolved.check()
        return resolved

    @property
    def output_file(self) -> Path | None:
        """The file a single image is written to (``TARGET/NAME.png`` for a target folder); None for a folder,
        or before ``resolve()`` when no target was given."""
        if self.target is None or self.is_stream:
            return self.target if str(self.target) != "-" else None
        if self.source.is_dir() or not self.source.exists():
            return None
        if self.is_video and self.target.is_dir():
            return self.target / video_output_name(self.source, read_model_facts(self.model_file).scale or 2).name
        return self.target / f"{self.source.stem}.png" if self.target.is_dir() else self.target


@dataclass
class UpscaleResult:
    """What ``upscale_path`` wrote, and how."""

    target: Path  # the output file, or the output folder
    written: int
    already_done: int
    scale: int
    backend: str  # the back end's label
    tile: int
    overlap: int
    frames: int = 0  # a video: frames written (resumed_at of them from an earlier run)
    resumed_at: int = 0
    failed: list[str] = field(default_factory=list)  # a folder: one line per file that could not be upscaled
    pix_fmt: str = ""  # a video: the output's pixel format
    times_ms: list[tuple[str, float]] = field(default_factory=list)  # (input name, ms: read, upscale, write) per file

    def timing_lines(self) -> list[str]:
        """One line per file upscaled here (``name: 123.4 ms``), then, for several, their median and total."""
        lines = [f"{name}: {ms:.1f} ms" for name, ms in self.times_ms]
        if len(self.times_ms) > 1:
            times = [ms for _, ms in self.times_ms]
            lines.append(f"{len(times)} files: median {statistics.median(times):.1f} ms, "
                         f"total {sum(times) / 1e3:.2f} s")
        return lines


def upscale_path(settings: UpscaleSettings, progress: OnProgress | None = None) -> UpscaleResult:
    """Upscale ``settings.source`` (an image, or every image in a folder not done yet) into ``settings.target``.

    ``progress(what, done, total)`` hears of every tile of a single image, or every image of a folder. The result
    holds each file's time (``times_ms``: read, upscale, write).
    """
    settings = settings.resolve()
    if settings.is_video:
        return upscale_one_video(settings, settings.backend_options, progress)
    model = load_model(settings.backend, settings.model_file, settings.backend_options, settings.tile > 0)
    done = UpscaleResult(settings.target, 0, 0, model.facts.scale, model.label, settings.tile, model.overlap)
    if (output := settings.output_file) is not None:
        on_tile = None if progress is None else lambda i, n: progress(f"{settings.source.name} tiles", i, n)
        start = time.perf_counter()
        upscale_file(model, settings.source, output, settings.tile, on_tile)
        done.times_ms.append((settings.source.name, (time.perf_counter() - start) * 1e3))
        done.target, done.written = output, 1
        return done
    settings.target.mkdir(exist_ok=True)
    jobs, done.already_done = folder_jobs(settings.source, settings.target)
    total = len(jobs) + done.already_done
    for src, dst in jobs:
        if progress is not None:
            progress(src.name, done.already_done + done.written + len(done.failed), total)
        start = time.perf_counter()
        if (failed := upscale_folder_file(settings, model, src, dst)) is None:
            done.written += 1
            done.times_ms.append((src.name, (time.perf_counter() - start) * 1e3))
        else:  # one bad file does not stop the folder: listed, and the exit code says so
            done.failed.append(failed)
    return done


def upscale_folder_file(settings: UpscaleSettings, model: LoadedModel, src: Path, dst: Path) -> str | None:
    """One file of a folder into ``dst`` (an image, or a video on the video path); its failure as one line, else
    None: the caller lists failures and goes on, so one bad file does not stop a folder."""
    try:
        if is_video(src):
            upscale_one_video(replace(settings, source=src, target=dst), model.options)
        else:
            upscale_file(model, src, dst, settings.tile)
    except EdgeConvError as exc:
        return exc.one_line()
    return None


def upscale_one_video(settings: UpscaleSettings, options: BackendOptions,
                      progress: OnProgress | None = None) -> UpscaleResult:
    """One video (a file or a stream) through the video path (``edgeconv.runtime.video``): frames on the model's
    Y plane, audio and tags kept, resumable (``settings.resume``)."""
    from edgeconv.runtime.video.job import run_video
    from edgeconv.runtime.video.transcode import VideoJob

    job = VideoJob(str(settings.source), str(settings.output_file or "-"), settings.encoding, settings.pipe_format,
                   settings.resume)
    name = Path(str(settings.source)).name if not settings.is_stream else str(settings.source)
    on_frame = None if progress is None else lambda i, n: progress(f"{name} frames", i, n)
    done = run_video(job, settings.video_model, settings.backend, options, on_frame, settings.scale or 2)
    scale = read_model_facts(settings.model_file).scale or 0
    return UpscaleResult(Path(done.output), 1, 0, scale, str(settings.backend), 0, 0, frames=done.frames,
                         resumed_at=done.resumed_at, pix_fmt=done.pix_fmt)
