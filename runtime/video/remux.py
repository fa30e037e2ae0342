"""The final file: the encoded video segments and the source's other streams, interleaved by time, copied.

Audio and subtitle packets are copied as they are (no re-encode) when the output container can hold their
codec; the container's metadata, the video stream's rotation and language go along. The file is written
under a temporary name in the output's folder and renamed when complete, so the final name never holds a
half-written file.
"""

from __future__ import annotations

import heapq
import os
from collections.abc import Callable, Iterator
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING

from edgeconv.runtime.video.source import import_av

if TYPE_CHECKING:
    import av


def _timed(packets: Iterator[av.Packet], streams: dict[int, object], order: int
           ) -> Iterator[tuple[float, int, object, object]]:
    """(time in seconds, source order, packet, output stream) for each real packet (flush packets dropped)."""
    for packet in packets:
        if packet.dts is None or packet.size == 0:
            continue
        yield float(packet.dts * packet.time_base), order, packet, streams[packet.stream.index]


def copyable_streams(source: av.container.InputContainer, output: av.container.OutputContainer) -> list:
    """The source's audio and subtitle streams the output container can hold, as (input, output) pairs."""
    pairs = []
    for stream in source.streams:
        if stream.type not in ("audio", "subtitle") or stream.codec_context is None:
            continue
        if stream.codec_context.name not in output.supported_codecs:
            continue
        out = output.add_stream_from_template(stream)
        out.metadata.update(dict(stream.metadata))
        pairs.append((stream, out))
    return pairs


def _segment_packets(segments: list[Path], stream: av.video.stream.VideoStream, time_base: Fraction
                     ) -> Iterator[tuple[float, int, object, object]]:
    import av

    from edgeconv.runtime.video.segments import read_packets

    for path in segments:
        for pts, dts, duration, key, data in read_packets(path):
            packet = av.Packet(data)
            packet.pts, packet.dts, packet.time_base, packet.is_keyframe = pts, dts, time_base, key
            packet.duration = duration
            yield float((dts if dts is not None else pts) * time_base), 0, packet, stream


def remux(segments: list[Path], source: str, output: Path, add_video: Callable, time_base: Fraction) -> None:
    """Write ``output``: the segments' video packets plus ``source``'s audio/subtitle packets, atomically.

    ``add_video(container)`` adds the video stream whose encoder made the segments (its header carries the
    same parameter sets); ``time_base`` is the segment packets' (the source video stream's).
    """
    av = import_av()
    temp = output.with_name(f".{output.stem}.partial{output.suffix}")
    src = av.open(source)
    try:
        with av.open(str(temp), "w") as out:
            out.metadata.update({k: v for k, v in src.metadata.items() if k != "encoder"})
            video = add_video(out)
            pairs = copyable_streams(src, out)
            copied = _timed(src.demux(*[i for i, _ in pairs]), {i.index: o for i, o in pairs}, 1) if pairs else iter(())
            for _, _, packet, stream in heapq.merge(_segment_packets(segments, video, time_base), copied,
                                                     key=lambda t: (t[0], t[1])):
                packet.stream = stream
                out.mux(packet)
        os.replace(temp, output)
    finally:
        src.close()
        temp.unlink(missing_ok=True)
