"""A long video's encode in segments, so an interrupted run resumes from the last finished one.

The upscaled frames are encoded into a work folder beside the output, ``N`` frames a segment, each by a
fresh encoder (so each starts on a key frame and the same frames always give the same bytes). A segment
is a plain packet file (each packet's pts, dts, key flag and bytes, in the stream's time base: nothing is
shifted or rounded, as a container's muxer would) and becomes ``seg_00000.pkts`` only when complete.
``state.json`` names the source and the settings, so ``--resume`` refuses a folder of another run.
"""

from __future__ import annotations

import json
import os
import shutil
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from edgeconv.errors import UsageError

if TYPE_CHECKING:
    import av

SEGMENT_SUFFIX = ".pkts"
SEGMENT_FORMAT = 2  # bumped when the record changes: --resume then refuses an older work folder
_RECORD = struct.Struct("<qqqBI")  # pts, dts, duration, key frame, size
_NONE = -(1 << 63)


def work_dir_for(output: Path) -> Path:
    """The work folder of ``output``: ``.NAME.edgeconv-work`` beside it (same file system: renames are atomic)."""
    return output.with_name(f".{output.name}.edgeconv-work")


@dataclass(frozen=True)
class SegmentPlan:
    """Where the segments of one run go and what run they belong to."""

    folder: Path
    frames_per_segment: int
    signature: dict[str, object]

    def path(self, index: int) -> Path:
        """The finished segment ``index``."""
        return self.folder / f"seg_{index:05d}{SEGMENT_SUFFIX}"

    def finished(self) -> int:
        """How many segments from the first are complete (a resumed run starts after them)."""
        count = 0
        while self.path(count).is_file():
            count += 1
        return count

    def all_segments(self) -> list[Path]:
        """Every finished segment, in order."""
        return [self.path(i) for i in range(self.finished())]

    def prepare(self, resume: bool) -> int:
        """Create the folder (or check it belongs to this run when resuming); return the first frame to encode."""
        state = self.folder / "state.json"
        if resume and state.is_file():
            if json.loads(state.read_text()) != self.signature:
                raise UsageError(str(self.folder), "belongs to another run (other source or settings)",
                                 "run without --resume to start over")
            return self.finished() * self.frames_per_segment
        if self.folder.exists():
            shutil.rmtree(self.folder)
        self.folder.mkdir(parents=True)
        state.write_text(json.dumps(self.signature, sort_keys=True))
        return 0

    def remove(self) -> None:
        """Delete the work folder (after the final file is in place)."""
        shutil.rmtree(self.folder, ignore_errors=True)


def write_packet(file: BinaryIO, packet: av.Packet, duration: int = 0) -> None:
    """Append one encoded packet (and its frame's duration: encoders leave it 0) to a segment file."""
    data = bytes(packet)
    pts = _NONE if packet.pts is None else packet.pts
    dts = _NONE if packet.dts is None else packet.dts
    file.write(_RECORD.pack(pts, dts, duration, int(packet.is_keyframe), len(data)))
    file.write(data)


def read_packets(path: Path) -> Iterator[tuple[int | None, int | None, int, bool, bytes]]:
    """(pts, dts, duration, key frame, bytes) of every packet in a segment file, in order."""
    with open(path, "rb") as file:
        while header := file.read(_RECORD.size):
            pts, dts, duration, key, size = _RECORD.unpack(header)
            yield (None if pts == _NONE else pts, None if dts == _NONE else dts, duration, bool(key),
                   file.read(size))


class SegmentWriter:
    """Encodes frames into segment files; a segment is renamed to its final name only once complete.

    ``open_encoder(frame)`` returns a fresh encoder stream for frames like ``frame`` (a stream of a null
    output container: only its encoder is used).
    """

    def __init__(self, plan: SegmentPlan, open_encoder) -> None:  # noqa: ANN001 - (frame) -> stream
        self.plan, self.open_encoder = plan, open_encoder
        self.index: int | None = None
        self.file: BinaryIO | None = None
        self.encoder = None
        self.part: Path | None = None
        self.durations: dict[int | None, int] = {}  # pts -> the source frame's duration, for its packet

    def write(self, frame_index: int, frame: av.VideoFrame) -> None:
        """Encode frame ``frame_index`` into its segment (opening and closing segments as it goes)."""
        index = frame_index // self.plan.frames_per_segment
        if index != self.index:
            self.finish()
            self.index, self.part = index, self.plan.path(index).with_suffix(".part")
            self.file = open(self.part, "wb")  # noqa: SIM115 - closed in finish() / abandon()
            self.encoder = self.open_encoder(frame)
        self.durations[frame.pts] = frame.duration or 0
        for packet in self.encoder.encode(frame):
            write_packet(self.file, packet, self.durations.pop(packet.pts, 0))

    def finish(self) -> None:
        """Flush the encoder into the open segment, close it and give it its final name."""
        if self.file is None:
            return
        for packet in self.encoder.encode(None):
            write_packet(self.file, packet, self.durations.pop(packet.pts, 0))
        self.durations.clear()
        self.file.close()
        os.replace(self.part, self.plan.path(self.index))
        self.file = None

    def abandon(self) -> None:
        """Drop the unfinished segment (interrupted or failed run); finished ones stay for ``--resume``."""
        if self.file is not None:
            self.file.close()
            self.file = None
        if self.part is not None:
            self.part.unlink(missing_ok=True)
