"""One video through ``edgeconv upscale``: the model's Y-plane form loaded in a back end, then ``upscale_video``.

What counts as a video is decided by the file name (the containers PyAV writes and reads everywhere);
a folder run hands these files here and images to the image path.
"""

from __future__ import annotations

from pathlib import Path

from edgeconv.runtime.backends.base import BackendOptions
from edgeconv.runtime.choices import BackendName
from edgeconv.runtime.video.frames import FrameUpscaler, LumaPlaneUpscaler, RgbModelUpscaler
from edgeconv.runtime.video.transcode import Progress, VideoJob, VideoResult, upscale_video

VIDEO_SUFFIXES = (".mp4", ".m4v", ".mov", ".mkv", ".webm", ".avi", ".ts", ".mts", ".m2ts", ".nut", ".y4m",
                  ".mpg", ".mpeg", ".flv", ".3gp", ".ogv", ".wmv")


def is_video(path: str | Path) -> bool:
    """Whether ``path`` names a video (by its suffix; ``-`` is a stream, decided by the caller)."""
    return Path(path).suffix.lower() in VIDEO_SUFFIXES


def video_suffix(source: Path) -> str:
    """The output container of a video input: its own for MP4/MKV/MOV/M4V/WebM, else ``.mkv`` (H.264 fits it)."""
    suffix = source.suffix.lower()
    return suffix if suffix in (".mp4", ".mkv", ".mov", ".m4v", ".webm") else ".mkv"


def video_output_name(source: Path, scale: int) -> Path:
    """``clip.mp4`` -> ``clip_x2.mp4`` beside it (``.y4m``/``.avi`` inputs get ``.mkv``)."""
    return source.with_name(f"{source.stem}_x{scale}{video_suffix(source)}")


def load_upscaler(model: str | Path, backend: BackendName, options: BackendOptions,
                  scale: int = 2) -> tuple[FrameUpscaler, Path]:
    """The frame upscaler for ``model`` (a shipped name or an .onnx): its Y-plane form when it has one."""
    from edgeconv.runtime.backends.registry import create_backend
    from edgeconv.runtime.shipped_models import resolve_video_model

    path = resolve_video_model(model, str(backend), scale)
    loaded = create_backend(str(backend), path, options)
    if loaded.facts.input_channels == 1:
        return LumaPlaneUpscaler(loaded), path
    return RgbModelUpscaler(loaded), path


def run_video(job: VideoJob, model: str | Path, backend: BackendName, options: BackendOptions,
              progress: Progress | None = None, scale: int = 2) -> VideoResult:
    """Load the model, then upscale ``job.source`` to ``job.output`` (see ``upscale_video``)."""
    job.check()
    upscaler, path = load_upscaler(model, backend, options, scale)
    return upscale_video(job, upscaler, str(path), progress)
