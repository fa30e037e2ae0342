"""Opening a video for SR: one clear line for every way a file can fail to be one, and its frames in order.

Failures are named with the file and, mid-stream, the frame index and timestamp: not a media file, audio
only, a video codec nothing here decodes, no frames, a stream that breaks off (decode error or fewer frames
than the container promised).
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from typing import TYPE_CHECKING, BinaryIO

from edgeconv.errors import EdgeConvError, MissingExtraError, UsageError, first_line

if TYPE_CHECKING:
    import av

PIPE = "-"


def import_av():  # noqa: ANN201 - the module, typed by its caller
    """PyAV, or one line naming the extra that installs it."""
    try:
        import av
    except ImportError as exc:
        raise MissingExtraError("av (PyAV)", "video", "video input and output") from exc
    return av


def label(source: str) -> str:
    """How a source is named in messages (``standard input`` for ``-``)."""
    return "standard input" if source == PIPE else source


def open_input(source: str, stdin: BinaryIO | None = None) -> av.container.InputContainer:
    """Open ``source`` (a path, a device/URL FFmpeg can open, or ``-`` for standard input)."""
    av = import_av()
    target = (stdin or sys.stdin.buffer) if source == PIPE else source
    try:
        return av.open(target, "r")
    except (av.error.FFmpegError, OSError, ValueError) as exc:
        raise UsageError(label(source), f"is not a readable video: {first_line(exc)}") from exc


def video_stream(container: av.container.InputContainer, source: str) -> av.video.stream.VideoStream:
    """The first video stream, multi-threaded decoding on; refused when there is none or it cannot be decoded."""
    if not container.streams.video:
        kinds = sorted({s.type for s in container.streams}) or ["no"]
        raise UsageError(label(source), f"has no video stream ({', '.join(kinds)} streams only)",
                         "give a file with a video track")
    stream = container.streams.video[0]
    if stream.codec_context is None:
        raise UsageError(label(source), f"video stream #{stream.index} is in a codec this FFmpeg build cannot decode",
                         "re-encode it (e.g. to H.264) first")
    stream.thread_type = "AUTO"
    return stream


def frames(container: av.container.InputContainer, stream: av.video.stream.VideoStream,
           source: str) -> Iterator[av.VideoFrame]:
    """Every frame of ``stream`` in presentation order; a decode error or a short stream raises, naming where."""
    av = import_av()
    count, last_time = 0, 0.0
    try:
        for frame in container.decode(stream):
            count += 1
            last_time = float(frame.time or 0.0)
            yield frame
    except av.error.FFmpegError as exc:
        raise EdgeConvError(label(source), f"decode failed after frame {count} (t = {last_time:.2f} s): "
                            f"{first_line(exc)}", "the file is truncated or corrupt; nothing was written") from exc
    if count == 0:
        raise EdgeConvError(label(source), "has no video frames", "nothing was written")
    promised = stream.frames
    if promised and count < promised:
        raise EdgeConvError(label(source), f"ends after frame {count} (t = {last_time:.2f} s) of {promised}",
                            "the file is truncated; nothing was written")
