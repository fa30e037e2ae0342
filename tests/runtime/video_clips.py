"""Small real clips for the video tests, encoded with PyAV: moving gradients, AAC audio, any pixel format."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import numpy as np

av = __import__("pytest").importorskip("av", reason="PyAV (edgeconv[video]) is not installed")


def _picture(width: int, height: int, t: int) -> np.ndarray:
    y, x = np.mgrid[0:height, 0:width]
    rgb = np.stack([(x * 7 + t * 5) % 256, (y * 5 + t * 3) % 256, ((x + y) * 3 + t * 11) % 256], axis=-1)
    return rgb.astype(np.uint8)


def make_clip(path: Path, width: int = 64, height: int = 48, frames: int = 12, pix_fmt: str = "yuv420p",
              codec: str = "libx264", rate: int = 25, audio: bool = True, rotation: int = 0,
              vfr: bool = False, audio_tracks: int = 1) -> Path:
    """Write a clip of moving colour gradients (and ``audio_tracks`` AAC tones); ``vfr`` spaces frames unevenly."""
    with av.open(str(path), "w") as out:
        video = out.add_stream(codec, rate=rate)
        video.width, video.height, video.pix_fmt = width, height, pix_fmt
        video.time_base = Fraction(1, 1000 * rate)
        video.codec_context.time_base = video.time_base
        if rotation:
            video.set_display_rotation(rotation)
        sounds = []
        for _ in range(audio_tracks if audio else 0):
            sounds.append(out.add_stream("aac", rate=48000))
            sounds[-1].layout = "mono"
        pts = 0
        for t in range(frames):
            frame = av.VideoFrame.from_ndarray(_picture(width, height, t), format="rgb24").reformat(format=pix_fmt)
            frame.pts, frame.time_base = pts, video.time_base
            pts += 1000 * (1 + (t % 3 == 0)) if vfr else 1000
            for packet in video.encode(frame):
                out.mux(packet)
        for packet in video.encode(None):
            out.mux(packet)
        for track, sound in enumerate(sounds):
            samples = int(48000 * pts / (1000 * rate))
            tone = (0.2 * np.sin(2 * np.pi * 440 * (track + 1) * np.arange(samples) / 48000)).astype(np.float32)
            for start in range(0, samples, 1024):
                chunk = tone[start:start + 1024][None]
                frame = av.AudioFrame.from_ndarray(chunk, format="flt", layout="mono")
                frame.sample_rate, frame.pts = 48000, start
                for packet in sound.encode(frame):
                    out.mux(packet)
            for packet in sound.encode(None):
                out.mux(packet)
    return path


def stream_summary(path: Path) -> dict:
    """Frame count, pts, size, pixel format, rotation of the video; sha of every non-video stream's packets."""
    import hashlib

    with av.open(str(path)) as c:
        hashes: dict[int, hashlib._Hash] = {}
        for packet in c.demux():
            if packet.size and packet.stream.type != "video":
                hashes.setdefault(packet.stream.index, hashlib.sha256()).update(bytes(packet))
        others = {c.streams[i].type + str(i): h.hexdigest() for i, h in hashes.items()}
    with av.open(str(path)) as c:
        stream = c.streams.video[0]
        frames = list(c.decode(stream))
        cc = stream.codec_context
        return {"frames": len(frames), "pts": [f.pts * f.time_base for f in frames],
                "size": (frames[0].width, frames[0].height), "pix_fmt": frames[0].format.name,
                "rotation": frames[0].rotation, "tags": (cc.color_range, cc.colorspace, cc.color_primaries,
                                                         cc.color_trc), "others": others}
