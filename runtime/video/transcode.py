"""``edgeconv upscale clip.mp4``: decode -> SR -> encode, stages overlapped, resumable, written atomically.

A file output is encoded in segments (``segments.py``) and then remuxed with the source's audio and
subtitle packets (``remux.py``); only the complete file ever appears at the output's name. A pipe output
(``-``) streams Y4M, NUT or Matroska to standard output as frames are done (video only: Y4M has no audio).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import BinaryIO

from edgeconv.errors import EdgeConvError, Interrupted, UsageError
from edgeconv.runtime.video.encoding import SourceVideo, VideoEncoding, add_video_stream, open_encoder
from edgeconv.runtime.video.frames import FrameUpscaler, planar_format
from edgeconv.runtime.video.remux import remux
from edgeconv.runtime.video.segments import SEGMENT_FORMAT, SegmentPlan, SegmentWriter, work_dir_for
from edgeconv.runtime.video.source import PIPE, frames, import_av, label, open_input, video_stream
from edgeconv.runtime.video.stages import Pipeline, StageTimes

PIPE_FORMATS = {"y4m": "yuv4mpegpipe", "nut": "nut", "mkv": "matroska"}
Progress = Callable[[int, "int | None"], None]


@dataclass(frozen=True)
class VideoJob:
    """One video to upscale.

    Args:
        source: a video file, ``-`` (standard input: Y4M, NUT, Matroska ...) or anything FFmpeg opens (v4l2, rtsp).
        output: the output file, or ``-`` for standard output in ``pipe_format``.
        encoding: codec, CRF, preset and pixel format of the output.
        pipe_format: ``y4m`` (raw frames), ``nut`` or ``mkv`` for a ``-`` output.
        resume: continue from the finished segments of an interrupted run of the same job.
        frames_per_segment: frames per resumable segment (file outputs).
        depth: frames that may wait between two stages.
    """

    source: str
    output: str
    encoding: VideoEncoding = field(default_factory=VideoEncoding)
    pipe_format: str = "y4m"
    resume: bool = False
    frames_per_segment: int = 250
    depth: int = 4

    @property
    def streamed(self) -> bool:
        """The source is a pipe, a URL or a device (not a file to re-read): one pass, video only."""
        return self.source == PIPE or not Path(self.source).is_file()

    def check(self) -> None:
        """Refuse what cannot run, before anything is opened."""
        self.encoding.check()
        if self.pipe_format not in PIPE_FORMATS:
            raise UsageError("--pipe-format", f"unknown format {self.pipe_format!r}",
                             f"expected one of {', '.join(PIPE_FORMATS)}")
        if self.resume and (self.streamed or self.output == PIPE):
            raise UsageError("--resume", "needs a file input and a file output", "pipes and streams cannot be resumed")
        if self.frames_per_segment < 1:
            raise UsageError("--segment-frames", f"must be >= 1, got {self.frames_per_segment}")


@dataclass
class VideoResult:
    """What one video run did."""

    output: str
    frames: int
    resumed_at: int
    times: StageTimes
    pix_fmt: str = ""  # the encoded pixel format (chroma layout and bit depth), e.g. yuv420p


def _upscaled(upscaler: FrameUpscaler, encoding: VideoEncoding) -> Callable:
    def work(item: tuple[int, object]) -> tuple[int, object]:
        index, frame = item
        out = upscaler(frame)
        fmt = encoding.output_format(planar_format(frame.format.name))
        if out.format.name != fmt:
            tags = out.pts, out.duration, out.color_range, out.colorspace, out.color_primaries, out.color_trc
            time_base, out = out.time_base, out.reformat(format=fmt)
            out.pts, out.duration, out.color_range, out.colorspace, out.color_primaries, out.color_trc = tags
            if time_base is not None:
                out.time_base = time_base
        return index, out
    return work


def _numbered(source_frames: Iterator, start: int, seen: dict) -> Iterator[tuple[int, object]]:
    for index, frame in enumerate(source_frames):
        if index == 0:
            seen["rotation"] = int(getattr(frame, "rotation", 0) or 0)
        if index >= start:
            yield index, frame


def _signature(job: VideoJob, model: str) -> dict[str, object]:
    src = Path(job.source).resolve()
    stat = src.stat()
    return {"segment_format": SEGMENT_FORMAT, "source": str(src), "size": stat.st_size,
            "mtime_ns": stat.st_mtime_ns, "model": model,
            "encoding": {k: str(v) for k, v in asdict(job.encoding).items()}, "frames": job.frames_per_segment}


def _encode_segments(job: VideoJob, upscaler: FrameUpscaler, model: str, progress: Progress | None):  # noqa: ANN202
    container = open_input(job.source)
    stream = video_stream(container, job.source)
    seen: dict = {"rotation": 0, "template": SourceVideo.of(stream)}
    plan = SegmentPlan(work_dir_for(Path(job.output)), job.frames_per_segment, _signature(job, model))
    start = plan.prepare(job.resume)
    total = stream.frames or None

    def encoder(like):  # noqa: ANN001, ANN202
        seen["like"] = like
        return open_encoder(job.encoding, like, seen["template"], like.format.name)

    writer = SegmentWriter(plan, encoder)
    pipeline = Pipeline(_numbered(frames(container, stream, job.source), start, seen),
                        _upscaled(upscaler, job.encoding), job.depth)
    try:
        for index, frame in pipeline:
            writer.write(index, frame)
            if progress:
                progress(index + 1, total)
        writer.finish()
    except KeyboardInterrupt as exc:
        writer.abandon()  # finished segments stay for --resume
        kept = plan.finished() * job.frames_per_segment
        raise Interrupted(label(job.output), f"interrupted; {kept} finished frames kept in {plan.folder}",
                          "run the same command with --resume to continue from there") from exc
    except BaseException:
        writer.abandon()
        if plan.finished() == 0:
            plan.remove()
        raise
    finally:
        container.close()
    return plan, start, pipeline.times, seen


def _open_stream_output(job: VideoJob, stdout: BinaryIO | None):  # noqa: ANN202
    """The streaming output: standard output in ``pipe_format``, or a temporary file beside ``job.output``."""
    av = import_av()
    if job.output == PIPE:
        return av.open(stdout or sys.stdout.buffer, "w", format=PIPE_FORMATS[job.pipe_format]), None
    final = Path(job.output)
    temp = final.with_name(f".{final.stem}.partial{final.suffix}")
    return av.open(str(temp), "w"), temp


def _stream_through(job: VideoJob, upscaler: FrameUpscaler, stdin: BinaryIO | None, stdout: BinaryIO | None,
                    progress: Progress | None) -> StageTimes:
    """One pass, frames encoded as they come (a pipe in or out: nothing to re-read, nothing to resume)."""
    container = open_input(job.source, stdin)
    stream = video_stream(container, job.source)
    out, temp = _open_stream_output(job, stdout)
    raw = job.output == PIPE and job.pipe_format == "y4m"
    pipeline = Pipeline(_numbered(frames(container, stream, job.source), 0, {}),
                        _upscaled(upscaler, job.encoding), job.depth)
    video = None
    try:
        for index, frame in pipeline:
            if video is None:
                source = SourceVideo.of(stream)
                video = out.add_stream("wrapped_avframe", rate=source.rate) if raw else \
                    add_video_stream(out, job.encoding, frame, source, frame.format.name)
                video.width, video.height, video.pix_fmt = frame.width, frame.height, frame.format.name
            for packet in video.encode(frame):
                out.mux(packet)
            if progress:
                progress(index + 1, stream.frames or None)
        for packet in video.encode(None) if video is not None else []:
            out.mux(packet)
        out.close()
        if temp is not None:
            os.replace(temp, job.output)
    finally:
        out.close()
        container.close()
        if temp is not None:
            temp.unlink(missing_ok=True)
    return pipeline.times


def upscale_video(job: VideoJob, upscaler: FrameUpscaler, model: str = "",
                  progress: Progress | None = None, stdin: BinaryIO | None = None,
                  stdout: BinaryIO | None = None) -> VideoResult:
    """Upscale one video (see ``VideoJob``); the output appears complete or not at all.

    Raises:
        UsageError: unreadable input, no video stream, bad settings, a work folder of another run.
        EdgeConvError: a decode error mid-stream (frame and time named), a write that fails (disk full).
    """
    job.check()
    try:
        if job.output == PIPE or job.streamed:
            times = _stream_through(job, upscaler, stdin, stdout, progress)
            return VideoResult(job.output, times.frames, 0, times)
        plan, start, times, seen = _encode_segments(job, upscaler, model, progress)
        remux(plan.all_segments(), job.source, Path(job.output), lambda out: add_video_stream(
            out, job.encoding, seen["like"], seen["template"], seen["like"].format.name, seen["rotation"]),
            seen["template"].time_base)
        plan.remove()
        return VideoResult(job.output, start + times.frames, start, times, seen["like"].format.name)
    except OSError as exc:
        raise EdgeConvError(label(job.output), f"writing failed: {exc.strerror or exc}",
                            "nothing was written at the final name (a full disk?)") from exc
