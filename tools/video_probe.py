"""What a video tool must keep, printed for each file: compare a clip with its upscaled output by eye or diff.

Container format, duration and metadata; per stream its codec, time base and frame count (video: size, pixel
format, colour range / space / primaries / transfer, average rate); the sha256 of each audio or subtitle
stream's packets (equal hashes: copied bit for bit); the decoded frame count, first and last timestamps, and
rotation. Usage: ``python tools/video_probe.py IN.mp4 OUT.mp4``.
"""

from __future__ import annotations

import hashlib
import sys

import av


def describe(path: str) -> list[str]:
    """The lines printed for one file."""
    lines = []
    with av.open(path) as c:
        duration = c.duration / 1e6 if c.duration else None
        lines.append(f"{path} {c.format.name} duration {duration} {dict(c.metadata)}")
        for s in c.streams:
            cc = s.codec_context
            video = ""
            if s.type == "video":
                video = (f" {cc.width}x{cc.height} {cc.pix_fmt} range={cc.color_range} space={cc.colorspace} "
                         f"prim={cc.color_primaries} trc={cc.color_trc} avg_rate={s.average_rate}")
            lines.append(f"  {s.index} {s.type} {cc.name if cc else None} {s.time_base} frames {s.frames}{video} "
                         f"{dict(s.metadata)}")
        hashes: dict[int, tuple[int, hashlib._Hash]] = {}
        for packet in c.demux():
            if packet.size and packet.stream.type != "video":
                count, digest = hashes.get(packet.stream.index, (0, hashlib.sha256()))
                digest.update(bytes(packet))
                hashes[packet.stream.index] = (count + 1, digest)
        lines += [f"  stream {i} packets {n} sha256 {d.hexdigest()[:16]}" for i, (n, d) in hashes.items()]
    with av.open(path) as c:
        frames = list(c.decode(video=0))
        lines.append(f"  decoded frames {len(frames)} pts {[f.pts for f in frames[:3]]} ... {frames[-1].pts} "
                     f"rotation {frames[0].rotation} {frames[0].format.name}")
    return lines


if __name__ == "__main__":
    for name in sys.argv[1:]:
        print("\n".join(describe(name)))
